"""The trust gate: compare two audit JSON files and flag every trust metric that got worse.

Reads two :meth:`TrustReport.to_json_dict` documents (``probes[]`` with ``probe``, ``dimension``,
``status``, ``metrics`` and, since schema 1.1, the probe's declared ``directions``), pairs the numeric
metrics that both reports measured, and knows each metric's direction: ``higher`` or ``lower`` is better.
Each probe declares the directions of its own metrics (``Probe.directions``, recorded in every result);
for metrics a report does not declare (reports written before 1.1) the generic names and patterns below
decide. A *regression* is a move in the bad direction larger than the metric's limit: ``default_max_drop``
(0.02 absolute) unless ``max_drop`` names the metric as ``probe.metric`` or ``metric``. Metrics of
unknown direction are shown but never fail the gate.

The gate fails closed: a *gated* probe (one with a tracked metric in the old report) that is missing
from the new report, did not finish there (``skipped``/``failed``), or lost a tracked metric or reports it
as NaN or infinite, is listed in :attr:`GateResult.missing` and fails the gate unless ``allow_missing``.

>>> result = gate_files("before.json", "after.json", max_drop={"robust_accuracy": 0.05})
>>> result.passed, [c.key for c in result.regressions], [m.key for m in result.missing]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from trustmap.errors import TrustmapError
from trustmap.results import DIRECTIONS, SCHEMA_VERSION, Direction

DEFAULT_MAX_DROP = 0.02

# Fallbacks for metrics whose report declares no direction (reports written before schema 1.1): generic
# metric names. ``probe.metric`` entries win over bare ``metric`` entries. New probes declare their own.
FALLBACK_DIRECTIONS: dict[str, Direction] = {
    # accuracy of the audited model: higher is better
    "accuracy": "higher",
    "clean_accuracy": "higher",
    "robust_accuracy": "higher",
    "worst_class_clean": "higher",
    "worst_class_robust": "higher",
    "worst_group_accuracy": "higher",
    # fairness: parity ratios higher (1 = parity), gaps and differences lower
    "demographic_parity_ratio": "higher",
    "equalized_odds_ratio": "higher",
    "clean_gap": "lower",
    "robust_gap": "lower",
    "group_accuracy_gap": "lower",
    "demographic_parity_difference": "lower",
    "equalized_odds_difference": "lower",
    "true_positive_rate_difference": "lower",
    "false_positive_rate_difference": "lower",
    # privacy (membership inference): the attack's strength, lower is better
    "auc": "lower",
    "advantage": "lower",
    "attack_accuracy": "lower",
    "attack_auc": "lower",
    # model stealing: how well the thief copies the model, lower is better
    "thief_accuracy": "lower",
    "fidelity": "lower",
    "agreement": "lower",
    # evasion and backdoors: attack success, lower is better
    "attack_success_rate": "lower",
    "asr": "lower",
    "success_rate": "lower",
    "mean_perturbation": "higher",
}
# In privacy probes the generic names describe the attack, so lower is better.
DIMENSION_DIRECTIONS: dict[str, dict[str, Direction]] = {
    "privacy": {"accuracy": "lower", "balanced_accuracy": "lower", "precision": "lower", "recall": "lower"},
}
# (pattern, direction) tried in order when no exact name matches
PATTERNS: tuple[tuple[str, Direction], ...] = (
    (r"^tpr(_at_|@)", "lower"),
    (r"(_gap|_difference|_diff)$", "lower"),
    (r"_ratio$", "higher"),
    (r"(^|_)(robust|clean|test)_accuracy$", "higher"),
    (r"(^|_)attack_success", "lower"),
)
# Counts, budgets and labels: compared by nobody.
IGNORED = {"worst_class", "n", "count", "seconds", "eps", "steps", "queries", "num_queries", "num_classes"}
IGNORED_PREFIXES = ("n_", "num_")

Verdict = Literal["regressed", "worse", "unchanged", "improved", "untracked"]


@dataclass
class MetricChange:
    """One metric measured by both reports. ``change`` is ``new - old``; ``limit`` the allowed bad move."""

    probe: str
    metric: str
    old: float
    new: float
    change: float
    direction: Direction | None
    limit: float
    verdict: Verdict

    @property
    def key(self) -> str:
        return f"{self.probe}.{self.metric}"


@dataclass
class Missing:
    """A gated probe (``metric`` is ``None``) or tracked metric that the new report does not measure."""

    probe: str
    metric: str | None
    why: str  # e.g. "missing from the new report", "skipped in the new report (...)", "NaN in the new report"

    @property
    def key(self) -> str:
        return self.probe if self.metric is None else f"{self.probe}.{self.metric}"


@dataclass
class GateResult:
    """The comparison: every paired metric, what the new report fails to measure, what only one report had."""

    changes: list[MetricChange]
    missing: list[Missing] = field(default_factory=list)
    only_old: list[str] = field(default_factory=list)  # "probe.metric" measured before but not now (untracked)
    only_new: list[str] = field(default_factory=list)
    allow_missing: bool = False
    old_source: str = ""
    new_source: str = ""

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.verdict == "regressed"]

    @property
    def passed(self) -> bool:
        return not self.regressions and (self.allow_missing or not self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "old": self.old_source,
            "new": self.new_source,
            "regressions": [c.key for c in self.regressions],
            "missing": [{**asdict(m), "key": m.key} for m in self.missing],
            "allow_missing": self.allow_missing,
            "changes": [{**asdict(c), "key": c.key} for c in self.changes],
            "only_old": self.only_old,
            "only_new": self.only_new,
        }


def metric_direction(
    probe: str, metric: str, *, dimension: str | None = None, declared: Mapping[str, str] | None = None
) -> Direction | None:
    """``higher`` or ``lower`` is better, or ``None`` when the metric's direction is unknown.

    Looks up the probe's ``declared`` directions, then :data:`FALLBACK_DIRECTIONS` for ``probe.metric``,
    then ``metric`` within the probe's dimension, then ``metric``, then :data:`PATTERNS`.
    """
    if declared and declared.get(metric) in DIRECTIONS:
        return declared[metric]  # type: ignore[return-value]
    if f"{probe}.{metric}" in FALLBACK_DIRECTIONS:
        return FALLBACK_DIRECTIONS[f"{probe}.{metric}"]
    if metric in DIMENSION_DIRECTIONS.get(dimension or "", {}):
        return DIMENSION_DIRECTIONS[dimension or ""][metric]
    if metric in FALLBACK_DIRECTIONS:
        return FALLBACK_DIRECTIONS[metric]
    for pattern, direction in PATTERNS:
        if re.search(pattern, metric):
            return direction
    return None


def is_trust_metric(metric: str) -> bool:
    return metric not in IGNORED and not metric.startswith(IGNORED_PREFIXES)


def load_audit_json(path: str | Path) -> dict[str, Any]:
    """Read and check an audit JSON file; raise a one-line :class:`TrustmapError` if it is not one."""
    p = Path(path)
    if not p.is_file():
        raise TrustmapError(
            f"audit file {p} not found; give the report.json that `trustmap audit --out DIR` wrote (DIR/report.json)"
        )
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrustmapError(f"{p} is not valid JSON ({exc}); give an audit JSON file") from exc
    return check_audit_dict(doc, source=str(p))


def check_audit_dict(doc: Any, *, source: str = "the report") -> dict[str, Any]:
    """Check the schema of an audit document (a dict from :meth:`TrustReport.to_json_dict`)."""
    if not isinstance(doc, dict) or "schema_version" not in doc or not isinstance(doc.get("probes"), list):
        raise TrustmapError(f"{source} is not a trustmap audit JSON (no schema_version or probes list)")
    version = str(doc["schema_version"])
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise TrustmapError(
            f"{source} has audit schema version {version}; this trustmap reads "
            f"{SCHEMA_VERSION.split('.')[0]}.x, so re-run the audit with this version"
        )
    for i, probe in enumerate(doc["probes"]):
        if (
            not isinstance(probe, dict)
            or not isinstance(probe.get("probe"), str)
            or not isinstance(probe.get("metrics", {}), dict)
        ):
            raise TrustmapError(f"{source}: probes[{i}] is not a probe result (needs `probe` and `metrics`)")
        directions = probe.get("directions", {})
        if not isinstance(directions, dict) or any(d not in DIRECTIONS for d in directions.values()):
            raise TrustmapError(f"{source}: probes[{i}].directions must map metric names to 'higher' or 'lower'")
    return doc


def parse_max_drops(items: Iterable[str]) -> tuple[dict[str, float], float | None]:
    """Parse ``METRIC=VALUE`` items (``probe.metric`` or ``metric``); a bare ``VALUE`` sets the default.

    Returns ``(limits, default)``; ``default`` is ``None`` when no bare value was given.
    """
    limits: dict[str, float] = {}
    default: float | None = None
    for item in items:
        key, sep, value = item.rpartition("=")
        key = key.strip()
        if sep and not key:
            raise TrustmapError(
                f"--max-drop {item!r} has no metric name; write METRIC=VALUE, e.g. robust_accuracy=0.05"
            )
        try:
            limit = float(value)
        except ValueError:
            raise TrustmapError(
                f"--max-drop {item!r} is not METRIC=VALUE with a number, e.g. robust_accuracy=0.05 or auc=0.01"
            ) from None
        if not math.isfinite(limit) or limit < 0:
            raise TrustmapError(f"--max-drop {item!r}: the limit must be a finite number >= 0")
        if sep:
            limits[key] = limit
        else:
            default = limit
    return limits, default


@dataclass
class _Probe:
    """One probe of one report, as the gate sees it."""

    status: str
    reason: str | None
    dimension: str
    directions: dict[str, str]
    metrics: dict[str, float]  # finite numeric trust metrics
    nonfinite: dict[str, float]  # numeric trust metrics that are NaN or infinite


def _probes(doc: Mapping[str, Any]) -> dict[str, _Probe]:
    out: dict[str, _Probe] = {}
    for probe in doc["probes"]:
        name, k = probe["probe"], 2
        while name in out:  # the same probe run twice (different options)
            name, k = f"{probe['probe']}#{k}", k + 1
        numeric = {
            m: float(v)
            for m, v in probe.get("metrics", {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and is_trust_metric(m)
        }
        out[name] = _Probe(
            status=str(probe.get("status", "ok")),
            reason=probe.get("reason"),
            dimension=str(probe.get("dimension", "")),
            directions=dict(probe.get("directions") or {}),
            metrics={m: v for m, v in numeric.items() if math.isfinite(v)},
            nonfinite={m: v for m, v in numeric.items() if not math.isfinite(v)},
        )
    return out


def _nonfinite(v: float) -> str:
    return "NaN" if math.isnan(v) else "+inf" if v > 0 else "-inf"


def _missing(probe: str, tracked: list[str], new: _Probe | None) -> list[Missing]:
    """What the new report fails to measure of a gated probe's ``tracked`` metrics."""
    if new is None:
        return [Missing(probe, None, "missing from the new report")]
    if new.status != "ok":
        why = f" ({new.reason})" if new.reason else ""
        return [Missing(probe, None, f"{new.status} in the new report{why}")]
    out = []
    for metric in tracked:
        if metric in new.nonfinite:
            out.append(Missing(probe, metric, f"{_nonfinite(new.nonfinite[metric])} in the new report"))
        elif metric not in new.metrics:
            out.append(Missing(probe, metric, "not measured in the new report"))
    return out


def _verdict(old: float, new: float, direction: Direction | None, limit: float) -> Verdict:
    if direction is None:
        return "untracked"
    worse_by = (old - new) if direction == "higher" else (new - old)
    if worse_by > limit + 1e-12:
        return "regressed"
    if worse_by > 1e-12:
        return "worse"
    return "improved" if worse_by < -1e-12 else "unchanged"


def compare_reports(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    max_drop: Mapping[str, float] | None = None,
    default_max_drop: float = DEFAULT_MAX_DROP,
    allow_missing: bool = False,
) -> GateResult:
    """Compare two checked audit documents metric by metric.

    ``max_drop`` maps ``probe.metric`` or ``metric`` to the largest allowed move in the bad direction;
    a key that matches no metric measured by both reports is an error (a typo would silently gate nothing).
    A metric's direction comes from the old report's declarations, then the new one's, then the fallbacks.
    ``allow_missing`` lets the gate pass although gated probes or metrics are missing from the new report.
    """
    before, after = _probes(old), _probes(new)
    limits = dict(max_drop or {})
    used: set[str] = set()
    changes: list[MetricChange] = []
    missing: list[Missing] = []
    only_old, only_new = [], []
    for probe in sorted(set(before) | set(after)):
        o, n = before.get(probe), after.get(probe)
        base_probe = probe.split("#")[0]
        dimension = o.dimension if o is not None else n.dimension if n is not None else ""
        declared = {**(n.directions if n else {}), **(o.directions if o else {})}
        a = o.metrics if o is not None and o.status == "ok" else {}
        b = n.metrics if n is not None and n.status == "ok" else {}
        directions = {m: metric_direction(base_probe, m, dimension=dimension, declared=declared) for m in {*a, *b}}
        tracked = [m for m in sorted(a) if directions[m] is not None]
        gaps = _missing(probe, tracked, n) if tracked else []
        missing += gaps
        lost = {g.metric for g in gaps} if all(g.metric for g in gaps) else set(a)
        only_old += [f"{probe}.{m}" for m in sorted(set(a) - set(b) - lost)]
        only_new += [f"{probe}.{m}" for m in sorted(set(b) - set(a))]
        for metric in sorted(set(a) & set(b)):
            key = next((k for k in (f"{probe}.{metric}", f"{base_probe}.{metric}", metric) if k in limits), None)
            limit = limits[key] if key is not None else default_max_drop
            used.update({f"{probe}.{metric}", f"{base_probe}.{metric}", metric})
            d = directions[metric]
            changes.append(
                MetricChange(
                    probe,
                    metric,
                    a[metric],
                    b[metric],
                    b[metric] - a[metric],
                    d,
                    limit,
                    _verdict(a[metric], b[metric], d, limit),
                )
            )
    unused = sorted(set(limits) - used)
    if unused:
        known = sorted({c.metric for c in changes})
        raise TrustmapError(
            f"--max-drop names {', '.join(unused)}, which matches no metric measured in both "
            f"reports; compared metrics: {', '.join(known) or 'none'}"
        )
    return GateResult(
        changes=changes, missing=missing, only_old=only_old, only_new=only_new, allow_missing=allow_missing
    )


def gate_files(
    old: str | Path,
    new: str | Path,
    *,
    max_drop: Mapping[str, float] | None = None,
    default_max_drop: float = DEFAULT_MAX_DROP,
    allow_missing: bool = False,
) -> GateResult:
    """Load two audit JSON files and :func:`compare_reports` them."""
    result = compare_reports(
        load_audit_json(old),
        load_audit_json(new),
        max_drop=max_drop,
        default_max_drop=default_max_drop,
        allow_missing=allow_missing,
    )
    result.old_source, result.new_source = str(old), str(new)
    return result
