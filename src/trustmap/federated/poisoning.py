"""Model-poisoning attacks on flat client updates, as simulated by the Meta Stackelberg defence's trainer.

Attacks (arXiv 2410.17431 trains against IPM, LMP, a backdoor and RL attackers; these are light versions):

- :func:`ipm`: inner-product manipulation (Xie et al., arXiv 1903.03936): ``-scale ×`` the benign mean, so
  the update points against the benign direction.
- :func:`lmp_lite`: local model poisoning in the spirit of Fang et al. (arXiv 1911.11815): each coordinate
  sits at the benign extreme opposite to the benign mean's sign, pushed up to ``(scale − 1)`` ranges beyond.
- :func:`add_trigger` / :func:`backdoor_update`: the pixel backdoor, a 3×3 white patch (bottom right) →
  class 0; the poisoned client's update is boosted ×5, then rescaled to the largest benign norm so it
  never stands out by norm.
- :func:`adaptive_random_direction`: a test-only attack: a fresh random direction each round, whose scale
  (a multiple of the median benign norm) is chosen to maximise a loss under the defence it observes.

Shapes: ``benign`` ``(B, P)`` (B benign updates); each attack returns one malicious update ``(P,)`` that
every malicious client sends. Images for the trigger: ``(N, 784)`` or ``(N, 1, 28, 28)`` in [0, 1].

>>> benign = torch.randn(8, 100) + 1.0
>>> float(ipm(benign) @ benign.mean(0)) < 0
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

TARGET_CLASS = 0
PATCH = 3  # side of the white square, bottom right of a 28×28 image


def ipm(benign: torch.Tensor, *, scale: float = 2.0) -> torch.Tensor:
    """Inner-product manipulation: ``-scale × mean(benign)``."""
    return -scale * benign.mean(dim=0)


def lmp_lite(benign: torch.Tensor, *, generator: torch.Generator, scale: float = 2.0) -> torch.Tensor:
    """Per coordinate: the benign extreme against the mean's sign, pushed ``U(0, scale − 1)`` ranges beyond."""
    lo, hi = benign.min(dim=0).values, benign.max(dim=0).values
    sign = torch.sign(benign.mean(dim=0))
    extreme = torch.where(sign > 0, lo, hi)
    push = torch.rand(benign.shape[1], generator=generator) * (scale - 1.0) * (hi - lo)
    return extreme - sign * push


def add_trigger(x: torch.Tensor) -> torch.Tensor:
    """A copy of ``x`` with the 3×3 bottom-right patch set to white (1.0)."""
    shape = x.shape
    img = x.reshape(-1, 28, 28).clone()
    img[:, 28 - PATCH - 1 : 28 - 1, 28 - PATCH - 1 : 28 - 1] = 1.0
    return img.reshape(shape)


def poison_split(x: torch.Tensor, y: torch.Tensor, fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The backdoor client's training data: its first ``fraction`` of samples triggered and relabelled 0."""
    n = round(fraction * len(y))
    x, y = x.clone(), y.clone()
    x[:n] = add_trigger(x[:n])
    y[:n] = TARGET_CLASS
    return x, y


def backdoor_update(poisoned: torch.Tensor, benign: torch.Tensor, *, boost: float = 5.0) -> torch.Tensor:
    """The poisoned client's own update ``(P,)`` boosted ``× boost``, then rescaled to the largest benign norm."""
    boosted = boost * poisoned
    target = benign.norm(dim=1).max()
    return boosted * (target / boosted.norm().clamp_min(1e-12))


def adaptive_random_direction(
    benign: torch.Tensor,
    *,
    loss: Callable[[torch.Tensor], float],
    generator: torch.Generator,
    scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
) -> tuple[torch.Tensor, float]:
    """A random unit direction times ``s ×`` the median benign norm, ``s`` in ``scales`` maximising
    ``loss(malicious_update)`` (the attacker's loss after the defence it observed aggregates the round).
    Returns the update and the chosen scale."""
    direction = torch.randn(benign.shape[1], generator=generator)
    direction = direction / direction.norm()
    base = float(benign.norm(dim=1).quantile(0.5))
    best, best_loss, best_scale = direction * base * scales[0], -float("inf"), float(scales[0])
    for s in scales:
        candidate = direction * base * s
        value = loss(candidate)
        if value > best_loss:
            best, best_loss, best_scale = candidate, value, float(s)
    return best, best_scale
