"""OLSS: Optimal Linear Subspace Search (Duan et al., "Optimal Linear Subspace Search: Learning to Construct
Fast and High-Quality Schedulers for Diffusion Models", CIKM 2023, arXiv 2305.14677).

A K-step scheduler whose every step is linear: after the network predicts ``ε_i`` at the i-th kept
timestep, the next latent is ``x_{i+1} = wx[i] · x_T + Σ_{j≤i} we[i, j] · ε_j`` (the span of the initial
latent and all previous noise predictions). The coefficients are fitted by ordinary least squares to a
teacher's trajectory (DDIM with many steps, :func:`trustmap.diffusion.sample.teacher_path`): the teacher's
``ε`` at the kept steps are the regressors, the teacher's latent at the next kept step (its endpoint after
the last) is the target, one scalar coefficient per regressor shared by all pixels and examples. The kept
steps come from the path search of the released code: bisection on a maximum per-step error, and for each
threshold a greedy walk taking the longest jump whose fit error stays under it. ``search=False`` keeps
uniformly spaced steps (the paper's OLSS-P ablation). The network is never retrained.

Shapes: ``TeacherPath.x`` ``(S + 1, N, C, H, W)``, ``TeacherPath.eps`` ``(S, N, C, H, W)``; a fitted
:class:`OLSSSchedule` has ``timesteps`` ``(K,)``, ``wx`` ``(K,)``, ``we`` ``(K, K)`` (lower triangular).
*(ours)*: the search regresses on ``x_T`` (as inference does; the released code's search uses the current
kept latent in its place), and it scores candidates from Gram matrices instead of repeated ``lstsq`` (the
same least-squares error, faster); the final coefficients come from ``torch.linalg.lstsq`` in float64.

>>> path = teacher_path(model, initial_noise(256, model.config.shape, seed=1), steps=100)
>>> sched = fit_olss(path, 5)
>>> x0 = olss_sample(model, sched, initial_noise(1000, model.config.shape, seed=2))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trustmap.diffusion.model import DDPM
from trustmap.diffusion.sample import TeacherPath
from trustmap.errors import TrustmapError


@dataclass
class OLSSSchedule:
    """A fitted OLSS scheduler: ``path`` are the kept teacher-step indices, ``fit_mse`` each step's fit error."""

    timesteps: torch.Tensor
    path: list[int]
    wx: torch.Tensor
    we: torch.Tensor
    fit_mse: list[float]

    @property
    def steps(self) -> int:
        return len(self.path)


def fit_step(xt: torch.Tensor, eps: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Least squares ``target ≈ c0 · xt + Σ_j c_{j+1} · eps[j]``: returns ``c`` ``(1 + len(eps),)`` float64 and
    the mean squared residual. ``xt`` and ``target`` have one shape, ``eps`` one more leading axis."""
    feats = torch.cat([xt.reshape(1, -1), eps.reshape(len(eps), -1)]).to(torch.float64).T
    y = target.reshape(-1, 1).to(torch.float64)
    coef = torch.linalg.lstsq(feats, y).solution[:, 0]
    return coef, float(((feats @ coef - y[:, 0]) ** 2).mean())


def _gram_error(gram: torch.Tensor, feats: list[int], target: int, m: int) -> float:
    """Least-squares residual MSE of vector ``target`` on vectors ``feats``, from their Gram matrix."""
    a = gram[feats][:, feats]
    b = gram[feats, target]
    coef = torch.linalg.lstsq(a, b.unsqueeze(1)).solution[:, 0]
    return max(float(gram[target, target] - b @ coef), 0.0) / m


def _greedy(gram: torch.Tensor, s: int, k: int, max_error: float, m: int) -> list[int] | None:
    """Indices of kept steps reaching the endpoint (index ``s``) in at most ``k`` jumps, or None."""
    path = [0]
    for _ in range(k):
        feats = [0] + [s + 1 + i for i in path]  # x_T, then ε at every kept step
        lo, hi = path[-1] + 1, s
        while hi > lo:
            mid = (lo + hi + 1) // 2
            if _gram_error(gram, feats, mid, m) > max_error:
                hi = mid - 1
            else:
                lo = mid
        if lo == s:
            return path
        path.append(lo)
    return None


def search_path(path: TeacherPath, k: int, *, max_iter: int = 30, max_error: float = 10.0) -> list[int]:
    """OLSS path selection: bisection on the largest allowed per-step error in ``[0, max_error]``."""
    s = len(path.eps)
    vectors = torch.cat([path.x.reshape(s + 1, -1), path.eps.reshape(s, -1)]).to(torch.float64)
    gram = vectors @ vectors.T
    m = vectors.shape[1]
    low, high = 0.0, max_error
    for _ in range(max_iter):
        mid = (low + high) / 2
        if _greedy(gram, s, k, mid, m) is None:
            low = mid
        else:
            high = mid
    found = _greedy(gram, s, k, high, m)
    return found if found is not None else uniform_path(s, k)


def uniform_path(s: int, k: int) -> list[int]:
    """``k`` evenly spaced teacher steps starting at the first (OLSS-P)."""
    return [int(i) for i in torch.arange(0, s, s // k)[:k]]


def fit_olss(path: TeacherPath, k: int, *, search: bool = True) -> OLSSSchedule:
    """Fit a ``k``-step OLSS scheduler to a teacher trajectory (``search=False``: OLSS-P, uniform steps)."""
    s = len(path.eps)
    if not 1 <= k <= s:
        raise TrustmapError(f"OLSS steps must be in 1..{s} (the teacher's steps), got {k}")
    kept = search_path(path, k) if search else uniform_path(s, k)
    targets = [*kept[1:], s]
    n = len(kept)
    wx = torch.zeros(n, dtype=torch.float64)
    we = torch.zeros(n, n, dtype=torch.float64)
    errors = []
    for i in range(n):
        coef, err = fit_step(path.x[0], path.eps[kept[: i + 1]], path.x[targets[i]])
        wx[i], we[i, : i + 1] = coef[0], coef[1:]
        errors.append(err)
    return OLSSSchedule(path.timesteps[kept].clone(), kept, wx, we, errors)


@torch.no_grad()
def olss_sample(
    model: DDPM,
    schedule: OLSSSchedule,
    noise: torch.Tensor,
    *,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
) -> torch.Tensor:
    """Run the fitted scheduler from ``noise`` (``schedule.steps`` network evaluations); clamp to [-1, 1]."""
    labels = model.check_labels(labels, len(noise))
    out = []
    for i in range(0, len(noise), batch_size):
        x_t = noise[i : i + batch_size]
        lab = None if labels is None else labels[i : i + batch_size]
        x, eps = x_t, []
        for step, t in enumerate(schedule.timesteps):
            eps.append(model.eps(x, int(t), lab))
            x = float(schedule.wx[step]) * x_t
            for j, e in enumerate(eps):
                x = x + float(schedule.we[step, j]) * e
        out.append(x)
    return torch.cat(out).clamp(-1.0, 1.0)
