"""The audit's result objects: :class:`ProbeResult` (one probe) and :class:`TrustReport` (one audit).

Plain dataclasses with no heavy imports, below both ``trustmap.audit`` (which fills them) and
``trustmap.report`` (which renders them), so neither imports the other for its types and
``trustmap gate`` reads a report without loading torch.

Schema (versioned by ``SCHEMA_VERSION``; documented in ``docs/report-schema.md``). The JSON form is
deterministic: the same model, data, options and seed give byte-identical JSON. Wall-clock timings and
timestamps are therefore kept in :attr:`TrustReport.timings` (and :attr:`ProbeResult.seconds`), which the
HTML report and the results store show but ``to_json_dict()`` leaves out.

>>> report = TrustReport(model={}, data={}, seed=0, budget="quick", probes=[ProbeResult("fgsm", ...)])
>>> report.to_json_dict()["schema_version"]
'1.1'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = "1.1"

Dimension = Literal["privacy", "security", "fairness", "robustness"]
DIMENSIONS: tuple[Dimension, ...] = ("privacy", "security", "fairness", "robustness")
Direction = Literal["higher", "lower"]
DIRECTIONS: tuple[Direction, ...] = ("higher", "lower")


@dataclass
class Curve:
    """A plotted series: ``kind`` is ``line``, ``roc`` (log-log) or ``bar``."""

    name: str
    x: list[float]
    y: list[float]
    x_label: str
    y_label: str
    kind: str = "line"
    labels: list[str] | None = None  # category names for bars

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ProbeResult:
    """What one probe found. ``status`` is ``ok``, ``skipped`` (with ``reason``) or ``failed``.

    ``directions`` (metric name -> ``higher``/``lower`` is better) and ``headline`` (the metric a summary
    shows) are the probe's own declarations, recorded with its result so that the gate and the renderers
    read them from the report without importing the probe.
    """

    probe: str
    dimension: Dimension
    title: str
    status: str = "ok"
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curves: list[Curve] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    directions: dict[str, Direction] = field(default_factory=dict)
    headline: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProbeResult:
        d = dict(d)
        d["curves"] = [Curve(**c) for c in d.get("curves", [])]
        return cls(**d)


@dataclass
class Weakness:
    """A finding that crossed a threshold, and the trustmap defence that addresses it."""

    dimension: str
    probe: str
    finding: str
    defence: str  # e.g. "pgd-at"
    command: str  # e.g. "trustmap harden --method pgd-at --data fashion-mnist --arch cnn --out hardened.pt2"


@dataclass
class Grade:
    """The scorecard entry for one dimension: a letter grade, a 0-1 score and the evidence behind it."""

    dimension: str
    grade: str  # A (best) .. F, or "n/a" when no probe of the dimension ran
    score: float | None
    evidence: list[str] = field(default_factory=list)


@dataclass
class TrustReport:
    model: dict[str, Any]
    data: dict[str, Any]
    seed: int
    budget: str
    probes: list[ProbeResult]
    scorecard: list[Grade] = field(default_factory=list)
    weaknesses: list[Weakness] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # probe id -> seconds (not in the JSON)
    created_at: str = ""  # not in the JSON
    schema_version: str = SCHEMA_VERSION

    def probe(self, probe_id: str) -> ProbeResult | None:
        return next((p for p in self.probes if p.probe == probe_id), None)

    def to_json_dict(self) -> dict[str, Any]:
        """The deterministic JSON document (no timings, no timestamps)."""
        probes = []
        for p in self.probes:
            d = p.to_dict()
            d.pop("seconds", None)
            probes.append(d)
        return {
            "schema_version": self.schema_version,
            "tool": {"name": "trustmap", "version": self.versions.get("trustmap", "")},
            "model": self.model,
            "data": self.data,
            "seed": self.seed,
            "budget": self.budget,
            "config": self.config,
            "versions": self.versions,
            "scorecard": [dataclasses.asdict(g) for g in self.scorecard],
            "weaknesses": [dataclasses.asdict(w) for w in self.weaknesses],
            "probes": probes,
        }

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> TrustReport:
        return cls(
            model=d["model"],
            data=d["data"],
            seed=d["seed"],
            budget=d["budget"],
            probes=[ProbeResult.from_dict({**p, "seconds": p.get("seconds", 0.0)}) for p in d["probes"]],
            scorecard=[Grade(**g) for g in d.get("scorecard", [])],
            weaknesses=[Weakness(**w) for w in d.get("weaknesses", [])],
            config=d.get("config", {}),
            versions=d.get("versions", {}),
            schema_version=d.get("schema_version", SCHEMA_VERSION),
        )
