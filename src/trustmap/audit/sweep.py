"""Audit many models at once on Ray: ``trustmap sweep MODELS... --data ... --out DIR``.

Each model is audited by :func:`trustmap.audit.workflow.audit_files` in its own Ray task, into
``DIR/<name>/report.{html,json}``, recording every probe in the shared results store as it finishes, so
a sweep that is stopped and started again resumes each audit where it stopped. Member files written by
``trustmap train`` (``<model>.members.npz`` / ``<model>.nonmembers.npz``) are picked up when they lie
beside a model. ``DIR/index.html`` and ``DIR/sweep.json`` compare the models: one row per model, one
column per trust dimension, each cell linked to that model's report.

By default a local Ray runtime is started with ``num_cpus`` workers (default: the machine's cores) and
shut down afterwards; ``address`` connects to an existing cluster instead (``"auto"`` or
``"ray://host:10001"``), which must see the same model files and store path.

>>> outcome = sweep_audits([Path("a.pt2"), Path("b.pt2")], data="fashion-mnist", out=Path("sweep"),
...                        store_path=Path("store.sqlite"), budget="quick")
>>> [row.grades for row in outcome.rows]
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trustmap.errors import TrustmapError
from trustmap.utils.files import atomic_write_text, check_writable


@dataclass
class SweepRow:
    """One model of the sweep: where its report is, its grades (``dimension -> (letter, score)``) or its error."""

    name: str
    model: str
    status: str  # ok | failed
    report: str | None = None
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)
    weaknesses: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class SweepOutcome:
    rows: list[SweepRow]
    index_html: Path
    json: Path
    seconds: float
    workers: int

    @property
    def failed(self) -> list[SweepRow]:
        return [r for r in self.rows if r.status != "ok"]


def report_names(models: list[Path]) -> list[str]:
    """A distinct, file-system-safe folder name per model (its stem, numbered when stems repeat)."""
    names: list[str] = []
    for m in models:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", m.with_suffix("").name) or "model"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def _member_files(model: Path) -> tuple[Path | None, Path | None]:
    stem = model.with_suffix("")
    members, nonmembers = stem.parent / f"{stem.name}.members.npz", stem.parent / f"{stem.name}.nonmembers.npz"
    return (members, nonmembers) if members.exists() and nonmembers.exists() else (None, None)


def audit_one(job: dict[str, Any]) -> dict[str, Any]:
    """Audit one model (runs inside a Ray worker, or in-process); never raises, returns a row as a dict."""
    from trustmap.audit.workflow import audit_files
    from trustmap.report import load_report_json
    from trustmap.store import ResultsStore
    from trustmap.utils.threads import set_threads

    os.environ["TRUSTMAP_THREADS"] = str(job["threads"])
    set_threads()
    start = time.perf_counter()
    row = SweepRow(name=job["name"], model=job["model"], status="failed")
    try:
        members, nonmembers = _member_files(Path(job["model"]))
        outcome = audit_files(
            model=Path(job["model"]),
            data=job["data"],
            out=Path(job["out"]),
            store=ResultsStore.open(job["store"]),
            members=members,
            nonmembers=nonmembers,
            budget=job["budget"],
            probes=job["probes"],
            seed=job["seed"],
            fresh=job["fresh"],
        )
        report = load_report_json(outcome.json)
        row.status, row.report = "ok", f"{job['name']}/report.html"
        row.grades = {g.dimension: {"grade": g.grade, "score": g.score} for g in report.scorecard}
        row.weaknesses = len(report.weaknesses)
    except TrustmapError as exc:
        row.error = str(exc)
    except Exception as exc:  # one broken model must not sink the sweep; its row says why
        row.error = f"{type(exc).__name__}: {exc}"
    row.seconds = round(time.perf_counter() - start, 3)
    return asdict(row)


def sweep_audits(
    models: list[Path],
    *,
    data: str,
    out: Path,
    store_path: Path,
    budget: str = "quick",
    probes: list[str] | None = None,
    seed: int = 0,
    fresh: bool = False,
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool | None = None,
) -> SweepOutcome:
    """Audit every model in parallel on Ray and write the comparative page; see the module docstring."""
    from trustmap.report.sweep import render_sweep_html
    from trustmap.utils.progress import progress_bar

    if not models:
        raise TrustmapError("give at least one model file to sweep")
    missing = [str(m) for m in models if not Path(m).is_file()]
    if missing:
        raise TrustmapError(f"model file(s) not found: {', '.join(missing)}")
    if num_cpus is not None and num_cpus < 1:
        raise TrustmapError(f"--workers must be at least 1, got {num_cpus}")
    from trustmap.audit.runner import selected_probes
    from trustmap.data import load_dataset
    from trustmap.utils.seed import check_seed

    check_seed(seed)
    selected_probes(budget, probes)  # unknown budgets and probe ids fail here, not in every worker
    load_dataset(data)  # so does a dataset that does not load
    check_writable(out / "index.html")
    names = report_names([Path(m) for m in models])
    workers = num_cpus or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // min(workers, len(models)))
    jobs = [
        {
            "name": n,
            "model": str(Path(m).resolve()),
            "data": data,
            "out": str((out / n).resolve()),
            "store": str(Path(store_path).resolve()),
            "budget": budget,
            "probes": probes,
            "seed": seed,
            "fresh": fresh,
            "threads": threads,
        }
        for n, m in zip(names, models)
    ]
    start = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    ray = _start_ray(address, workers)
    try:
        task = ray.remote(num_cpus=1)(audit_one)
        pending = {task.remote(job): job["name"] for job in jobs}
        with progress_bar("sweep", total=len(jobs), enabled=progress) as tick:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    results[pending.pop(ref)] = ray.get(ref)
                    tick()
    finally:
        if address is None:
            ray.shutdown()
    rows = [SweepRow(**results[n]) for n in names]
    seconds = time.perf_counter() - start
    doc = {
        "data": data,
        "budget": budget,
        "seed": seed,
        "workers": workers,
        "seconds": round(seconds, 3),
        "models": [asdict(r) for r in rows],
    }
    import json

    json_path = atomic_write_text(out / "sweep.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    html_path = atomic_write_text(out / "index.html", render_sweep_html(doc))
    return SweepOutcome(rows, html_path, json_path, seconds, workers)


def _start_ray(address: str | None, workers: int) -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise TrustmapError("trustmap sweep needs Ray; install trustmap[sweep]") from None
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # silences a FutureWarning (CPU only)
    env = {
        "TRUSTMAP_PROGRESS": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (_src_dir(), os.environ.get("PYTHONPATH", "")) if p),
    }
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "logging_level": "ERROR", "log_to_driver": False}
    try:
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, configure_logging=True, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise TrustmapError(
            f"could not start or reach Ray ({address or 'local'}): {str(exc).splitlines()[0]}"
        ) from None
    return ray


def _src_dir() -> str:
    """The folder trustmap is imported from, so Ray workers import the same code as the driver."""
    import trustmap

    return str(Path(trustmap.__file__).resolve().parent.parent)
