"""The probe protocol: ``run(model, data, *, seed, progress) -> ProbeResult``.

A probe is a dataclass whose fields are its keyword options (with budget-dependent defaults from
``BUDGETS``), registered under an id. Subclasses override one method, :meth:`Probe.measure`, and may
override :meth:`Probe.skip_reason` to decline politely (a white-box probe on a black-box model,
missing member data, ...). Results are plain dataclasses (:mod:`trustmap.results`) that serialise to
JSON. A probe also declares what the audit needs of it (its budgets, scorecard rule, gate directions and
headline metric; see :class:`Probe`), and :data:`PROBES` checks those declarations when it registers.

>>> probe = make_probe("pgd-linf", budget="quick", steps=10)
>>> result = probe.run(handle, audit_data, seed=0)
>>> result.metrics["robust_accuracy"]
"""

from __future__ import annotations

import dataclasses
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from trustmap.errors import TrustmapError
from trustmap.registry import Registry
from trustmap.results import (
    DIMENSIONS,
    DIRECTIONS,
    Curve,  # noqa: F401  (re-exported: probe modules import it from here)
    Dimension,
    Direction,
    ProbeResult,
)

if TYPE_CHECKING:  # keep this module light: `trustmap gate` reads results without loading torch
    from trustmap.data.dataset import Dataset, Split
    from trustmap.models.handle import ModelHandle

BUDGET_NAMES = ("quick", "standard", "thorough")
# the fields a scorecard rule's ``command`` may name; the scorecard fills them from the audited model
COMMAND_FIELDS = ("data", "arch", "model")


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


@dataclass(frozen=True)
class ScoreRule:
    """How the scorecard grades a probe's metrics, and what mends a weak score.

    ``score(metrics)``: a 0-1 score (1 = trustworthy), or ``None`` when the metrics do not allow one.
    ``evidence(metrics)``: one line with the numbers behind it. ``defence``: the id of the trustmap
    defence that mends a weak score (``none-yet`` if there is none). ``command``: the command that applies
    it; ``{data}``, ``{arch}`` and ``{model}`` are filled in from the audited model (shell-quoted).
    """

    score: Callable[[Mapping[str, float]], float | None]
    evidence: Callable[[Mapping[str, float]], str]
    defence: str
    command: str

    def filled_command(self, *, data: str = "DATA", arch: str = "ARCH", model: str = "MODEL") -> str:
        """:attr:`command` with the placeholders filled in."""
        return self.command.format(data=data, arch=arch, model=model)


def clip01(v: float) -> float:
    return max(0.0, min(1.0, v))


def kept_fraction(metrics: Mapping[str, float], num: str, den: str) -> float | None:
    """``metrics[num] / metrics[den]`` clipped to [0, 1] (``None`` if either is missing or ``den`` is 0):
    the share of its accuracy a model keeps under attack."""
    if num not in metrics or den not in metrics or not metrics[den]:
        return None
    return clip01(metrics[num] / metrics[den])


@dataclass
class Probe:
    """Base class. Subclasses set the class variables and override :meth:`measure` (and, to add their own
    option checks, :meth:`skip_reason`); :meth:`run` skips with the reason or measures and times the probe.

    What the audit needs of a probe is declared here, in the probe's own file, and checked when it is
    registered: ``audit_budgets`` (the budgets whose default probe set includes it; empty: only when asked
    for by id), ``BUDGETS`` (option defaults per budget), ``rule`` (its scorecard rule, or ``None``),
    ``directions`` (which way each metric is better, for ``trustmap gate``) and ``headline`` (the metric a
    one-line summary shows). ``directions`` and ``headline`` travel with every result into the report.
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    dimension: ClassVar[Dimension] = "robustness"
    needs_gradients: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("image", "table", "text")
    # option defaults per budget; anything not listed keeps the dataclass default
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {}
    audit_budgets: ClassVar[tuple[str, ...]] = ()
    rule: ClassVar[ScoreRule | None] = None
    directions: ClassVar[Mapping[str, Direction]] = {}
    headline: ClassVar[str | None] = None

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
        """A :class:`ProbeResult` pre-filled with this probe's id, dimension, title, options and declarations."""
        return declare(
            ProbeResult(probe=self.id, dimension=self.dimension, title=self.title, options=self.options(), **kw),
            type(self),
        )


def declare(result: ProbeResult, cls: type[Probe]) -> ProbeResult:
    """Record ``cls``'s gate directions and headline metric on ``result`` (in place) and return it."""
    result.directions = dict(cls.directions)
    result.headline = cls.headline
    return result


def _check_probe(name: str, cls: type[Probe]) -> None:
    """Refuse a probe class that the audit could not use (the registry's ``check``)."""
    if not isinstance(cls, type) or not issubclass(cls, Probe):
        raise ValueError(f"probe {name!r} must be a Probe subclass, not {cls!r}")
    if cls.id != name:
        raise ValueError(f"probe class {cls.__name__} has id {cls.id!r} but is registered as {name!r}")
    if cls.dimension not in DIMENSIONS:
        raise ValueError(f"probe {name}: dimension must be one of {DIMENSIONS}, not {cls.dimension!r}")
    if not isinstance(cls.title, str) or not cls.title:
        raise ValueError(f"probe {name} needs a title")
    if cls.measure is Probe.measure and cls.run is Probe.run:
        raise ValueError(f"probe {name} must override measure()")
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"probe {name} must be a dataclass (its fields are its options)")
    unknown = sorted(set(cls.BUDGETS) - set(BUDGET_NAMES))
    if unknown:
        raise ValueError(f"probe {name}: unknown budget names {unknown} in BUDGETS; use {', '.join(BUDGET_NAMES)}")
    budgets = cls.audit_budgets
    if not isinstance(budgets, tuple) or any(b not in BUDGET_NAMES for b in budgets):
        raise ValueError(f"probe {name}: audit_budgets must be a tuple of {', '.join(BUDGET_NAMES)}, not {budgets!r}")
    if not isinstance(cls.directions, Mapping):
        raise ValueError(f"probe {name}: directions must map metric names to 'higher' or 'lower'")
    for metric, direction in cls.directions.items():
        if not isinstance(metric, str) or not metric or direction not in DIRECTIONS:
            raise ValueError(f"probe {name}: directions[{metric!r}] must be 'higher' or 'lower', not {direction!r}")
    if cls.headline is not None and (not isinstance(cls.headline, str) or not cls.headline):
        raise ValueError(f"probe {name}: headline must be a metric name (a non-empty string) or None")
    if cls.rule is not None:
        _check_rule(name, cls.rule)


def _check_rule(name: str, rule: ScoreRule) -> None:
    if not isinstance(rule, ScoreRule):
        raise ValueError(f"probe {name}: rule must be a ScoreRule or None, not {type(rule).__name__}")
    if not callable(rule.score) or not callable(rule.evidence):
        raise ValueError(f"probe {name}: rule.score and rule.evidence must be functions of the metrics")
    if not isinstance(rule.defence, str) or not rule.defence or not isinstance(rule.command, str):
        raise ValueError(f"probe {name}: rule.defence must name a defence and rule.command be a string")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(rule.command) if f is not None}
    except ValueError as exc:
        raise ValueError(f"probe {name}: rule.command {rule.command!r} is not a valid template ({exc})") from None
    bad = sorted(fields - set(COMMAND_FIELDS))
    if bad:
        raise ValueError(f"probe {name}: rule.command may name {{data}}, {{arch}} and {{model}}, not {bad}")


# The modules of the built-in probes, in the order the audit runs them (a new built-in probe adds its
# module here); probes registered from elsewhere run after them, in registration order.
PROBE_MODULES = (
    "trustmap.probes.evasion.probe_fgsm",
    "trustmap.probes.evasion.probe_pgd",
    "trustmap.probes.evasion.probe_apgd",
    "trustmap.probes.evasion.probe_eps_sweep",
    "trustmap.probes.evasion.probe_corruptions",
    "trustmap.probes.membership.loss",
    "trustmap.probes.membership.confidence",
    "trustmap.probes.membership.rmia",
    "trustmap.probes.membership.lira",
    "trustmap.probes.extraction.knockoff",
    "trustmap.probes.fairness.robust_fairness",
    "trustmap.probes.fairness.group",
    "trustmap.probes.fairness.ddi_coco",
    "trustmap.probes.backdoor.neural_cleanse",
    "trustmap.probes.graph.structure",
)
PROBES: Registry[type[Probe]] = Registry(
    "probe", builtins=PROBE_MODULES, check=_check_probe, summary=lambda cls: cls.title
)


def register_probe(cls: type[Probe]) -> type[Probe]:
    """Class decorator: validate and register a probe class under ``cls.id``."""
    return PROBES.add(cls.id, cls)


def probe_ids() -> list[str]:
    """Every registered probe id, in audit order: the built-in modules' order, then registration order."""
    rank = {module: i for i, module in enumerate(PROBE_MODULES)}
    entries = PROBES.items()
    order = sorted(range(len(entries)), key=lambda i: (rank.get(entries[i][1].__module__, len(rank)), i))
    return [entries[i][0] for i in order]


def probe_class(probe_id: str) -> type[Probe]:
    """The class registered under ``probe_id``; a one-line error naming the valid ids otherwise."""
    return PROBES.get(probe_id)


def budget_probes(budget: str) -> list[str]:
    """The probes an audit at ``budget`` runs by default: those whose ``audit_budgets`` name it."""
    if budget not in BUDGET_NAMES:
        raise TrustmapError(f"unknown budget {budget!r}; use quick, standard or thorough")
    return [p for p in probe_ids() if budget in PROBES.get(p).audit_budgets]


def make_probe(probe_id: str, *, budget: str = "standard", **options: Any) -> Probe:
    """Instantiate a probe with the budget's defaults, then ``options`` on top."""
    if budget not in BUDGET_NAMES:
        raise TrustmapError(f"unknown budget {budget!r}; use quick, standard or thorough")
    cls = probe_class(probe_id)
    fields = {f.name for f in dataclasses.fields(cls)}
    bad = set(options) - fields
    if bad:
        raise TrustmapError(
            f"probe {probe_id} has no option(s) {', '.join(sorted(bad))}; "
            f"its options are {', '.join(sorted(fields)) or 'none'}"
        )
    return cls(**{**cls.BUDGETS.get(budget, {}), **options})
