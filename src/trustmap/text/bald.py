"""MC-dropout BALD scores and an uncertainty-aware sampler (HugNLP's ``tools/model_utils/uncertainty.py``
plug-in for self-training; Houlsby et al., "Bayesian Active Learning for Classification and Preference
Learning", arXiv 1112.5745; Mukherjee & Awadallah, "Uncertainty-aware Self-training", arXiv 2006.15315).

``T`` stochastic passes with dropout on give probabilities ``p_t (N, C)``; BALD is the mutual information
between the prediction and the dropout mask, ``H[mean_t p_t] - mean_t H[p_t]`` ``(N,)`` (0 = the passes
agree). :func:`bald_sample` picks ``k`` rows: ``easy`` the lowest BALD (confident pseudo-labels for
self-training), ``hard`` the highest (what to label next), each with a seeded tie-break.

>>> scores = bald_scores(net, x, passes=10, seed=0)          # (N,)
>>> idx = bald_sample(net, x, k=100, mode="easy", seed=0)    # (100,) row indices
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.utils.seed import seeded_global_rng

MODES = ("easy", "hard")


@torch.no_grad()
def mc_dropout_probs(
    net: nn.Module, x: np.ndarray, *, passes: int = 10, seed: int = 0, batch_size: int = 64
) -> np.ndarray:
    """``(passes, N, C)`` softmax outputs of ``net`` with dropout active (its mode is restored after)."""
    if passes < 2:
        raise ValueError(f"BALD needs at least 2 dropout passes, got {passes}")
    was = net.training
    net.train()
    t = torch.from_numpy(np.ascontiguousarray(x))
    try:
        with seeded_global_rng(seed):
            runs = [
                torch.cat([F.softmax(net(t[i : i + batch_size]), -1) for i in range(0, len(t), batch_size)])
                for _ in range(passes)
            ]
    finally:
        net.train(was)
    return torch.stack(runs).numpy()


def _entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-12, None))).sum(-1)


def bald_from_probs(probs: np.ndarray) -> np.ndarray:
    """BALD ``(N,)`` from ``(T, N, C)`` probabilities; never negative."""
    return np.maximum(_entropy(probs.mean(0)) - _entropy(probs).mean(0), 0.0)


def bald_scores(net: nn.Module, x: np.ndarray, *, passes: int = 10, seed: int = 0) -> np.ndarray:
    return bald_from_probs(mc_dropout_probs(net, x, passes=passes, seed=seed))


def bald_sample(
    net: nn.Module, x: np.ndarray, *, k: int, mode: str = "easy", passes: int = 10, seed: int = 0
) -> np.ndarray:
    """``k`` row indices by BALD: ``easy`` = most certain first, ``hard`` = most uncertain first."""
    if mode not in MODES:
        raise ValueError(f"mode must be easy or hard, got {mode!r}")
    if not 0 < k <= len(x):
        raise ValueError(f"k must be between 1 and {len(x)}, got {k}")
    scores = bald_scores(net, x, passes=passes, seed=seed)
    tie = np.random.default_rng(seed).random(len(scores))
    order = np.lexsort((tie, scores if mode == "easy" else -scores))
    return order[:k]


__all__ = ["MODES", "bald_from_probs", "bald_sample", "bald_scores", "mc_dropout_probs"]
