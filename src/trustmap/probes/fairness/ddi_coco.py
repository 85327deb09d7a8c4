"""Probe ``ddi-coco``: is the model worse on low-contrast images? After DDI-CoCo (Chiu et al., ICASSP
2024, arXiv 2401.13280), which found skin-disease classifiers detect malignancy worse when the lesion
contrasts little with the surrounding skin.

Each evaluation image gets a DDI-CoCo colour-contrast score (WCAG ratio of 3 foreground and 3 background
points, :mod:`trustmap.probes.fairness.contrast`); within each class the images are cut at the median
score, and the probe reports the accuracy of the low- and high-contrast halves and their gap (high minus
low; > 0: low contrast is worse) with a 95% bootstrap interval. ``flagged`` is 1 when the gap is at least
``gap_threshold`` (0.05, the AUROC gap DDI-CoCo's replication in trustmap accepts) and the interval
excludes 0. With a group column (``--sensitive``; an image folder's CSV), the per-group accuracy, median
contrast and contrast gap are reported too (DDI-CoCo's contrast x skin-tone analysis). Black-box: only
the model's predicted labels are used.

Shapes: ``data.eval.x`` ``(N, C, H, W)``, C 1 or 3, in the dataset's value range.

>>> result = make_probe("ddi-coco").run(handle, AuditData(dataset=ds, eval=ds.test), seed=0)
>>> result.metrics["contrast_accuracy_gap"], result.metrics["flagged"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.errors import DataError
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import (
    BUDGET_NAMES,
    AuditData,
    Curve,
    Dimension,
    Direction,
    Probe,
    ProbeResult,
    ScoreRule,
    clip01,
    register_probe,
)
from trustmap.probes.fairness.contrast import contrast_gap, score_images


@register_probe
@dataclass
class ColourContrast(Probe):
    """Accuracy of the low- versus high-contrast half of each class, with DDI-CoCo's contrast score.

    ``points``: pixels per region per labelling (3 in the paper); ``relabels``: labellings for the score's
    coefficient of variation; ``gap_threshold``: the gap that flags the model; ``n_boot``: bootstrap draws.
    """

    id: ClassVar[str] = "ddi-coco"
    title: ClassVar[str] = "Colour-contrast fairness (DDI-CoCo)"
    dimension: ClassVar[Dimension] = "fairness"
    kinds: ClassVar[tuple[str, ...]] = ("image",)
    audit_budgets: ClassVar[tuple[str, ...]] = BUDGET_NAMES
    # as group-fairness: a gap of 0.25 or more scores 0; a negative gap (low contrast better) scores 1
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: clip01(1 - 4 * m["contrast_accuracy_gap"]) if "contrast_accuracy_gap" in m else None,
        evidence=lambda m: (
            f"low-contrast images {m.get('low_contrast_accuracy', 0):.1%} accurate vs high-contrast "
            f"{m.get('high_contrast_accuracy', 0):.1%} (gap {m.get('contrast_accuracy_gap', 0):.3f}, 95% "
            f"[{m.get('gap_ci_low', 0):.3f}, {m.get('gap_ci_high', 0):.3f}])"
        ),
        defence="none-yet",
        command="no trustmap defence yet: add low-contrast examples (or contrast augmentation) to training",
    )
    directions: ClassVar[Mapping[str, Direction]] = {
        "accuracy": "higher",
        "low_contrast_accuracy": "higher",
        "high_contrast_accuracy": "higher",
        "contrast_accuracy_gap": "lower",
        "flagged": "lower",
        "worst_group_accuracy": "higher",
        "group_accuracy_gap": "lower",
    }
    headline: ClassVar[str | None] = "contrast_accuracy_gap"

    points: int = 3
    relabels: int = 5
    gap_threshold: float = 0.05
    n_boot: int = 1000
    batch_size: int = 512

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        base = super().skip_reason(model, data)
        if base:
            return base
        shape = data.eval.x.shape
        if len(shape) != 4 or shape[1] not in (1, 3):
            return f"{self.title} needs grey or RGB images (N, 1 or 3, H, W), not shape {shape}"
        if np.bincount(np.asarray(data.eval.y, np.int64)).max() < 2:
            return f"{self.title} needs at least two evaluation images of one class"
        if data.sensitive is not None and data.sensitive not in data.eval.sensitive:
            have = ", ".join(data.eval.sensitive) or "none"
            return f"dataset {data.dataset.name} has no group column {data.sensitive!r} (available: {have})"
        return None

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        x, y = data.eval.x, np.asarray(data.eval.y, np.int64)
        vr = data.dataset.value_range
        scores = score_images(x, value_range=vr, points=self.points, relabels=self.relabels, seed=seed)
        correct = model.predict(x, batch_size=self.batch_size).argmax(axis=1) == y
        gap = contrast_gap(scores.score, correct, strata=y, n_boot=self.n_boot, seed=seed)
        flagged = gap.gap >= self.gap_threshold and gap.ci_low > 0
        metrics: dict[str, float] = {
            "accuracy": float(correct.mean()),
            "low_contrast_accuracy": gap.low_accuracy,
            "high_contrast_accuracy": gap.high_accuracy,
            "contrast_accuracy_gap": gap.gap,
            "gap_ci_low": gap.ci_low,
            "gap_ci_high": gap.ci_high,
            "flagged": float(flagged),
            "median_contrast": float(np.median(scores.score)),
            "median_score_cv": float(np.median(scores.cv)),
            "n": float(len(y)),
        }
        names = data.dataset.classes
        per_class = [
            {"class": names[int(r["stratum"])], **{k: v for k, v in r.items() if k != "stratum"}} for r in gap.rows
        ]
        tables: dict[str, list[dict[str, Any]]] = {"per_class": per_class}
        # accuracy by within-class contrast quartile (0 = lowest)
        quart = _within_class_quartile(scores.score, y, seed)
        acc_q = [float(correct[quart == q].mean()) if np.any(quart == q) else 0.0 for q in range(4)]
        curves = [
            Curve(
                "accuracy by contrast quartile (within class)",
                [1.0, 2.0, 3.0, 4.0],
                acc_q,
                "contrast quartile",
                "accuracy",
                kind="bar",
                labels=["Q1 low", "Q2", "Q3", "Q4 high"],
            )
        ]
        if data.sensitive is not None:
            groups = np.asarray(data.eval.sensitive[data.sensitive]).astype(str)
            rows = self._group_rows(groups, scores.score, correct, y, seed)
            tables["per_group"] = rows
            accs = [r["accuracy"] for r in rows]
            metrics.update(worst_group_accuracy=float(min(accs)), group_accuracy_gap=float(max(accs) - min(accs)))
        result = self.result(metrics=metrics, curves=curves, tables=tables)
        result.options["sensitive"] = data.sensitive
        return result

    def _group_rows(
        self, groups: np.ndarray, score: np.ndarray, correct: np.ndarray, y: np.ndarray, seed: int
    ) -> list[dict[str, Any]]:
        rows = []
        for g in np.unique(groups):
            m = groups == g
            row: dict[str, Any] = {
                "group": str(g),
                "n": int(m.sum()),
                "accuracy": float(correct[m].mean()),
                "median_contrast": float(np.median(score[m])),
            }
            try:
                gg = contrast_gap(score[m], correct[m], strata=y[m], n_boot=self.n_boot, seed=seed)
                row.update(low=gg.low_accuracy, high=gg.high_accuracy, gap=gg.gap)
            except DataError:  # a group with one image per class has no halves
                row.update(low=None, high=None, gap=None)
            rows.append(row)
        return rows


def _within_class_quartile(score: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """0-3: each image's contrast quartile within its class."""
    out = np.zeros(len(score), np.int64)
    key = np.random.default_rng(seed).random(len(score))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        order = idx[np.lexsort((key[idx], score[idx]))]
        out[order] = (np.arange(len(order)) * 4) // len(order)
    return out
