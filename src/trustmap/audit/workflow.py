"""The library side of ``trustmap audit``: validate inputs, run the audit, record it, write the report.

Everything that can be wrong with the inputs is checked before any probe runs, and the report files
are written atomically at the end, so a failed audit never leaves a partial report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from trustmap.audit.config import load_config
from trustmap.audit.prepare import prepare_audit_data
from trustmap.audit.runner import run_audit
from trustmap.errors import TrustmapError
from trustmap.models.io import load_model
from trustmap.probes.base import BUDGET_NAMES, ProbeResult
from trustmap.store import ResultsStore
from trustmap.utils.files import check_writable
from trustmap.utils.seed import check_seed


@dataclass(frozen=True)
class AuditOutcome:
    html: Path
    json: Path
    run_id: int


def audit_files(
    *,
    model: Path,
    data: str,
    out: Path,
    store: ResultsStore,
    members: Path | None = None,
    nonmembers: Path | None = None,
    sensitive: str | None = None,
    label: str | None = None,
    config: Path | None = None,
    budget: str | None = None,
    probes: list[str] | None = None,
    seed: int | None = None,
    black_box: bool = False,
    fresh: bool = False,
    console: Console | None = None,
) -> AuditOutcome:
    from trustmap.report import render_terminal, write_report

    cfg = load_config(config)
    budget = next((b for b in (budget, cfg.budget) if b is not None), "standard")  # the flag, the file, default
    if budget not in BUDGET_NAMES:
        raise TrustmapError(f"unknown budget {budget!r}; use quick, standard or thorough")
    seed = check_seed(next((s for s in (seed, cfg.seed) if s is not None), 0))  # a seed from the TOML file too
    check_writable(out / "report.html")
    handle = load_model(model)
    if black_box:
        handle = handle.black_box()
    audit_data = prepare_audit_data(
        handle, data, budget=budget, seed=seed, members=members, nonmembers=nonmembers, sensitive=sensitive, label=label
    )
    args = {
        "model": str(model),
        "data": data,
        "members": str(members) if members else None,
        "nonmembers": str(nonmembers) if nonmembers else None,
        "sensitive": sensitive,
        "budget": budget,
        "probes": probes or cfg.probes,
        "config": str(config) if config else None,
        "black_box": black_box,
        "fresh": fresh,
        "out": str(out),
    }

    def announce(result: ProbeResult, resumed: bool) -> None:
        if console is None:
            return
        colour = {"ok": "green", "skipped": "yellow"}.get(result.status, "red")
        note = " (resumed from the store)" if resumed else f" in {result.seconds:.1f} s"
        why = f": {result.reason}" if result.reason else ""
        console.print(f"[{colour}]{result.status:>7}[/] {result.title}{why}{note}", highlight=False)

    with store.run("audit", args=args, seed=seed) as run:
        run.dataset, run.dataset_sha256, run.model_sha256 = data, audit_data.dataset.sha256(), handle.sha256
        report = run_audit(
            handle,
            audit_data,
            budget=budget,
            seed=seed,
            probes=probes or cfg.probes,
            options=cfg.options,
            store=store,
            fresh=fresh,
            on_probe=announce,
            run_id=run.id,
        )
        html, json_path = write_report(report, out)
        run.metrics = {
            f"{p.probe}.{k}": v for p in report.probes for k, v in p.metrics.items() if isinstance(v, (int, float))
        }
        run.metrics.update({f"grade.{g.dimension}": g.score for g in report.scorecard if g.score is not None})
        run.timings = report.timings
    if console is not None:
        render_terminal(report, console)
    return AuditOutcome(html, json_path, run.id)
