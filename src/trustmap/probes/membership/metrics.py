"""ROC metrics for membership inference, from member and non-member attack scores.

Convention: a **higher score means "more likely a member"**. Members are the positives. Ties are
handled exactly: the curve has one point per distinct score, so ``roc_auc`` equals scikit-learn's
``roc_auc_score`` (the Mann-Whitney statistic with ties counted as one half), and ``tpr_at_fpr`` never
splits a tie to reach a lower false-positive rate. Low-FPR TPR is the metric Carlini et al. argue for
("Membership Inference Attacks From First Principles", arXiv 2112.03570).

Shapes: ``member_scores (M,)``, ``nonmember_scores (N,)``; the curve arrays have length ``D + 1`` for
``D`` distinct scores (the first point is ``(0, 0)`` at threshold ``+inf``).

>>> roc_auc([3.0, 2.0], [1.0, 2.0])
0.875
>>> tpr_at_fpr([3.0, 2.0], [1.0, 2.0], fpr=0.0)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class RocCurve:
    """``fpr``, ``tpr`` (non-decreasing, from 0 to 1) and the score ``thresholds`` (``score >= t`` = member)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _scores(values: ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{what} is empty; a ROC curve needs at least one member and one non-member score")
    if np.isnan(a).any():
        raise ValueError(f"{what} contains NaN; attack scores must be numbers (inf is allowed)")
    return a


def roc_curve(member_scores: ArrayLike, nonmember_scores: ArrayLike) -> RocCurve:
    """The ROC curve with one point per distinct score, plus ``(0, 0)`` at threshold ``+inf``."""
    pos = _scores(member_scores, "member_scores")
    neg = _scores(nonmember_scores, "nonmember_scores")
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # the last index of each run of equal scores: a threshold takes a tie whole or not at all
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]
    tp = np.cumsum(labels)[last]
    fp = (last + 1) - tp
    return RocCurve(
        fpr=np.r_[0.0, fp / neg.size],
        tpr=np.r_[0.0, tp / pos.size],
        thresholds=np.r_[np.inf, scores[last]],
    )


def roc_auc(member_scores: ArrayLike, nonmember_scores: ArrayLike) -> float:
    """Area under the ROC curve: P(member score > non-member score) + P(tie) / 2."""
    c = roc_curve(member_scores, nonmember_scores)
    return float(np.sum(np.diff(c.fpr) * (c.tpr[1:] + c.tpr[:-1]) / 2))


def tpr_at_fpr(member_scores: ArrayLike, nonmember_scores: ArrayLike, *, fpr: float) -> float:
    """The highest true-positive rate of any threshold whose false-positive rate is at most ``fpr``."""
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    c = roc_curve(member_scores, nonmember_scores)
    return float(c.tpr[c.fpr <= fpr + 1e-12].max())


def advantage(member_scores: ArrayLike, nonmember_scores: ArrayLike) -> float:
    """Membership advantage (Yeom et al. 2018): ``max over thresholds of TPR - FPR``, in ``[0, 1]``."""
    c = roc_curve(member_scores, nonmember_scores)
    return float(np.max(c.tpr - c.fpr))


def membership_metrics(member_scores: ArrayLike, nonmember_scores: ArrayLike) -> dict[str, float]:
    """``auc``, ``tpr_at_1fpr``, ``tpr_at_0.1fpr`` and ``advantage`` in one pass over the curve."""
    c = roc_curve(member_scores, nonmember_scores)
    auc = float(np.sum(np.diff(c.fpr) * (c.tpr[1:] + c.tpr[:-1]) / 2))
    return {
        "auc": auc,
        "tpr_at_1fpr": float(c.tpr[c.fpr <= 0.01 + 1e-12].max()),
        "tpr_at_0.1fpr": float(c.tpr[c.fpr <= 0.001 + 1e-12].max()),
        "advantage": float(np.max(c.tpr - c.fpr)),
    }


def log_roc_points(curve: RocCurve, *, max_points: int = 200) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points of the curve for a log-log plot (FPR > 0, log-spaced).

    Each point is ``(f, best TPR at FPR <= f)``, so the downsampled curve never overstates the attack.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    positive = curve.fpr[curve.fpr > 0]
    if positive.size == 0:  # no false positive at any threshold: a perfect attack
        return [1.0], [float(curve.tpr.max())]
    grid = np.unique(np.r_[np.geomspace(positive.min(), 1.0, max_points - 1), positive.min(), 1.0])
    if grid.size > max_points:
        grid = grid[np.linspace(0, grid.size - 1, max_points).round().astype(int)]
    idx = np.searchsorted(curve.fpr, grid + 1e-12, side="right") - 1  # fpr is non-decreasing
    tpr = np.maximum.accumulate(curve.tpr)[idx]
    return [float(v) for v in grid], [float(v) for v in tpr]
