"""Sample-quality metrics for the small DDPMs. None of them is the Inception FID of the papers.

- :func:`classifier_accuracy`: a trained Fashion-MNIST classifier's accuracy on class-conditional samples
  (the requested class is the label).
- :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to two feature sets. Here the
  features are the **penultimate layer (128-d) of a trustmap CNN-S classifier trained on Fashion-MNIST**
  (:func:`features`), not Inception-v3 pool features: the numbers are "FID-like" and are not comparable
  with any published FID.
- :func:`precision_recall`: k-nearest-neighbour manifold precision and recall (Kynkäänniemi et al.,
  arXiv 1904.06991): precision = share of generated samples inside the real manifold (the union of balls
  around real points with radius the distance to their k-th nearest real neighbour); recall = the same with
  roles swapped.
- :func:`mmd_rbf`: squared maximum mean discrepancy with a Gaussian kernel of median-heuristic bandwidth
  (biased V-statistic, so a set against itself gives exactly 0).

Inputs are ``(N, D)`` float arrays (features or flattened pixels) unless stated.

>>> feats = features(classifier, pixels)  # (N, 128)
>>> frechet_distance(feats, feats) < 1e-6
True
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from torch import nn

from trustmap.errors import DataError


def _two_d(a: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=np.float64))
    if t.ndim != 2 or len(t) < 2 or not torch.isfinite(t).all():
        raise DataError(f"{name} must be a finite (N, D) array with N >= 2, got shape {tuple(t.shape)}")
    return t


@torch.no_grad()
def logits(classifier: nn.Module, pixels: np.ndarray | torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's logits on ``(N, 1, S, S)`` pixels in [0, 1]."""
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float32))
    classifier.eval()
    return torch.cat([classifier(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def features(classifier: nn.Sequential, pixels: np.ndarray | torch.Tensor, *, batch_size: int = 1000) -> np.ndarray:
    """Penultimate-layer features (every layer but the last) of a sequential classifier: ``(N, D)``."""
    if not isinstance(classifier, nn.Sequential) or len(classifier) < 2:
        raise DataError("features need a sequential classifier (such as trustmap's cnn-s)")
    return logits(classifier[:-1], pixels, batch_size=batch_size).double().numpy()


def classifier_accuracy(classifier: nn.Module, pixels: np.ndarray | torch.Tensor, labels: np.ndarray) -> float:
    """Share of ``pixels`` that ``classifier`` assigns to ``labels``."""
    pred = logits(classifier, pixels).argmax(1).numpy()
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(pred):
        raise DataError(f"{len(pred)} images but {len(labels)} labels")
    return float((pred == labels).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)`` of Gaussians fitted to feature sets ``a`` and ``b``."""
    ta, tb = _two_d(a, "a").numpy(), _two_d(b, "b").numpy()
    if ta.shape[1] != tb.shape[1]:
        raise DataError(f"feature sizes differ: {ta.shape[1]} vs {tb.shape[1]}")
    mu_a, mu_b = ta.mean(0), tb.mean(0)
    cov_a, cov_b = np.cov(ta, rowvar=False), np.cov(tb, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():  # singular product: regularise as the reference FID code does
        eye = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + eye) @ (cov_b + eye))
    covmean = np.real(covmean)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))
    return max(value, 0.0)


def _radii(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 0th neighbour is the point itself


def precision_recall(real: np.ndarray, fake: np.ndarray, *, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al.'s improved precision and recall of ``fake`` against ``real`` (k-NN balls)."""
    r, f = _two_d(real, "real"), _two_d(fake, "fake")
    if min(len(r), len(f)) <= k:
        raise DataError(f"precision/recall with k={k} needs more than {k} points in each set")
    r_rad, f_rad = _radii(r, k), _radii(f, k)
    d = torch.cdist(f, r)  # (fake, real)
    precision = (d <= r_rad.unsqueeze(0)).any(dim=1).double().mean()
    recall = (d.T <= f_rad.unsqueeze(0)).any(dim=1).double().mean()
    return float(precision), float(recall)


def mmd_rbf(a: np.ndarray, b: np.ndarray, *, bandwidth: float | None = None) -> float:
    """Squared MMD with ``k(x, y) = exp(−|x − y|² / (2 h²))``; ``h`` = median pairwise distance of the pool."""
    ta, tb = _two_d(a, "a"), _two_d(b, "b")
    pool = torch.cat([ta, tb])
    d2 = torch.cdist(pool, pool).pow(2)
    if bandwidth is None:
        off = d2[~torch.eye(len(pool), dtype=torch.bool)]
        bandwidth = float(off.median().sqrt()) or 1.0
    k = torch.exp(-d2 / (2 * bandwidth**2))
    n = len(ta)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())
