"""``trustmap repro <id>``: each method's paper claim, tested against its baselines on real data.

An experiment is a function ``(size, seed, progress) -> ReproResult`` registered in :data:`REPROS` under
its method's id (the method's ``--method`` choice, e.g. ``bat``). ``size`` is ``"default"`` (the
acceptance run, at most ~15 minutes on 2 cores) or ``"quick"`` (a CI smoke run: it checks that the
experiment runs and produces its table, not the claim). :func:`run_repro` runs one and records it.

>>> @register_repro("bat", title="Balance Adversarial Training", arxiv="2209.07534")
... def bat_experiment(*, size: str, seed: int, progress: bool | None) -> ReproResult: ...
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trustmap.registry import Registry, check_id
from trustmap.utils.threads import set_threads

if TYPE_CHECKING:
    from trustmap.store import ResultsStore


VERDICTS = ("passed", "failed", "inconclusive")
CHECK_KINDS = ("claim", "sanity", "info")
STATUSES = ("held", "did not hold", "inconclusive", "not a test", "smoke run")


@dataclass
class Check:
    """One acceptance check: ``value`` compared with ``target`` (e.g. ">= 3 points above PGD-AT").

    ``verdict`` is ``passed``, ``failed`` or ``inconclusive`` (a 95% interval over seeds that straddles
    the target); by default it follows ``passed``. ``kind``: a ``claim`` check tests the paper's claim; a
    ``sanity`` check shows a learned baseline beats its trivial baseline (majority class, frozen features
    plus logistic regression, random), without which the comparison is not a test; an ``info`` check is
    reported and never judged.
    """

    name: str
    value: float
    target: str
    passed: bool = False
    verdict: str = ""
    kind: str = "claim"

    def __post_init__(self) -> None:
        self.verdict = self.verdict or ("passed" if self.passed else "failed")
        if self.verdict not in VERDICTS:
            raise ValueError(f"check {self.name!r}: verdict must be one of {', '.join(VERDICTS)}")
        if self.kind not in CHECK_KINDS:
            raise ValueError(f"check {self.name!r}: kind must be one of {', '.join(CHECK_KINDS)}")
        self.passed = self.verdict == "passed"

    @classmethod
    def over_seeds(
        cls,
        name: str,
        values: Sequence[float],
        *,
        threshold: float,
        above: bool = True,
        kind: str = "claim",
        scale: float = 1.0,
    ) -> Check:
        """A check on per-seed ``values`` (e.g. paired differences): their mean, judged by its 95% interval
        against ``threshold`` (``above``: the good side is ``>= threshold``)."""
        from trustmap.repro._stats import mean_interval

        iv = mean_interval(values)
        verdict = iv.verdict(threshold, above=above)
        target = f"{'>=' if above else '<='} {threshold * scale:g} (95% {iv.text(scale)}; {verdict})"
        return cls(name, iv.mean * scale, target, verdict=verdict, kind=kind)

    @classmethod
    def within(cls, name: str, values: Sequence[float], *, tolerance: float, kind: str = "claim") -> Check:
        """A two-sided check on per-seed ``values``: passed when the 95% interval lies within ``+/- tolerance``,
        failed when it lies wholly outside, else inconclusive."""
        from trustmap.repro._stats import mean_interval

        iv = mean_interval(values)
        lo, hi = (iv.low, iv.high) if iv.n > 1 else (iv.mean, iv.mean)
        if -tolerance <= lo and hi <= tolerance:
            verdict = "passed"
        elif hi < -tolerance or lo > tolerance:
            verdict = "failed"
        else:
            verdict = "inconclusive"
        return cls(name, iv.mean, f"within +/- {tolerance:g} (95% {iv.text()}; {verdict})", verdict=verdict, kind=kind)


def result_status(size: str, checks: Sequence[Check]) -> str:
    """``smoke run`` for a quick size; ``not a test`` when a sanity check did not pass; ``held`` when every
    claim check passed outright; ``inconclusive`` when none failed but some straddle; else ``did not hold``."""
    if size != "default":
        return "smoke run"  # a smoke-size run proves nothing, whatever its checks say
    if any(c.kind == "sanity" and not c.passed for c in checks):
        return "not a test"
    claims = [c.verdict for c in checks if c.kind == "claim"]
    if not claims or "failed" in claims:
        return "did not hold"
    return "inconclusive" if "inconclusive" in claims else "held"


@dataclass
class ReproResult:
    """The method's and baselines' metrics on the same data and seeds, and whether the claim held.

    ``status`` and ``held`` follow from ``size`` and ``checks`` (:func:`result_status`); an experiment
    never sets them itself.
    """

    method: str
    claim: str
    rows: list[dict[str, Any]]  # one row per method/baseline: {"method": name, metric: mean, ...}
    checks: list[Check] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # per-seed rows
    size: str = "default"
    seeds: list[int] = field(default_factory=list)
    seconds: float = 0.0
    notes: str = ""
    status: str = field(init=False, default="")
    held: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.status = result_status(self.size, self.checks)
        self.held = self.status == "held"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


Experiment = Callable[..., ReproResult]


def mean_runs(runs: list[dict[str, Any]], *, keys: Iterable[str] | None = None) -> dict[str, float]:
    """The mean over runs of each numeric entry (all but ``seed`` unless ``keys`` names them)."""
    if not runs:
        raise ValueError("mean_runs needs at least one run")
    if keys is None:
        keys = [
            k for k, v in runs[0].items() if k != "seed" and isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
    return {k: sum(float(r[k]) for r in runs) / len(runs) for k in keys}


@dataclass(frozen=True)
class ReproInfo:
    id: str
    title: str
    arxiv: str
    run: Experiment


def _check_arxiv(method_id: str, arxiv: str) -> None:
    if not re.match(r"^\d{4}\.\d{4,5}$", arxiv):
        raise ValueError(f"repro {method_id}: arxiv id {arxiv!r} must look like 2209.07534")


REPROS: Registry[ReproInfo] = Registry(
    "experiment",
    builtins=("trustmap.repro.*",),  # one module per method id registers itself
    check=lambda method_id, info: _check_arxiv(method_id, info.arxiv),
    hint="See `trustmap repro --list`.",
    summary=lambda info: f"{info.title} (arXiv {info.arxiv})",
)


def register_repro(method_id: str, *, title: str, arxiv: str) -> Callable[[Experiment], Experiment]:
    """Register an experiment under a method id (lower-case letters, digits and dashes)."""
    check_id(REPROS.kind, method_id)
    _check_arxiv(method_id, arxiv)

    def deco(fn: Experiment) -> Experiment:
        @functools.wraps(fn)
        def run(*, size: str, seed: int, progress: bool | None) -> ReproResult:
            set_threads()  # every experiment on the same thread count (TRUSTMAP_THREADS, default 2)
            return fn(size=size, seed=seed, progress=progress)

        REPROS.add(method_id, ReproInfo(method_id, title, arxiv, run))
        return fn

    return deco


def repro_ids() -> list[str]:
    return sorted(REPROS.ids())


def repro_info(method_id: str) -> ReproInfo:
    return REPROS.get(method_id)


@dataclass(frozen=True)
class ReproRun:
    """One run of an experiment: what it found, and its results-store run (when a store was given)."""

    info: ReproInfo
    result: ReproResult
    run_id: int = 0  # the results-store run (0 when no store was given)


def run_repro(
    method_id: str,
    *,
    quick: bool = False,
    seed: int = 0,
    progress: bool | None = None,
    store: ResultsStore | None = None,
) -> ReproRun:
    """Run the experiment ``method_id`` (``quick``: the smoke size) and record it in ``store``."""
    info = repro_info(method_id)
    size = "quick" if quick else "default"

    from trustmap.store import recorded

    with recorded(store, "repro", args={"method": method_id, "size": size}, seed=seed) as run:
        start = time.perf_counter()
        result = info.run(size=size, seed=seed, progress=progress)
        result.seconds = round(time.perf_counter() - start, 2)
        run.metrics = {
            "held": result.held,
            "status": result.status,
            **{f"check.{c.name}": c.value for c in result.checks},
        }
        run.timings = {"total": result.seconds}
    return ReproRun(info, result, run.id)
