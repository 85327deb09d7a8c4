"""The probe protocol: ``run(model, data, *, seed, progress) -> ProbeResult``.

A probe is a dataclass whose fields are its keyword options (with budget-dependent defaults from
``BUDGETS``), registered under an id. Subclasses override one method, :meth:`Probe.measure`, and may
override :meth:`Probe.skip_reason` to decline politely (a white-box probe on a black-box model,
missing member data, ...). Results are plain dataclasses that serialise to JSON.

>>> probe = make_probe("pgd-linf", budget="quick", steps=10)
>>> result = probe.run(handle, audit_data, seed=0)
>>> result.metrics["robust_accuracy"]
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from trustmap.errors import TrustmapError

if TYPE_CHECKING:  # keep this module light: `trustmap gate` reads results without loading torch
    from trustmap.data.dataset import Dataset, Split
    from trustmap.models.handle import ModelHandle

Dimension = Literal["privacy", "security", "fairness", "robustness"]
DIMENSIONS: tuple[Dimension, ...] = ("privacy", "security", "fairness", "robustness")
BUDGET_NAMES = ("quick", "standard", "thorough")


@dataclass
class AuditData:
    """Everything a probe may look at.

    ``eval``: labelled test examples (already subsampled to the budget). ``members``/``nonmembers``:
    examples known to be in / out of the model's training set (``None`` if unknown). ``pool``:
    extra same-distribution data the auditor may use (stealing queries, reference models), disjoint
    from ``eval`` and ``members``. ``sensitive``: the name of the sensitive attribute to audit, if any.
    """

    dataset: Dataset
    eval: Split
    members: Split | None = None
    nonmembers: Split | None = None
    pool: Split | None = None
    sensitive: str | None = None


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
    """What one probe found. ``status`` is ``ok``, ``skipped`` (with ``reason``) or ``failed``."""

    probe: str
    dimension: Dimension
    title: str
    status: str = "ok"
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curves: list[Curve] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ProbeResult":
        d = dict(d)
        d["curves"] = [Curve(**c) for c in d.get("curves", [])]
        return cls(**d)


@dataclass
class Probe:
    """Base class. Subclasses set the class variables and override :meth:`measure` (and, to add their own
    option checks, :meth:`skip_reason`); :meth:`run` skips with the reason or measures and times the probe."""

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    dimension: ClassVar[Dimension] = "robustness"
    needs_gradients: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("image", "table", "text")
    # option defaults per budget; anything not listed keeps the dataclass default
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        """Return a one-line reason to skip this probe, or ``None`` to run it."""
        if data.dataset.kind not in self.kinds:
            return f"{self.title} applies to {'/'.join(self.kinds)} data, not {data.dataset.kind}"
        if self.needs_gradients and not model.white_box:
            return f"{self.title} is white-box and this model exposes no gradients"
        return None

    def run(self, model: ModelHandle, data: AuditData, *, seed: int = 0, progress: bool | None = None) -> ProbeResult:
        reason = self.skip_reason(model, data)
        if reason:
            return self.result(status="skipped", reason=reason)
        start = time.perf_counter()
        result = self.measure(model, data, seed=seed, progress=progress)
        result.seconds = time.perf_counter() - start
        return result

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        """Run the probe on data it accepts (``skip_reason`` returned ``None``)."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def result(self, **kw: Any) -> ProbeResult:
        """A :class:`ProbeResult` pre-filled with this probe's id, dimension, title and options."""
        return ProbeResult(probe=self.id, dimension=self.dimension, title=self.title, options=self.options(), **kw)


_PROBES: dict[str, type[Probe]] = {}


def register_probe(cls: type[Probe]) -> type[Probe]:
    """Class decorator: validate and register a probe class under ``cls.id``."""
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", cls.id or ""):
        raise ValueError(f"probe id {cls.id!r} must be lower-case letters, digits and dashes")
    if cls.dimension not in DIMENSIONS:
        raise ValueError(f"probe {cls.id}: dimension must be one of {DIMENSIONS}, not {cls.dimension!r}")
    if not cls.title:
        raise ValueError(f"probe {cls.id} needs a title")
    if cls.measure is Probe.measure and cls.run is Probe.run:
        raise ValueError(f"probe {cls.id} must override measure()")
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"probe {cls.id} must be a dataclass (its fields are its options)")
    unknown = {b for b in cls.BUDGETS} - set(BUDGET_NAMES)
    if unknown:
        raise ValueError(f"probe {cls.id}: unknown budget names {unknown}")
    if cls.id in _PROBES and _PROBES[cls.id] is not cls:
        raise ValueError(f"probe {cls.id!r} is already registered")
    _PROBES[cls.id] = cls
    return cls


def probe_ids() -> list[str]:
    _ensure_builtins()
    return list(_PROBES)


def probe_class(probe_id: str) -> type[Probe]:
    _ensure_builtins()
    if probe_id not in _PROBES:
        raise TrustmapError(f"unknown probe {probe_id!r}; choose from {', '.join(_PROBES)}")
    return _PROBES[probe_id]


def make_probe(probe_id: str, *, budget: str = "standard", **options: Any) -> Probe:
    """Instantiate a probe with the budget's defaults, then ``options`` on top."""
    if budget not in BUDGET_NAMES:
        raise TrustmapError(f"unknown budget {budget!r}; use quick, standard or thorough")
    cls = probe_class(probe_id)
    fields = {f.name for f in dataclasses.fields(cls)}
    bad = set(options) - fields
    if bad:
        raise TrustmapError(f"probe {probe_id} has no option(s) {', '.join(sorted(bad))}; "
                            f"its options are {', '.join(sorted(fields)) or 'none'}")  # fmt: skip
    return cls(**{**cls.BUDGETS.get(budget, {}), **options})


def _ensure_builtins() -> None:
    import importlib

    for module in ("evasion", "membership", "extraction", "fairness", "backdoor"):
        try:
            importlib.import_module(f"trustmap.probes.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"trustmap.probes.{module}":
                raise
