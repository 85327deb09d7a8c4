"""Small formatting helpers shared by the renderers (no heavy imports, no computation)."""

from __future__ import annotations

import json
import math
from typing import Any

from trustmap.results import DIMENSIONS, Grade, ProbeResult, TrustReport

# The metric a one-line summary shows for a probe is the ``headline`` its probe declares (recorded in the
# result). For results without one (reports written before schema 1.1, or a declared metric the probe did
# not report this time): the first of its dimension's list below that the probe reports, else the first
# of the others, else the probe's first numeric metric. Kept in one place so the terminal summary and the
# HTML report agree.
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "robustness": ("robust_accuracy", "corrupted_accuracy", "mean_robust_accuracy", "accuracy"),
    "privacy": ("auc", "tpr_at_1fpr", "advantage", "attack_accuracy"),
    "security": ("thief_accuracy", "fidelity", "agreement", "attack_success_rate", "accuracy"),
    "fairness": (
        "demographic_parity_difference",
        "equalized_odds_difference",
        "group_accuracy_gap",
        "robust_gap",
        "worst_class_robust",
        "worst_group_accuracy",
        "clean_gap",
    ),
}


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
        if v == int(v):
            return f"{int(v):,}"
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
    """The probe's headline metric as ``(name, value)``, or ``None`` when it has no numeric metric."""
    numeric = {k: v for k, v in probe.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if probe.headline in numeric:
        return probe.headline, numeric[probe.headline]
    own = HEADLINE_METRICS.get(probe.dimension, ())
    others = tuple(m for dim, names in HEADLINE_METRICS.items() if dim != probe.dimension for m in names)
    for name in (*own, *others, *numeric):
        if name in numeric:
            return name, numeric[name]
    return None


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
    out = [
        by_dim.get(d) or Grade(dimension=d, grade="n/a", score=None, evidence=["no probe of this dimension ran"])
        for d in DIMENSIONS
    ]
    out += [g for g in report.scorecard if g.dimension not in DIMENSIONS]
    return out


def grade_letter(grade: str) -> str:
    """The grade's letter family (``A``..``F``) for colour coding, or ``na``."""
    g = (grade or "").strip().upper()
    return g[0] if g and g[0] in "ABCDEF" else "na"
