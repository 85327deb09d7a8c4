"""Group-fairness metrics as plain functions, with Fairlearn's definitions and keyword-only options.

Demographic parity and equalized odds as in Hardt, Price & Srebro, *Equality of Opportunity in
Supervised Learning* (arXiv 1610.02413), computed the way Fairlearn's ``MetricFrame`` computes them
(``method="between_groups"``, ``agg="worst_case"``), so the numbers agree with Fairlearn to rounding:

- selection rate of a group: ``P[h(X) = pos_label | A = a]``
- demographic-parity difference: ``max_a - min_a`` of the selection rate; ratio: ``min_a / max_a``
- equalized-odds difference: ``max(TPR difference, FPR difference)`` across groups;
  ratio: ``min(TPR ratio, FPR ratio)``

Shapes: ``y_true``, ``y_pred`` and ``sensitive_features`` are 1-D and of equal length ``N``; groups are
the sorted unique values of ``sensitive_features``.

Empty input raises ``ValueError``. Two cases differ from Fairlearn on purpose: a rate that is undefined
for a group (a TPR in a group without positives) is ``nan`` and is left out of the differences (Fairlearn
reports 0), and a ratio whose largest value is 0 is 1.0 (every group equal; Fairlearn gives ``nan``).

>>> demographic_parity_difference([1, 0, 1, 1], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"])
0.0
>>> equalized_odds_difference([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"])
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "GroupMetrics",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "false_positive_rate",
    "group_metrics",
    "selection_rate",
    "true_positive_rate",
]


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name} is empty; give at least one prediction")
    return arr


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} values but y_pred has {len(p)}; they must match")
    return t, p


def selection_rate(y_pred: ArrayLike, *, pos_label: Any = 1) -> float:
    """Fraction of predictions equal to ``pos_label`` (the 'selected' outcome)."""
    return float(np.mean(_as_1d(y_pred, "y_pred") == pos_label))


def true_positive_rate(y_true: ArrayLike, y_pred: ArrayLike, *, pos_label: Any = 1) -> float:
    """``P[y_pred = pos | y_true = pos]``; ``nan`` when ``y_true`` has no positives."""
    t, p = _pair(y_true, y_pred)
    pos = t == pos_label
    return float(np.mean(p[pos] == pos_label)) if pos.any() else float("nan")


def false_positive_rate(y_true: ArrayLike, y_pred: ArrayLike, *, pos_label: Any = 1) -> float:
    """``P[y_pred = pos | y_true != pos]``; ``nan`` when ``y_true`` has no negatives."""
    t, p = _pair(y_true, y_pred)
    neg = t != pos_label
    return float(np.mean(p[neg] == pos_label)) if neg.any() else float("nan")


def _difference(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    return float(v.max() - v.min()) if len(v) else float("nan")


def _ratio(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    if not len(v):
        return float("nan")
    return 1.0 if v.max() == 0 else float(v.min() / v.max())


@dataclass(frozen=True)
class GroupMetrics:
    """Per-group counts and rates, one entry per group in ``groups`` (sorted group names).

    ``selection_rate``, ``tpr`` and ``fpr`` are meaningful for binary tasks (``pos_label`` the
    positive class); ``accuracy`` for any task.
    """

    groups: tuple[str, ...]
    count: np.ndarray
    accuracy: np.ndarray
    selection_rate: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray
    pos_label: Any = 1

    def difference(self, metric: str) -> float:
        """Largest minus smallest group value of ``metric`` (undefined groups left out)."""
        return _difference(getattr(self, metric))

    def ratio(self, metric: str) -> float:
        """Smallest over largest group value of ``metric`` (1.0 when the largest is 0)."""
        return _ratio(getattr(self, metric))

    def equalized_odds_difference(self) -> float:
        """The larger of the TPR and FPR differences."""
        return float(np.nanmax([self.difference("tpr"), self.difference("fpr")]))

    def equalized_odds_ratio(self) -> float:
        """The smaller of the TPR and FPR ratios."""
        return float(np.nanmin([self.ratio("tpr"), self.ratio("fpr")]))

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per group (``None`` for an undefined rate)."""

        def num(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return [
            {"group": g, "n": int(n), "accuracy": num(a), "selection_rate": num(s), "tpr": num(t), "fpr": num(f)}
            for g, n, a, s, t, f in zip(self.groups, self.count, self.accuracy, self.selection_rate, self.tpr, self.fpr)
        ]


def group_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, *, sensitive_features: ArrayLike, pos_label: Any = 1
) -> GroupMetrics:
    """Accuracy, selection rate, TPR and FPR of each group of ``sensitive_features``."""
    t, p = _pair(y_true, y_pred)
    s = _as_1d(sensitive_features, "sensitive_features")
    if len(s) != len(t):
        raise ValueError(f"sensitive_features has {len(s)} values but y_true has {len(t)}; they must match")
    s = s.astype(str)
    groups = np.unique(s)
    cols: dict[str, list[float]] = {"count": [], "accuracy": [], "selection_rate": [], "tpr": [], "fpr": []}
    for g in groups:
        m = s == g
        tg, pg = t[m], p[m]
        cols["count"].append(float(m.sum()))
        cols["accuracy"].append(float(np.mean(tg == pg)))
        cols["selection_rate"].append(selection_rate(pg, pos_label=pos_label))
        cols["tpr"].append(true_positive_rate(tg, pg, pos_label=pos_label))
        cols["fpr"].append(false_positive_rate(tg, pg, pos_label=pos_label))
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    arrays["count"] = arrays["count"].astype(np.int64)
    return GroupMetrics(groups=tuple(map(str, groups)), pos_label=pos_label, **arrays)


def demographic_parity_difference(
    y_true: ArrayLike, y_pred: ArrayLike, *, sensitive_features: ArrayLike, pos_label: Any = 1
) -> float:
    """Largest minus smallest group selection rate; 0 means demographic parity."""
    return group_metrics(y_true, y_pred, sensitive_features=sensitive_features, pos_label=pos_label).difference(
        "selection_rate"
    )


def demographic_parity_ratio(
    y_true: ArrayLike, y_pred: ArrayLike, *, sensitive_features: ArrayLike, pos_label: Any = 1
) -> float:
    """Smallest over largest group selection rate; 1 means demographic parity."""
    return group_metrics(y_true, y_pred, sensitive_features=sensitive_features, pos_label=pos_label).ratio(
        "selection_rate"
    )


def equalized_odds_difference(
    y_true: ArrayLike, y_pred: ArrayLike, *, sensitive_features: ArrayLike, pos_label: Any = 1
) -> float:
    """The larger of the TPR and FPR differences across groups; 0 means equalized odds."""
    gm = group_metrics(y_true, y_pred, sensitive_features=sensitive_features, pos_label=pos_label)
    return gm.equalized_odds_difference()


def equalized_odds_ratio(
    y_true: ArrayLike, y_pred: ArrayLike, *, sensitive_features: ArrayLike, pos_label: Any = 1
) -> float:
    """The smaller of the TPR and FPR ratios across groups; 1 means equalized odds."""
    gm = group_metrics(y_true, y_pred, sensitive_features=sensitive_features, pos_label=pos_label)
    return gm.equalized_odds_ratio()
