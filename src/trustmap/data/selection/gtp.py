"""GTP: data selection by gradient-trajectory pursuit (Wang et al., "Influential Language Data Selection via
Gradient Trajectory Pursuit", arXiv 2410.16710), with the LESS-like top-k, loss and random baselines.

Each pool example ``i`` is represented by its *gradient trajectory* ``g_i``: its per-example loss gradient
at several warm-up checkpoints of a small model, each compressed by a Gaussian random projection
(Johnson-Lindenstrauss, as LESS does) and concatenated (:func:`gradient_trajectories`). The target
``g_T`` is the summed trajectory of a target set (target-domain selection) or of the whole pool
(in-domain). GTP (:func:`gtp_select`) solves ``min_w ||sum_i w_i g_i - g_T||^2`` s.t. ``||w||_0 <= k``,
``w >= 0`` greedily, orthogonal-matching-pursuit style: pick the example whose (unit-normalised) trajectory
correlates most with the residual, refit ``w`` on the selected set by non-negative least squares,
update the residual, repeat. A duplicate of a selected example cannot lower the residual, so joint
selection skips duplicates; independent top-k ranking (:func:`topk_cosine`, LESS-like) does not.

Shapes: features ``(N, D)`` float32 (D = checkpoints x projection dim); targets ``(D,)``; selections are
int64 index arrays ``(k,)`` in selection order. Deterministic (ties go to the lower index).

>>> traj = gradient_trajectories(checkpoints, x_pool, y_pool, dim=256, seed=0)     # (N, 4 * 256)
>>> target = gradient_trajectories(checkpoints, x_tgt, y_tgt, dim=256, seed=0).sum(0)
>>> picked = gtp_select(traj, target, k=50)                                           # (50,) int64
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.errors import TrustmapError
from trustmap.utils.seed import torch_generator


def _check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise TrustmapError(f"the selection budget k must be a whole number from 1 to the pool size {n}, got {k!r}")
    return int(k)


def per_example_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Flattened per-example cross-entropy gradients ``(N, P)`` over every trainable parameter (torch.func)."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}

    def loss(p, xi, yi):
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    g = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    return torch.cat([g[k].flatten(1) for k in params], dim=1)


def gradient_trajectories(
    checkpoints: Sequence[nn.Module],
    x: np.ndarray,
    y: np.ndarray,
    *,
    dim: int = 256,
    seed: int = 0,
    chunk: int = 512,
) -> np.ndarray:
    """Per-example gradients at each checkpoint, projected to ``dim`` by a Gaussian matrix (entries
    N(0, 1/dim), one matrix per checkpoint drawn from ``seed``) and concatenated: ``(N, len(checkpoints) * dim)``.
    Use the same ``seed`` for pool and target so their projections agree."""
    if not checkpoints:
        raise TrustmapError("gradient trajectories need at least one checkpoint")
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    yt = torch.from_numpy(np.asarray(y, np.int64))
    gen = torch_generator(seed)
    parts = []
    for model in checkpoints:
        model = model.eval()
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        proj = torch.randn(n_params, dim, generator=gen) / dim**0.5
        rows = [
            per_example_gradients(model, xt[i : i + chunk], yt[i : i + chunk]) @ proj for i in range(0, len(yt), chunk)
        ]
        parts.append(torch.cat(rows) if rows else torch.zeros(0, dim))
    return torch.cat(parts, dim=1).numpy().astype(np.float32)


def warmup_checkpoints(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 3,
    checkpoints: int = 4,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> list[nn.Module]:
    """Train ``model`` (in place) with Adam for ``epochs`` on ``(x, y)`` and return ``checkpoints`` copies saved
    at evenly spaced steps, the last at the end (the warm-up of GTP and LESS)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    yt = torch.from_numpy(np.asarray(y, np.int64))
    gen = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = (len(yt) + batch_size - 1) // batch_size
    total = epochs * steps_per_epoch
    marks = {max(1, round(total * (j + 1) / checkpoints)) for j in range(checkpoints)}
    saved, step = [], 0
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(yt), generator=gen).split(batch_size):
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
            step += 1
            if step in marks:
                saved.append(copy.deepcopy(model).eval())
    model.eval()
    return saved


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls

    w, _ = nnls(a.astype(np.float64), b.astype(np.float64), maxiter=50 * a.shape[1] + 100)
    return w


def gtp_select(features: np.ndarray, target: np.ndarray, *, k: int, return_weights: bool = False):
    """Greedy gradient-trajectory pursuit: ``k`` pool indices (selection order) whose non-negative combination
    best matches ``target``; with ``return_weights``, also the final NNLS weights ``(k,)``. When no
    remaining example correlates positively with the residual, the rest of the budget is filled by
    correlation order (so exactly ``k`` indices come back)."""
    g = np.asarray(features, np.float64)
    t = np.asarray(target, np.float64)
    if g.ndim != 2 or t.shape != (g.shape[1],):
        raise TrustmapError(f"features must be (N, D) and target (D,), got {g.shape} and {t.shape}")
    k = _check_k(k, len(g))
    norms = np.linalg.norm(g, axis=1)
    unit = g / np.maximum(norms, 1e-12)[:, None]
    chosen: list[int] = []
    free = np.ones(len(g), bool)
    residual, w = t.copy(), np.zeros(0)
    for _ in range(k):
        corr = unit @ residual
        corr[~free] = -np.inf
        i = int(np.argmax(corr))  # first maximum: ties go to the lower index
        chosen.append(i)
        free[i] = False
        w = _nnls(g[chosen].T, t)
        residual = t - g[chosen].T @ w
    idx = np.asarray(chosen, np.int64)
    return (idx, w) if return_weights else idx


def topk_cosine(features: np.ndarray, target: np.ndarray, *, k: int) -> np.ndarray:
    """LESS-like selection: the ``k`` examples with the highest cosine between trajectory and target."""
    g = np.asarray(features, np.float64)
    k = _check_k(k, len(g))
    cos = g @ np.asarray(target, np.float64) / np.maximum(np.linalg.norm(g, axis=1) * np.linalg.norm(target), 1e-12)
    return np.argsort(-cos, kind="stable")[:k].astype(np.int64)


def top_loss(losses: np.ndarray, *, k: int) -> np.ndarray:
    """Loss-based selection: the ``k`` examples with the highest loss under the warmed-up model."""
    k = _check_k(k, len(losses))
    return np.argsort(-np.asarray(losses), kind="stable")[:k].astype(np.int64)


def random_select(n: int, *, k: int, seed: int) -> np.ndarray:
    """``k`` indices drawn uniformly without replacement (random state ``seed``)."""
    k = _check_k(k, n)
    return np.random.default_rng(seed).choice(n, size=k, replace=False).astype(np.int64)


__all__ = [
    "gradient_trajectories",
    "gtp_select",
    "per_example_gradients",
    "random_select",
    "top_loss",
    "topk_cosine",
    "warmup_checkpoints",
]
