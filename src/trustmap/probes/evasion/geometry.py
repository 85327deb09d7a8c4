"""Threat-model geometry shared by the gradient attacks: L∞ and L2 balls, steps, projections, clipping.

Every helper works on a batch ``(N, ...)`` (images ``(N, C, H, W)`` or tables ``(N, F)``) and treats
each example separately. ``eps`` and ``alpha`` are a float or a per-example tensor ``(N,)`` (a defence
such as BAT gives each class its own budget). Random draws take an explicit ``torch.Generator``;
nothing here touches the global random state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union

import torch
import torch.nn.functional as F

Norm = Literal["linf", "l2"]
NORMS: tuple[str, ...] = ("linf", "l2")
Scalar = Union[float, torch.Tensor]  # a float or a per-example tensor (N,)
Clip = Union[tuple[float, float], None]
Model = Callable[[torch.Tensor], torch.Tensor]  # inputs (N, ...) -> logits (N, K); an nn.Module or a ModelHandle
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits (N, K), y (N,)) -> per-example loss (N,)
TINY = 1e-12


def check_norm(norm: str) -> Norm:
    if norm not in NORMS:
        raise ValueError(f"norm must be 'linf' or 'l2', not {norm!r}")
    return norm  # type: ignore[return-value]


def check_attack_inputs(x: torch.Tensor, y: torch.Tensor, *, norm: str, steps: int, min_steps: int) -> Norm:
    """The checks every iterative attack makes: a known norm, one label per example, enough steps."""
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)} labels")
    if steps < min_steps:
        raise ValueError(f"steps must be at least {min_steps}, got {steps}")
    return check_norm(norm)


def check_budget(eps: Scalar, n: int, name: str = "eps") -> Scalar:
    """Validate a float or ``(N,)`` tensor budget; floats stay floats (the fast path)."""
    if isinstance(eps, torch.Tensor):
        if eps.ndim == 0:
            eps = float(eps)
        elif eps.shape != (n,):
            raise ValueError(f"{name} must be a float or a tensor of shape ({n},), got {tuple(eps.shape)}")
        elif bool((eps < 0).any()):
            raise ValueError(f"{name} must be non-negative")
        else:
            return eps.detach()
    if not float(eps) >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be non-negative, got {eps}")
    return float(eps)


def per_row(v: Scalar, like: torch.Tensor) -> Scalar:
    """A float unchanged, or an ``(N,)`` tensor shaped ``(N, 1, ..., 1)`` to broadcast against ``like``."""
    if isinstance(v, torch.Tensor):
        return v.to(like.dtype).view(-1, *([1] * (like.ndim - 1)))
    return v


def take(v: Scalar, idx: torch.Tensor | None) -> Scalar:
    """Rows ``idx`` of a per-example budget (a float is shared by all rows)."""
    return v[idx] if isinstance(v, torch.Tensor) and idx is not None else v


def row_norm(t: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Per-example norm ``(N,)`` of a batch ``(N, ...)``."""
    flat = t.reshape(len(t), -1)
    return flat.abs().amax(1) if norm == "linf" else flat.norm(p=2, dim=1)


def unit_step(grad: torch.Tensor, norm: Norm) -> torch.Tensor:
    """The steepest-ascent direction of unit norm: ``sign(g)`` for L∞, ``g / ||g||_2`` for L2."""
    if norm == "linf":
        return grad.sign()
    return grad / (row_norm(grad, "l2") + TINY).view(-1, *([1] * (grad.ndim - 1)))


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: Scalar, norm: Norm) -> torch.Tensor:
    """Euclidean projection of ``x_adv`` onto the ``eps``-ball around ``x``."""
    delta = x_adv - x
    e = per_row(eps, x)
    if norm == "linf":
        if isinstance(e, torch.Tensor):
            delta = torch.maximum(torch.minimum(delta, e), -e)
        else:
            delta = delta.clamp(-e, e)
    else:
        n = row_norm(delta, "l2").view(-1, *([1] * (x.ndim - 1)))
        delta = delta * torch.clamp(e / (n + TINY), max=1.0)
    return x + delta


def linf_box(x: torch.Tensor, eps: Scalar, bounds: Clip) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coordinate bounds of the L∞ ball intersected with the valid range: ``clamp(v, *box)`` projects
    and clips in one pass (equal to ``clip(project(v))``; where the two ranges miss, both give ``hi``)."""
    e = per_row(eps, x)
    lower, upper = x - e, x + e
    if bounds is not None:
        lower, upper = lower.clamp(min=bounds[0]), upper.clamp(max=bounds[1])
    return lower, upper


def clip(x: torch.Tensor, bounds: Clip) -> torch.Tensor:
    """Clamp to the valid input range ``(lo, hi)``; ``None`` leaves ``x`` unbounded (standardised tables)."""
    return x if bounds is None else x.clamp(bounds[0], bounds[1])


def _draw(kind: str, like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    shape, device = like.shape, generator.device
    t = (
        torch.rand(shape, generator=generator, device=device)
        if kind == "uniform"
        else torch.randn(shape, generator=generator, device=device)
    )
    return t.to(device=like.device, dtype=like.dtype)


def random_in_ball(x: torch.Tensor, eps: Scalar, norm: Norm, generator: torch.Generator) -> torch.Tensor:
    """A perturbation drawn uniformly from the ``eps``-ball: ``U(-eps, eps)`` per coordinate for L∞; for L2 a
    Gaussian direction with radius ``eps * u**(1/d)`` (uniform in volume)."""
    e = per_row(eps, x)
    if norm == "linf":
        return (2 * _draw("uniform", x, generator) - 1) * e
    direction = _draw("normal", x, generator)
    direction = direction / (row_norm(direction, "l2") + TINY).view(-1, *([1] * (x.ndim - 1)))
    d = x[0].numel()
    u = torch.rand(len(x), generator=generator, device=generator.device).to(x.device, x.dtype)
    radius = u.pow(1.0 / d).view(-1, *([1] * (x.ndim - 1)))
    return direction * radius * e


def random_on_sphere(x: torch.Tensor, eps: Scalar, norm: Norm, generator: torch.Generator) -> torch.Tensor:
    """A perturbation of norm exactly ``eps`` (APGD's starting point): a uniform draw rescaled to the sphere."""
    t = 2 * _draw("uniform", x, generator) - 1 if norm == "linf" else _draw("normal", x, generator)
    return t / (row_norm(t, norm) + TINY).view(-1, *([1] * (x.ndim - 1))) * per_row(eps, x)


def check_logits(logits: torch.Tensor) -> torch.Tensor:
    """Fail with a clear message when the model gives no gradients (a black-box handle)."""
    if not logits.requires_grad:
        raise ValueError("the model returned logits without gradients; gradient attacks need a white-box model")
    return logits


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The default attack objective: per-example cross-entropy ``(N,)``."""
    return F.cross_entropy(logits, y, reduction="none")


def default_generator(generator: torch.Generator | None) -> torch.Generator:
    """``generator`` or a fresh one seeded 0, so an unseeded call is still deterministic."""
    if generator is not None:
        return generator
    g = torch.Generator()
    g.manual_seed(0)
    return g
