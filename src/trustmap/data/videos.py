"""Synthetic videos with known key segments, for ``trustmap repro video-summ``.

**Synthetic data.** No videos ship offline, so :func:`synthetic_videos` generates frame-feature
sequences, seeded and deterministic *(ours: every law and parameter)*. A video of ``frames`` frames is
cut into shots of 4-16 frames. Each shot has a latent confounder ``u ~ N(0, 1)`` (how eventful it is),
motion ``m = 0.7 u + 0.7 e`` (confounded with ``u``), and a content vector ``c ~ N(0, I_8)``; its true
importance is ``sigmoid(2 u + 0.5 c_0 c_1)`` (an event, modulated by what is on screen). Frame features
``(dim,)`` are a fixed random projection (the same for every video of a seed) of
``[c, u, m, m^2 - 1]`` plus frame noise N(0, 0.5^2) and a slow per-video drift. Five annotators score
each shot as ``clip(importance + bias_k + N(0, 0.25^2), 0, 1)`` with a per-annotator bias
``N(0, 0.1^2)``; the training target is their mean, as in TVSum. The known key segments are the shots
that a 0/1 knapsack over the *true* importance picks within ``budget`` (15%) of the frames. Each video
also has a ``text`` vector (16-d) drawn independently of everything else: a distractor.

Shapes: ``x`` ``(V, T, dim)`` float32; ``shot`` ``(V, T)`` shot index; ``score`` ``(V, T)`` mean
annotator score; ``annotations`` ``(V, annotators, T)``; ``key`` ``(V, T)`` bool; ``text`` ``(V, 16)``.

>>> v = synthetic_videos(200, seed=0)
>>> v.x.shape, v.key.mean()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError


@dataclass(frozen=True)
class Videos:
    x: np.ndarray
    shot: np.ndarray
    score: np.ndarray
    annotations: np.ndarray
    importance: np.ndarray
    key: np.ndarray
    text: np.ndarray


def knapsack(values: np.ndarray, weights: np.ndarray, capacity: int) -> np.ndarray:
    """0/1 knapsack: the bool mask of items with the largest total value within ``capacity``."""
    n = len(values)
    best = np.zeros((n + 1, capacity + 1))
    for i in range(1, n + 1):
        w, v = int(weights[i - 1]), float(values[i - 1])
        best[i] = best[i - 1]
        if w <= capacity:
            best[i, w:] = np.maximum(best[i - 1, w:], best[i - 1, : capacity + 1 - w] + v)
    take, c = np.zeros(n, bool), capacity
    for i in range(n, 0, -1):
        if best[i, c] != best[i - 1, c]:
            take[i - 1], c = True, c - int(weights[i - 1])
    return take


def summary_mask(frame_scores: np.ndarray, shot: np.ndarray, *, budget: float = 0.15) -> np.ndarray:
    """Frames of the shots a knapsack picks by mean frame score within ``budget`` of the video ``(T,)``."""
    ids = np.unique(shot)
    lengths = np.array([np.sum(shot == s) for s in ids])
    values = np.array([frame_scores[shot == s].mean() for s in ids]) * lengths
    take = knapsack(values, lengths, int(budget * len(shot)))
    return np.isin(shot, ids[take])


def synthetic_videos(
    n: int, *, frames: int = 120, dim: int = 64, annotators: int = 5, budget: float = 0.15, seed: int = 0
) -> Videos:
    """``n`` synthetic videos (see the module docstring)."""
    if n < 1 or frames < 16 or dim < 4 or annotators < 1:
        raise DataError(f"need n >= 1, frames >= 16, dim >= 4, annotators >= 1; got {n}, {frames}, {dim}, {annotators}")
    rng = np.random.default_rng(seed)
    proj = rng.normal(0, 1 / np.sqrt(11), (11, dim))
    x = np.zeros((n, frames, dim), np.float32)
    shot = np.zeros((n, frames), np.int64)
    imp = np.zeros((n, frames))
    ann = np.zeros((n, annotators, frames))
    key = np.zeros((n, frames), bool)
    for v in range(n):
        bounds, t = [], 0
        while t < frames:
            bounds.append(t)
            t += int(rng.integers(4, 17))
        s = np.zeros(frames, np.int64)
        for i, b in enumerate(bounds):
            s[b:] = i
        k = len(bounds)
        u = rng.normal(size=k)
        m = 0.7 * u + 0.7 * rng.normal(size=k)
        c = rng.normal(size=(k, 8))
        importance = 1 / (1 + np.exp(-(2 * u + 0.5 * c[:, 0] * c[:, 1])))
        z = np.column_stack([c, u, m, m**2 - 1])[s]
        drift = np.cumsum(rng.normal(0, 0.05, (frames, dim)), axis=0)
        x[v] = z @ proj + rng.normal(0, 0.5, (frames, dim)) + drift
        bias = rng.normal(0, 0.1, annotators)
        noisy = importance[None] + bias[:, None] + rng.normal(0, 0.25, (annotators, k))
        ann[v] = np.clip(noisy, 0, 1)[:, s]
        shot[v], imp[v] = s, importance[s]
        key[v] = summary_mask(imp[v], s, budget=budget)
    text = rng.normal(size=(n, 16)).astype(np.float32)
    return Videos(x, shot, ann.mean(1).astype(np.float32), ann.astype(np.float32), imp, key, text)


def f_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """Frame-level F-score of a summary mask against the key-segment mask (0 if either is empty)."""
    hit = float(np.sum(pred & truth))
    if hit == 0:
        return 0.0
    p, r = hit / np.sum(pred), hit / np.sum(truth)
    return 2 * p * r / (p + r)
