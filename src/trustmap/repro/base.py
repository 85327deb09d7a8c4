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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trustmap.registry import Registry, check_id
from trustmap.utils.threads import set_threads

if TYPE_CHECKING:
    from trustmap.store import ResultsStore


@dataclass
class Check:
    """One acceptance check: ``value`` compared with ``target`` (e.g. ">= 3 points above PGD-AT")."""

    name: str
    value: float
    target: str
    passed: bool


@dataclass
class ReproResult:
    """The method's and baselines' metrics on the same data and seeds, and whether the claim held."""

    method: str
    claim: str
    held: bool
    rows: list[dict[str, Any]]  # one row per method/baseline: {"method": name, metric: mean, ...}
    checks: list[Check] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # per-seed rows
    size: str = "default"
    seeds: list[int] = field(default_factory=list)
    seconds: float = 0.0
    notes: str = ""

    def __post_init__(self) -> None:
        if self.size != "default":
            self.held = False  # a smoke-size run proves nothing, whatever its checks say

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


Experiment = Callable[..., ReproResult]


def mean_runs(runs: list[dict[str, Any]], *, keys: Iterable[str] | None = None) -> dict[str, float]:
    """The mean over runs of each numeric entry (all but ``seed`` unless ``keys`` names them)."""
    if not runs:
        raise ValueError("mean_runs needs at least one run")
    if keys is None:
        keys = [k for k, v in runs[0].items() if k != "seed" and isinstance(v, (int, float)) and not isinstance(v, bool)]
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
    run_id: int | None = None


def run_repro(method_id: str, *, quick: bool = False, seed: int = 0, progress: bool | None = None,
              store: ResultsStore | None = None) -> ReproRun:
    """Run the experiment ``method_id`` (``quick``: the smoke size) and record it in ``store``."""
    info = repro_info(method_id)
    size = "quick" if quick else "default"

    def work() -> ReproResult:
        start = time.perf_counter()
        result = info.run(size=size, seed=seed, progress=progress)
        result.seconds = round(time.perf_counter() - start, 2)
        return result

    if store is None:
        return ReproRun(info, work())
    with store.run("repro", args={"method": method_id, "size": size}, seed=seed) as run:
        result = work()
        run.metrics = {"held": result.held, **{f"check.{c.name}": c.value for c in result.checks}}
        run.timings = {"total": result.seconds}
    return ReproRun(info, result, run.id)
