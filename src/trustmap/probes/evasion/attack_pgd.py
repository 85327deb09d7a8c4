"""PGD: projected gradient descent on the loss (Madry et al., "Towards Deep Learning Models Resistant to
Adversarial Attacks", ICLR 2018, arXiv 1706.06083).

Starting from a uniform random point of the ``eps``-ball around ``x`` (``random_start``), each of ``steps``
iterations moves by ``alpha`` along the steepest-ascent direction of the loss (``sign(grad)`` for L∞,
``grad / ||grad||_2`` for L2), projects back onto the ball and clips to the valid range.

``early_stop=True`` (the default, as in AutoAttack): an example the model already misclassifies at an
iterate is frozen there and is no longer forwarded, so the work shrinks to the still-correct subset. Up to
that point every example follows exactly the same iterates as without early stopping (the random start is
drawn for the whole batch first), so the attack can only be as strong or stronger: an example fooled at
any iterate stays fooled. Use ``early_stop=False`` to get Madry's last iterate for every example (e.g. to
train on it).

Arguments:
    model: ``(N, ...) -> logits (N, K)``, an ``nn.Module`` in eval mode or a white-box ``ModelHandle``.
    x: inputs ``(N, C, H, W)`` or ``(N, F)``; y: labels ``(N,)`` int64.
    eps: radius of the ball, a float or a per-example tensor ``(N,)``.
    alpha: step size; default ``2.5 * eps / steps`` (Madry et al.'s rule).
    steps: number of gradient steps (default 10). norm: ``"linf"`` (default) or ``"l2"``.
    random_start: start from a uniform point of the ball (default True).
    clip: the valid input range ``(lo, hi)`` (default ``(0, 1)``); ``None`` for standardised tables.
    generator: the ``torch.Generator`` for the random start (default: a fresh one seeded 0).
    early_stop: stop updating (and forwarding) examples once misclassified (default True).
    loss_fn: the objective to maximise, ``(logits, y) -> (N,)`` (default: cross-entropy).

Returns the adversarial inputs, same shape and dtype as ``x``, detached.

>>> g = torch.Generator().manual_seed(0)
>>> x_adv = pgd(model, x, y, eps=0.1, steps=20, generator=g)
>>> (x_adv - x).abs().amax() <= 0.1
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
    linf_box,
    per_row,
    project,
    random_in_ball,
    take,
    unit_step,
)
from trustmap.probes.evasion.geometry import (
    clip as clip_to,
)


def pgd(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: Scalar,
    alpha: Scalar | None = None,
    steps: int = 10,
    norm: str = "linf",
    random_start: bool = True,
    clip: Clip = (0.0, 1.0),
    generator: torch.Generator | None = None,
    early_stop: bool = True,
    loss_fn: LossFn | None = None,
) -> torch.Tensor:
    """Projected gradient descent (untargeted); see the module docstring."""
    p = check_attack_inputs(x, y, norm=norm, steps=steps, min_steps=0)
    n = len(x)
    eps = check_budget(eps, n)
    alpha = check_budget(2.5 * eps / max(steps, 1) if alpha is None else alpha, n, "alpha")
    loss_fn = loss_fn or cross_entropy
    x = x.detach()
    y = y.detach()
    if random_start:
        x_adv = clip_to(x + random_in_ball(x, eps, p, default_generator(generator)), clip)
    else:
        x_adv = x.clone()

    box = linf_box(x, eps, clip) if p == "linf" else None  # L∞: project and clip with one clamp
    active: torch.Tensor | None = None  # indices of the examples still attacked; None = all of them
    with torch.enable_grad():
        for _ in range(steps):
            xa = (x_adv if active is None else x_adv[active]).detach().requires_grad_(True)
            ya = y if active is None else y[active]
            logits = check_logits(model(xa))
            if early_stop:
                keep = logits.detach().argmax(1) == ya
                if not bool(keep.all()):
                    # the fooled ones stay at their current (adversarial) iterate in x_adv
                    active = (torch.arange(n, device=x.device) if active is None else active)[keep]
                    if active.numel() == 0:
                        break
                    logits, ya = logits[keep], ya[keep]
                else:
                    keep = None
            else:
                keep = None
            loss = loss_fn(logits, ya)
            if loss.shape != ya.shape:
                raise ValueError(f"loss_fn must return one loss per example {tuple(ya.shape)}, got {tuple(loss.shape)}")
            (grad,) = torch.autograd.grad(loss.sum(), xa)
            with torch.no_grad():
                if keep is not None:
                    grad, xa = grad[keep], xa[keep]
                moved = xa.detach() + per_row(take(alpha, active), xa) * unit_step(grad, p)
                if box is not None:
                    new = moved.clamp(*(box if active is None else (box[0][active], box[1][active])))
                else:
                    x0 = x if active is None else x[active]
                    new = clip_to(project(moved, x0, take(eps, active), p), clip)
                if active is None:
                    x_adv = new
                else:
                    x_adv[active] = new
    return x_adv.detach()
