"""``trustmap runs`` and ``trustmap runs show ID``: read the results store."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from trustmap.cli.context import console, esc, open_store, print_json
from trustmap.errors import TrustmapError

app = typer.Typer(help="List and show recorded runs.", invoke_without_command=True)


@app.callback()
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many recent runs to list.")] = 20,
    command: Annotated[str | None, typer.Option(help="Only runs of this command.")] = None,
) -> None:
    """List recent runs (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store()
    table = Table(title=f"runs in {esc(store.path)}")
    for col in ("id", "command", "status", "started", "seconds", "dataset", "metrics"):
        table.add_column(col)
    for r in store.runs(limit=limit, command=command):
        brief = ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items() if isinstance(v, (int, float)))[:60]
        table.add_row(
            str(r.id),
            esc(r.command),
            esc(r.status),
            esc(r.started_at),
            f"{r.seconds or 0:.1f}",
            esc(r.dataset or ""),
            esc(brief),
        )
    console.print(table)


@app.command("show")
def show(
    run_id: Annotated[int, typer.Argument(help="Run id from `trustmap runs`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print one run: command, arguments, seed, versions, hashes, metrics, timings and status."""
    rec = open_store().get_run(run_id)
    if rec is None:
        raise TrustmapError(f"no run with id {run_id}; list runs with `trustmap runs`")
    if as_json:
        print_json(asdict(rec))
        return
    table = Table(title=f"run {run_id}", show_header=False)
    for key, value in asdict(rec).items():
        table.add_row(esc(key), esc(value))
    console.print(table)
