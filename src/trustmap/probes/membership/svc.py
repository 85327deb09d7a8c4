"""SVC-MIA: the membership test used to evaluate machine unlearning (MIA-Efficacy).

Paper: Model Sparsity Can Simplify Machine Unlearning (Jia et al., arXiv 2304.04934), after the
metric-based attacks of Song & Mittal (arXiv 2003.10595); SalUn and SFR-on (arXiv 2409.19732) report it.
A support-vector classifier (RBF kernel, C = 3, gamma "auto", as in the authors' code) learns to tell a
shadow member set (remaining training data, label 1) from a shadow non-member set (test data, label 0)
from each example's output features; applied to the forget set, **MIA-Efficacy** is the fraction of forget
examples it calls non-members. A model that never saw the forget set (retraining) sets the reference value;
an unlearning method should land near it.

Features per example, from softmax probabilities ``p`` ``(N, K)`` and labels ``y`` ``(N,)``: the true-class
confidence ``p_y``, the entropy ``-Σ p log p`` and the modified entropy of Song & Mittal
``-(1 - p_y) log p_y - Σ_{k≠y} p_k log(1 - p_k)``. One SVC per feature; ``efficacy`` reports each and their
mean (``features="all"`` stacks the three into one SVC instead).

>>> svc_mia_efficacy(probs_remain, y_remain, probs_test, y_test, probs_forget, y_forget).efficacy   # in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-12


def mia_features(probs: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """``confidence``, ``entropy`` and ``m_entropy`` of softmax ``probs`` ``(N, K)`` at labels ``y`` ``(N,)``."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0)
    y = np.asarray(y, dtype=np.int64)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"probs must be (N, K) with one label per row, got {p.shape} and {y.shape}")
    rows = np.arange(len(y))
    py = p[rows, y]
    log_rest = np.log(np.clip(1.0 - p, _EPS, 1.0))
    rest = -(p * log_rest).sum(1) + p[rows, y] * log_rest[rows, y]  # Σ_{k≠y} -p_k log(1 - p_k)
    return {
        "confidence": py,
        "entropy": -(p * np.log(p)).sum(1),
        "m_entropy": -(1.0 - py) * np.log(py) + rest,
    }


@dataclass(frozen=True)
class SvcMia:
    """MIA-Efficacy (fraction of the target set predicted non-member), mean and per feature."""

    efficacy: float
    per_feature: dict[str, float]


def svc_mia_efficacy(
    shadow_in: np.ndarray,
    y_in: np.ndarray,
    shadow_out: np.ndarray,
    y_out: np.ndarray,
    target: np.ndarray,
    y_target: np.ndarray,
) -> SvcMia:
    """Fit one SVC per feature on shadow members (``shadow_in`` probabilities) vs non-members
    (``shadow_out``), and score the ``target`` set: the fraction it predicts as non-members."""
    from sklearn.svm import SVC

    n = min(len(shadow_in), len(shadow_out))
    if n < 2 or len(target) == 0:
        raise ValueError("SVC-MIA needs at least two shadow members, two shadow non-members and one target")
    f_in, f_out, f_t = mia_features(shadow_in, y_in), mia_features(shadow_out, y_out), mia_features(target, y_target)
    per: dict[str, float] = {}
    labels = np.r_[np.ones(len(shadow_in)), np.zeros(len(shadow_out))]
    for name in f_in:
        x = np.r_[f_in[name], f_out[name]][:, None]
        clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, labels)
        per[name] = float(1.0 - clf.predict(f_t[name][:, None]).mean())
    return SvcMia(float(np.mean(list(per.values()))), per)


__all__ = ["SvcMia", "mia_features", "svc_mia_efficacy"]
