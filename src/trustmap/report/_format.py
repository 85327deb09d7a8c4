"""Small formatting helpers shared by the renderers (no heavy imports, no computation)."""

from __future__ import annotations

import json
import math
from typing import Any

from trustmap.audit.model import Grade, TrustReport
from trustmap.probes.base import DIMENSIONS, ProbeResult

# The metric a one-line summary shows for a probe: the first of these that the probe reports, else the
# probe's first metric. Kept in one place so the terminal and the HTML table of contents agree.
HEADLINE_METRICS = (
    "robust_accuracy",
    "auc",
    "tpr_at_1pct_fpr",
    "advantage",
    "clone_accuracy",
    "fidelity",
    "attack_success_rate",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "worst_class_gap",
    "worst_class_accuracy",
    "accuracy",
)


def fmt_value(v: Any) -> str:
    """A short, stable text form of a metric or table value."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.2e}"
        if abs(v) >= 1e4:
            return f"{v:,.0f}"
        if v == int(v) and abs(v) >= 1:
            return f"{v:.1f}"
        return f"{v:.4g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def short_hash(h: Any, n: int = 12) -> str:
    return str(h)[:n] if h else "–"


def headline(probe: ProbeResult) -> tuple[str, float] | None:
    """The probe's headline metric as ``(name, value)``, or ``None`` when it has no metrics."""
    if not probe.metrics:
        return None
    for name in HEADLINE_METRICS:
        if name in probe.metrics:
            return name, probe.metrics[name]
    name = next(iter(probe.metrics))
    return name, probe.metrics[name]


def model_access(model: dict[str, Any]) -> str:
    """``white-box``, ``black-box`` or ``unknown`` from a report's model description."""
    access = model.get("access")
    if isinstance(access, str) and access:
        return access
    wb = model.get("white_box")
    if wb is None:
        return "unknown"
    return "white-box" if wb else "black-box"


def grades_by_dimension(report: TrustReport) -> list[Grade]:
    """One grade per dimension, in the canonical order; dimensions with no grade show ``n/a``.

    Extra dimensions a future scorecard may add come after the four canonical ones.
    """
    by_dim = {g.dimension: g for g in report.scorecard}
    out = [by_dim.get(d) or Grade(dimension=d, grade="n/a", score=None,
                                  evidence=["no probe of this dimension ran"]) for d in DIMENSIONS]  # fmt: skip
    out += [g for g in report.scorecard if g.dimension not in DIMENSIONS]
    return out


def grade_letter(grade: str) -> str:
    """The grade's letter family (``A``..``F``) for colour coding, or ``na``."""
    g = (grade or "").strip().upper()
    return g[0] if g and g[0] in "ABCDEF" else "na"
