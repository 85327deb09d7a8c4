"""``trustmap gate OLD.json NEW.json``: fail (exit 1) when a trust metric regressed past its limit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from trustmap.cli.context import console, print_json

VERDICT_STYLE = {"regressed": "bold red", "worse": "yellow", "improved": "green", "unchanged": "", "untracked": "dim"}


def gate(
    old: Annotated[Path, typer.Argument(help="The baseline audit JSON (`trustmap audit --json`).")],
    new: Annotated[Path, typer.Argument(help="The candidate audit JSON.")],
    max_drop: Annotated[Optional[list[str]], typer.Option(
        "--max-drop", metavar="METRIC=VALUE",
        help="Allowed move in the bad direction for `probe.metric` or `metric` (repeatable); "
             "a bare VALUE sets the default (0.02).")] = None,  # fmt: skip
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as a JSON object.")] = False,
) -> None:
    """Compare two audits metric by metric; exit 1 if any trust metric regressed past its limit."""
    from trustmap.audit.gate import DEFAULT_MAX_DROP, gate_files, parse_max_drops

    limits, default = parse_max_drops(max_drop or [])
    result = gate_files(old, new, max_drop=limits, default_max_drop=DEFAULT_MAX_DROP if default is None else default)
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title=f"trust gate: {old.name} → {new.name}  (↑/↓: higher/lower is better)",
                      box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)  # fmt: skip
        for col in ("probe", "metric", "old", "new", "change", "limit", "verdict"):
            table.add_column(col, no_wrap=True, justify="left" if col in ("probe", "metric", "verdict") else "right")
        for c in result.changes:
            arrow = {"higher": "↑", "lower": "↓"}.get(c.direction or "", "?")
            style = VERDICT_STYLE[c.verdict]
            table.add_row(c.probe, f"{c.metric} {arrow}", f"{c.old:.3f}", f"{c.new:.3f}", f"{c.change:+.3f}",
                          f"{c.limit:g}", f"[{style}]{c.verdict}[/]" if style else c.verdict)  # fmt: skip
        console.print(table)
        for label, keys in (("only in the old report", result.only_old), ("only in the new report", result.only_new)):
            if keys:
                console.print(f"[yellow]not compared, {label}:[/] {', '.join(keys)}", soft_wrap=True)
        n = len(result.changes)
        if result.passed:
            console.print(f"[bold green]gate passed[/]: {n} metrics compared, no regression past its limit")
        else:
            keys = ", ".join(c.key for c in result.regressions)
            console.print(f"[bold red]gate failed[/]: {len(result.regressions)} of {n} metrics regressed: {keys}",
                          soft_wrap=True)  # fmt: skip
    if not result.passed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
