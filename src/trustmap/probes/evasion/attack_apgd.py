"""APGD-CE: step-size-free PGD with momentum and checkpoints (Croce and Hein, "Reliable evaluation of
adversarial robustness with an ensemble of diverse parameter-free attacks", ICML 2020, arXiv 2003.01690).

The first attack of AutoAttack. From a random point on the ``eps``-sphere, each iteration takes a
projected step of size ``eta`` (initially ``2 * eps``) along ``sign(grad)`` (L∞) or ``grad / ||grad||_2``
(L2), then mixes it with the previous move by momentum ``0.75``:
``z = P(x_k + eta * step(grad));  x_{k+1} = P(x_k + 0.75 (z - x_k) + 0.25 (x_k - x_{k-1}))``
(the first step uses no momentum). At checkpoints ``w_j`` (spacing ``0.22 N``, shrinking by ``0.03 N``
down to ``0.06 N`` for ``N`` steps) an example halves its step and restarts from its best point when

1. the loss increased in at most ``rho = 75%`` of the steps since the last checkpoint, or
2. its step was not halved at the last checkpoint and its best loss has not improved since.

Every example keeps its own step size. ``early_stop=True`` freezes an example at the first iterate the
model misclassifies and stops forwarding it (as AutoAttack does between restarts); since all state is per
example, the others follow exactly the same iterates as without early stopping.

Arguments:
    model: ``(N, ...) -> logits (N, K)``, an ``nn.Module`` in eval mode or a white-box ``ModelHandle``.
    x: inputs ``(N, C, H, W)`` or ``(N, F)``; y: labels ``(N,)`` int64.
    eps: the budget, a float or a per-example tensor ``(N,)``. steps: iterations ``N`` (default 100).
    norm: ``"linf"`` (default) or ``"l2"``. rho: the oscillation threshold (default 0.75).
    momentum: the weight of the new step (default 0.75).
    clip: the valid input range (default ``(0, 1)``); ``None`` for standardised tables.
    generator: the ``torch.Generator`` for the starting point (default: a fresh one seeded 0).
    early_stop: stop updating examples once misclassified (default True).
    loss_fn: the objective, ``(logits, y) -> (N,)`` (default: cross-entropy, i.e. APGD-CE).

Returns ``(N, ...)``: the first adversarial point found for each fooled example, and the point of highest
loss for the others; detached, same dtype as ``x``.

>>> x_adv = apgd_ce(model, x, y, eps=0.1, steps=100, generator=torch.Generator().manual_seed(0))
"""

from __future__ import annotations

import torch

from trustmap.probes.evasion.geometry import (
    Clip,
    LossFn,
    Model,
    Scalar,
    check_attack_inputs,
    check_budget,
    check_logits,
    cross_entropy,
    default_generator,
    per_row,
    project,
    random_on_sphere,
    unit_step,
)
from trustmap.probes.evasion.geometry import (
    clip as clip_to,
)


def checkpoint_lengths(steps: int) -> tuple[int, int, int]:
    """``(first, decrement, minimum)`` distances between checkpoints for ``steps`` iterations."""
    return max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)


def _loss_grad(model: Model, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> tuple[torch.Tensor, ...]:
    xa = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = check_logits(model(xa))
        loss = loss_fn(logits, y)
        (grad,) = torch.autograd.grad(loss.sum(), xa)
    return logits.detach(), loss.detach(), grad


def apgd_ce(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: Scalar,
    steps: int = 100,
    norm: str = "linf",
    rho: float = 0.75,
    momentum: float = 0.75,
    clip: Clip = (0.0, 1.0),
    generator: torch.Generator | None = None,
    early_stop: bool = True,
    loss_fn: LossFn | None = None,
) -> torch.Tensor:
    """Auto-PGD on the cross-entropy loss; see the module docstring."""
    p = check_attack_inputs(x, y, norm=norm, steps=steps, min_steps=1)
    n = len(x)
    eps = check_budget(eps, n)
    loss_fn = loss_fn or cross_entropy
    x, y = x.detach(), y.detach()
    out = x.clone()
    if n == 0:
        return out
    k, k_decr, k_min = checkpoint_lengths(steps)

    x_adv = clip_to(x + random_on_sphere(x, eps, p, default_generator(generator)), clip)
    logits, loss, grad = _loss_grad(model, x_adv, y, loss_fn)
    eta = eps.to(x.dtype) if isinstance(eps, torch.Tensor) else torch.full((n,), eps, dtype=x.dtype, device=x.device)
    s: dict[str, torch.Tensor] = {
        "idx": torch.arange(n, device=x.device),
        "x0": x,
        "y": y,
        "x_adv": x_adv,
        "x_prev": x_adv,
        "grad": grad,
        "x_best": x_adv.clone(),
        "grad_best": grad.clone(),
        "loss_best": loss.clone(),
        "step": 2.0 * eta,
        "best_last": loss.clone(),
        "reduced_last": torch.ones(n, dtype=torch.bool, device=x.device),
        "hist": torch.zeros(n, steps + 1, dtype=loss.dtype, device=x.device),
    }
    if isinstance(eps, torch.Tensor):
        s["eps"] = eps
    s["hist"][:, 0] = loss
    ever = torch.zeros(n, dtype=torch.bool, device=x.device)

    def record(state: dict[str, torch.Tensor], fooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Store the fooled examples' current points; with early stopping, drop them from the state."""
        if not bool(fooled.any()):
            return state
        ever[state["idx"][fooled]] = True
        out[state["idx"][fooled]] = state["x_adv"][fooled]
        return {key: v[~fooled] for key, v in state.items()} if early_stop else state

    s = record(s, logits.argmax(1) != y)
    since_check = 0
    for i in range(steps):
        if s["idx"].numel() == 0:
            break
        e = s.get("eps", eps)
        with torch.no_grad():
            a = 1.0 if i == 0 else momentum
            xk, x0 = s["x_adv"], s["x0"]
            z = clip_to(project(xk + per_row(s["step"], xk) * unit_step(s["grad"], p), x0, e, p), clip)
            x_new = clip_to(project(xk + a * (z - xk) + (1 - a) * (xk - s["x_prev"]), x0, e, p), clip)
        logits, loss, grad = _loss_grad(model, x_new, s["y"], loss_fn)
        s["x_prev"], s["x_adv"], s["grad"] = xk, x_new, grad
        s["hist"][:, i + 1] = loss
        better = loss > s["loss_best"]
        s["x_best"][better] = x_new[better]
        s["grad_best"][better] = grad[better]
        s["loss_best"] = torch.where(better, loss, s["loss_best"])
        s = record(s, logits.argmax(1) != s["y"])
        since_check += 1
        if since_check == k:  # checkpoint: halve the step where progress stalled, restart from the best point
            window = s["hist"][:, i + 1 - k : i + 2]
            ups = (window[:, 1:] > window[:, :-1]).sum(1)
            reduce = (ups <= rho * k) | (~s["reduced_last"] & (s["best_last"] >= s["loss_best"]))
            s["reduced_last"], s["best_last"] = reduce, s["loss_best"].clone()
            s["step"] = torch.where(reduce, s["step"] / 2, s["step"])
            r = reduce.view(-1, *([1] * (x.ndim - 1)))
            s["x_adv"] = torch.where(r, s["x_best"], s["x_adv"])
            s["grad"] = torch.where(r, s["grad_best"], s["grad"])
            since_check, k = 0, max(k - k_decr, k_min)
    # examples never fooled: return their point of highest loss
    left = ~ever[s["idx"]]
    out[s["idx"][left]] = s["x_best"][left]
    return out
