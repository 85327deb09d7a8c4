"""``group-fairness``: does the model treat the groups of a sensitive attribute alike?

Demographic parity and equalized odds (Hardt, Price & Srebro, "Equality of Opportunity in Supervised
Learning", NeurIPS 2016, arXiv 1610.02413) with Fairlearn's definitions (see
:mod:`trustmap.probes.fairness.metrics`): per-group accuracy and selection rate, the demographic-parity
difference and ratio, and the equalized-odds difference and ratio. Black-box: only the model's predicted
labels on ``data.eval`` are used.

Binary tasks take class 1 as the positive ('selected') outcome. Multiclass tasks get per-group accuracy
only; demographic parity and equalized odds need a positive class, so they are left out and
``result.reason`` (on an ``ok`` result) says so.

Shapes: ``data.eval.x`` ``(N, F)``; ``data.eval.sensitive[data.sensitive]`` ``(N,)`` raw group names.

>>> probe = make_probe("group-fairness")
>>> result = probe.run(handle, AuditData(dataset=adult, eval=adult.test, sensitive="sex"), seed=0)
>>> result.metrics["demographic_parity_difference"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

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
from trustmap.probes.fairness.metrics import group_metrics

MULTICLASS_NOTE = (
    "demographic parity and equalized odds need a binary task with a positive class; "
    "this task has {k} classes, so only per-group accuracy is reported"
)


@register_probe
@dataclass
class GroupFairness(Probe):
    """Group accuracy, selection rates, demographic-parity and equalized-odds gaps for one attribute.

    ``batch_size``: examples per forward pass.
    """

    id: ClassVar[str] = "group-fairness"
    title: ClassVar[str] = "Group fairness"
    dimension: ClassVar[Dimension] = "fairness"
    needs_gradients: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("table",)
    audit_budgets: ClassVar[tuple[str, ...]] = BUDGET_NAMES
    # a parity or odds difference of 0.25 or more scores 0 (binary tasks; multiclass tasks get no score)
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: (
            clip01(1 - 4 * max(m.get("demographic_parity_difference", 0), m.get("equalized_odds_difference", 0)))
            if "demographic_parity_difference" in m
            else None
        ),
        evidence=lambda m: (
            f"demographic-parity difference {m.get('demographic_parity_difference', 0):.3f}, "
            f"equalized-odds difference {m.get('equalized_odds_difference', 0):.3f}"
        ),
        defence="none-yet",
        command="no trustmap defence yet: retrain with a fairness constraint (e.g. Fairlearn's reductions)",
    )
    directions: ClassVar[Mapping[str, Direction]] = {
        "accuracy": "higher",
        "worst_group_accuracy": "higher",
        "group_accuracy_gap": "lower",
        "demographic_parity_difference": "lower",
        "demographic_parity_ratio": "higher",
        "equalized_odds_difference": "lower",
        "equalized_odds_ratio": "higher",
        "true_positive_rate_difference": "lower",
        "false_positive_rate_difference": "lower",
    }
    headline: ClassVar[str | None] = "demographic_parity_difference"  # multiclass: the summary's fallback

    batch_size: int = 1024

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        base = super().skip_reason(model, data)
        if base:
            return base
        available = data.dataset.sensitive_names
        if not available:
            return f"{self.title} needs a sensitive attribute and dataset {data.dataset.name} has none"
        if data.sensitive is None:
            return f"{self.title} needs a sensitive attribute; choose one of: {', '.join(available)}"
        if data.sensitive not in data.eval.sensitive:
            return (
                f"dataset {data.dataset.name} has no sensitive attribute {data.sensitive!r}; "
                f"choose one of: {', '.join(available)}"
            )
        return None

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        assert data.sensitive is not None
        y_true = np.asarray(data.eval.y, dtype=np.int64)
        y_pred = model.predict(data.eval.x, batch_size=self.batch_size).argmax(axis=1)
        groups = np.asarray(data.eval.sensitive[data.sensitive]).astype(str)
        num_classes = data.dataset.num_classes
        binary = num_classes == 2
        gm = group_metrics(y_true, y_pred, sensitive_features=groups, pos_label=1)

        metrics: dict[str, float] = {
            "accuracy": float(np.mean(y_true == y_pred)),
            "worst_group_accuracy": float(np.min(gm.accuracy)),
            "group_accuracy_gap": gm.difference("accuracy"),
        }
        tables: dict[str, list[dict[str, Any]]] = {"per_group": gm.rows()}
        x = [float(i) for i in range(len(gm.groups))]
        labels = list(gm.groups)
        curves = [
            Curve(
                f"accuracy by {data.sensitive}",
                x,
                gm.accuracy.tolist(),
                data.sensitive,
                "accuracy",
                kind="bar",
                labels=labels,
            )
        ]
        if binary:
            metrics.update(
                selection_rate=float(np.mean(y_pred == 1)),
                demographic_parity_difference=gm.difference("selection_rate"),
                demographic_parity_ratio=gm.ratio("selection_rate"),
                equalized_odds_difference=gm.equalized_odds_difference(),
                equalized_odds_ratio=gm.equalized_odds_ratio(),
                true_positive_rate_difference=gm.difference("tpr"),
                false_positive_rate_difference=gm.difference("fpr"),
            )
            curves.append(
                Curve(
                    f"selection rate by {data.sensitive}",
                    x,
                    gm.selection_rate.tolist(),
                    data.sensitive,
                    "selection rate",
                    kind="bar",
                    labels=labels,
                )
            )
        else:
            for row in tables["per_group"]:
                for key in ("selection_rate", "tpr", "fpr"):
                    row.pop(key)
        note = None if binary else MULTICLASS_NOTE.format(k=num_classes)
        result = self.result(metrics=metrics, curves=curves, tables=tables, reason=note)
        result.options["sensitive"] = data.sensitive
        return result
