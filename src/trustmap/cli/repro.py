"""``trustmap repro <id>``: run a method and its baselines, print the table, say whether the claim held."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer
from rich.table import Table

from trustmap.cli.context import console, open_store, print_json
from trustmap.cli.context import seed_option


def repro(
    method: Annotated[Optional[str], typer.Argument(help="Method id (see --list), e.g. bat, ini, sfr-on.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke-test size (CI): runs, but proves nothing.")] = False,
    seed: Annotated[int, seed_option("First random state; runs use seed, seed+1, ...")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the available experiments.")] = False,
) -> None:
    """Run the paper's experiment at our scale and record it in the results store."""
    from trustmap.errors import TrustmapError
    from trustmap.repro import repro_ids, repro_info

    if list_ or method is None:
        table = Table(title="trustmap repro experiments")
        for col in ("id", "title", "arXiv"):
            table.add_column(col)
        for rid in repro_ids():
            info = repro_info(rid)
            table.add_row(rid, info.title, info.arxiv)
        console.print(table)
        if method is None and not list_:
            raise TrustmapError("name an experiment: trustmap repro ID (see the list above)")
        return
    info = repro_info(method)
    size = "quick" if quick else "default"
    with open_store().run("repro", args={"method": method, "size": size}, seed=seed) as run:
        start = time.perf_counter()
        result = info.run(size=size, seed=seed, progress=None if not as_json else False)
        result.seconds = round(time.perf_counter() - start, 2)
        run.metrics = {"held": result.held, **{f"check.{c.name}": c.value for c in result.checks}}
        run.timings = {"total": result.seconds}
    if as_json:
        print_json({**result.to_dict(), "run_id": run.id})
        return
    render(result, title=f"{info.id}: {info.title} (arXiv {info.arxiv})")


def render(result, *, title: str) -> None:  # noqa: ANN001
    keys: list[str] = []
    for row in result.rows:
        keys += [k for k in row if k not in keys]
    table = Table(title=f"{title} — size {result.size}, seeds {result.seeds}")
    for k in keys:
        table.add_column(k, justify="left" if k == "method" else "right")
    for row in result.rows:
        table.add_row(*(_fmt(row.get(k)) for k in keys))
    console.print(table)
    checks = Table(title="acceptance checks")
    for col in ("check", "value", "target", "passed"):
        checks.add_column(col)
    for c in result.checks:
        checks.add_row(c.name, _fmt(c.value), c.target, "[green]yes" if c.passed else "[red]no")
    console.print(checks)
    verdict = "[bold green]HELD[/]" if result.held else "[bold red]DID NOT HOLD[/]"
    console.print(f"claim: {result.claim}\nat our scale: {verdict}  ({result.seconds:.0f} s)")
    if result.notes:
        console.print(result.notes)


def _fmt(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def register(app: typer.Typer) -> None:
    app.command("repro")(repro)
