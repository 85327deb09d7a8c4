"""``trustmap sweep``: audit many models in parallel on Ray and compare them on one page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trustmap.cli import context
from trustmap.cli.choices import AUDIT_CHOICES, split_ids, with_choices


def sweep(
    models: Annotated[list[Path], typer.Argument(help="Model files (.pt, .pt2 or .safetensors) to audit.")],
    data: Annotated[str, typer.Option(help="Dataset name or user file (.npz, .csv, .parquet).")],
    out: Annotated[
        Path, typer.Option(help="Folder for index.html, sweep.json and one report folder per model.")
    ] = Path("trustmap-sweep"),  # noqa: E501
    budget: Annotated[str, typer.Option(help="Audit budget.")] = "quick",
    probes: Annotated[
        Optional[str], typer.Option(help="Comma-separated probe ids (default: the budget's set).")
    ] = None,  # noqa: E501
    seed: Annotated[int, context.seed_option("Random seed, the same for every model.")] = 0,
    address: Annotated[
        Optional[str], typer.Option(help="Ray cluster to use (e.g. auto); default: start a local one.")
    ] = None,  # noqa: E501
    workers: Annotated[
        Optional[int], typer.Option(help="Parallel audits on the local Ray runtime (default: cores).")
    ] = None,  # noqa: E501
    fresh: Annotated[bool, typer.Option("--fresh", help="Recompute every probe instead of resuming.")] = False,
) -> None:
    """Audit every model (resuming through the results store) and write one comparative HTML page."""
    from trustmap.audit.sweep import sweep_audits
    from trustmap.store import default_store_path

    outcome = sweep_audits(
        models,
        data=data,
        out=out,
        store_path=context.SETTINGS.store or default_store_path(),
        budget=budget,
        probes=split_ids(probes),
        seed=seed,
        fresh=fresh,
        address=address,
        num_cpus=workers,
    )
    for row in outcome.rows:
        line = (
            " ".join(f"{d}={g['grade']}" for d, g in row.grades.items())
            if row.status == "ok"
            else f"failed: {row.error}"
        )
        context.console.print(f"{row.name}: {line}", markup=False, highlight=False)
    context.console.print(
        f"[green]sweep[/] {outcome.index_html} ({len(outcome.rows)} models, "
        f"{outcome.seconds:.1f} s on {outcome.workers} workers)",
        highlight=False,
    )
    if outcome.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sweep", cls=with_choices(**AUDIT_CHOICES))(sweep)
