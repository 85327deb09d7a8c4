"""``trustmap repro <id>``: run a method and its baselines, print the table, say whether the claim held."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from trustmap.cli.choices import ids, with_choices
from trustmap.cli.context import console, open_store, print_json, seed_option


def repro(
    method: Annotated[Optional[str], typer.Argument(help="Experiment id (see --list).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke-test size (CI): runs, but proves nothing.")] = False,
    seed: Annotated[int, seed_option("First random state; runs use seed, seed+1, ...")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the available experiments.")] = False,
) -> None:
    """Run the paper's experiment at our scale and record it in the results store."""
    from trustmap.errors import TrustmapError
    from trustmap.repro import REPROS, run_repro

    if list_ or method is None:
        table = Table(title="trustmap repro experiments")
        for col in ("id", "title", "arXiv"):
            table.add_column(col)
        for rid, info in sorted(REPROS.items()):
            table.add_row(rid, escape(info.title), info.arxiv)
        console.print(table)
        if method is None and not list_:
            raise TrustmapError("name an experiment: trustmap repro ID (see the list above)")
        return
    done = run_repro(method, quick=quick, seed=seed, progress=None if not as_json else False, store=open_store())
    if as_json:
        print_json({**done.result.to_dict(), "run_id": done.run_id})
        return
    render(done.result, title=f"{done.info.id}: {done.info.title} (arXiv {done.info.arxiv})")


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
    for col in ("check", "kind", "value", "target", "verdict"):
        checks.add_column(col)
    for c in result.checks:
        checks.add_row(
            escape(c.name),
            c.kind,
            _fmt(c.value),
            escape(c.target),
            f"[{VERDICT_COLOURS[c.verdict]}]{c.verdict}[/]" if c.kind != "info" else "info",
        )
    console.print(checks)
    colour = {"held": "green", "inconclusive": "yellow"}.get(result.status, "red")
    console.print(
        f"claim: {escape(result.claim)}\nat our scale: [bold {colour}]{result.status.upper()}[/]  "
        f"({result.seconds:.0f} s)"
    )
    if result.notes:
        console.print(result.notes)


VERDICT_COLOURS = {"passed": "green", "failed": "red", "inconclusive": "yellow"}


def _fmt(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _method_help() -> str:
    from trustmap.repro import repro_ids

    return ids(repro_ids())


def register(app: typer.Typer) -> None:
    app.command("repro", cls=with_choices(method=_method_help))(repro)
