"""FGSM: the fast gradient sign method (Goodfellow, Shlens and Szegedy, "Explaining and Harnessing
Adversarial Examples", ICLR 2015, arXiv 1412.6572).

One step of size ``eps`` along the sign of the input gradient of the loss, then a clip to the valid range:
``x_adv = clip(x + eps * sign(grad_x loss(model(x), y)))``. It is an L∞ attack; a single forward and
backward pass per batch.

Arguments:
    model: ``(N, ...) -> logits (N, K)``, an ``nn.Module`` in eval mode or a white-box ``ModelHandle``.
    x: inputs ``(N, C, H, W)`` or ``(N, F)``; y: labels ``(N,)`` int64.
    eps: the L∞ budget, a float or a per-example tensor ``(N,)``.
    clip: the valid input range (default ``(0, 1)``); ``None`` for standardised tables.
    loss_fn: the objective, ``(logits, y) -> (N,)`` (default: cross-entropy).

Returns the adversarial inputs, same shape and dtype as ``x``, detached.

>>> x_adv = fgsm(model, x, y, eps=0.1)
"""

from __future__ import annotations

import torch

from trustmap.probes.evasion.geometry import (
    Clip,
    LossFn,
    Model,
    Scalar,
    check_budget,
    check_logits,
    cross_entropy,
    per_row,
)
from trustmap.probes.evasion.geometry import clip as clip_to


def fgsm(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: Scalar,
    clip: Clip = (0.0, 1.0),
    loss_fn: LossFn | None = None,
) -> torch.Tensor:
    """One signed gradient step of size ``eps``; see the module docstring."""
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)} labels")
    eps = check_budget(eps, len(x))
    xa = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = (loss_fn or cross_entropy)(check_logits(model(xa)), y.detach())
        (grad,) = torch.autograd.grad(loss.sum(), xa)
    with torch.no_grad():
        return clip_to(x.detach() + per_row(eps, x) * grad.sign(), clip)
