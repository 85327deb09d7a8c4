"""Robust aggregation of flat client updates: norm clipping (bound α) then coordinate-wise trimmed mean (β).

The defender's action space of the Meta Stackelberg defence (Li, Pan, Zhu et al., arXiv 2410.17431):
every update is scaled down to norm at most ``alpha ×`` the median of the round's update norms (for even K,
the mean of the two middle ones), then each coordinate drops its ``floor(beta × K)`` largest and smallest
values and averages the rest. ``alpha=None`` skips clipping and ``beta=0`` trims nothing, so ``(None, 0)``
is plain (unweighted) FedAvg.

Shapes: ``updates`` ``(K, P)`` float32 (K clients, P parameters) → aggregate ``(P,)``.

>>> u = torch.tensor([[1.0, 0.0], [1.0, 0.0], [100.0, 0.0]])
>>> robust_aggregate(u, alpha=None, beta=1 / 3).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np
import torch


def clip_norms(updates: torch.Tensor, bound: float) -> torch.Tensor:
    """Scale each row of ``updates`` ``(K, P)`` down to L2 norm at most ``bound`` (rows already inside keep)."""
    if bound <= 0:
        raise ValueError(f"norm bound must be positive, got {bound:g}")
    norms = updates.norm(dim=1, keepdim=True)
    return updates * torch.clamp(bound / norms.clamp_min(1e-12), max=1.0)


def trimmed_mean(updates: torch.Tensor, beta: float) -> torch.Tensor:
    """Coordinate-wise mean of ``updates`` ``(K, P)`` after dropping ``floor(beta K)`` values from each end."""
    if not 0.0 <= beta < 0.5:
        raise ValueError(f"trimmed-mean ratio must be in [0, 0.5), got {beta:g}")
    k = updates.shape[0]
    trim = math.floor(beta * k + 1e-9)
    if trim == 0:
        return updates.mean(dim=0)
    ordered = np.sort(updates.detach().numpy(), axis=0)  # numpy: ~3x faster than torch for (10, 25k) columns
    return torch.from_numpy(ordered[trim : k - trim].mean(axis=0))


def robust_aggregate(updates: torch.Tensor, *, alpha: float | None, beta: float) -> torch.Tensor:
    """Clip to ``alpha ×`` the median update norm (``None``: no clipping), then trimmed mean with ratio ``beta``."""
    if alpha is not None:
        updates = clip_norms(updates, float(alpha) * float(updates.norm(dim=1).quantile(0.5)) + 1e-12)
    return trimmed_mean(updates, beta)


def round_statistics(updates: torch.Tensor) -> torch.Tensor:
    """Scale-free statistics of one round's updates ``(K, P)``: log norm quantiles (10%, 90%, max) over the
    median, and quantiles (min, 10%, 50%, 90%) of each update's cosine to the mean update. Shape ``(7,)``."""
    norms = updates.norm(dim=1).clamp_min(1e-12)
    rel = torch.log(norms / norms.quantile(0.5))
    mean = updates.mean(dim=0)
    cos = (updates @ mean) / (norms * mean.norm().clamp_min(1e-12))
    q = torch.tensor([0.1, 0.9])
    return torch.cat(
        [torch.quantile(rel, q), rel.max()[None], cos.min()[None], torch.quantile(cos, torch.tensor([0.1, 0.5, 0.9]))]
    )
