"""``trustmap gate OLD.json NEW.json``: fail (exit 1) when a trust metric regressed past its limit, or when
a gated probe is missing, did not finish or is not finite in the new report (unless ``--allow-missing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from trustmap.cli.context import console, print_json

VERDICT_STYLE = {"regressed": "bold red", "worse": "yellow", "improved": "green", "unchanged": "", "untracked": "dim"}


def _num(v: float, *, sign: bool = False) -> str:
    """A value in full: up to 4 decimals, trailing zeros kept so the column lines up."""
    return f"{v:+.4f}" if sign else f"{v:.4f}"


def gate(
    old: Annotated[Path, typer.Argument(help="The baseline audit JSON (the report.json `trustmap audit` writes).")],
    new: Annotated[Path, typer.Argument(help="The candidate audit JSON.")],
    max_drop: Annotated[
        Optional[list[str]],
        typer.Option(
            "--max-drop",
            metavar="METRIC=VALUE",
            help="Allowed move in the bad direction for `probe.metric` or `metric` (repeatable); "
            "a bare VALUE sets the default (0.02).",
        ),
    ] = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Pass although a gated probe is missing, skipped, failed or not finite in the new report.",
        ),
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list metrics of unknown direction (default: tracked metrics only).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as a JSON object.")] = False,
) -> None:
    """Compare two audits metric by metric; exit 1 if any trust metric regressed past its limit or a gated
    probe is missing from the new audit."""
    from trustmap.audit.gate import DEFAULT_MAX_DROP, gate_files, parse_max_drops

    limits, default = parse_max_drops(max_drop or [])
    result = gate_files(
        old,
        new,
        max_drop=limits,
        default_max_drop=DEFAULT_MAX_DROP if default is None else default,
        allow_missing=allow_missing,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        shown = [c for c in result.changes if show_all or c.direction is not None or c.verdict == "regressed"]
        table = Table(
            title=f"trust gate: {escape(old.name)} → {escape(new.name)}  (↑/↓: higher/lower is better)",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        arrow = {"higher": "↑", "lower": "↓"}
        cells = [
            [
                escape(c.probe),
                f"{escape(c.metric)} {arrow.get(c.direction or '', '?')}",
                _num(c.old),
                _num(c.new),
                _num(c.change, sign=True),
                f"{c.limit:g}",
                c.verdict,
            ]
            for c in shown
        ]
        for i, col in enumerate(("probe", "metric", "old", "new", "change", "limit", "verdict")):
            numeric = col in ("old", "new", "change", "limit")
            # numbers are never shortened ("0.8…"): on a narrow terminal the names fold onto a second line
            width = max([len(col), *(len(row[i]) for row in cells)]) if numeric or col == "verdict" else None
            table.add_column(
                col, justify="right" if numeric else "left", no_wrap=width is not None, min_width=width, overflow="fold"
            )
        for c, row in zip(shown, cells):
            style = VERDICT_STYLE[c.verdict]
            table.add_row(*row[:-1], f"[{style}]{row[-1]}[/]" if style else row[-1])
        console.print(table)
        hidden = len(result.changes) - len(shown)
        if hidden:
            console.print(f"[dim]{hidden} metrics of unknown direction not shown (--all shows them)[/]")
        for m in result.missing:
            colour = "yellow" if result.allow_missing else "bold red"
            console.print(f"[{colour}]missing:[/] {escape(m.key)}: {escape(m.why)}", soft_wrap=True)
        for label, keys in (("only in the old report", result.only_old), ("only in the new report", result.only_new)):
            if keys:
                console.print(f"[yellow]not compared, {label}:[/] {escape(', '.join(keys))}", soft_wrap=True)
        n = len(result.changes)
        if result.passed:
            allowed = f"; {len(result.missing)} missing allowed by --allow-missing" if result.missing else ""
            console.print(
                f"[bold green]gate passed[/]: {n} metrics compared, no regression past its limit{allowed}",
                soft_wrap=True,
            )
        else:
            problems = []
            if result.regressions:
                keys = ", ".join(c.key for c in result.regressions)
                problems.append(f"{len(result.regressions)} of {n} metrics regressed: {escape(keys)}")
            if result.missing:
                keys = ", ".join(m.key for m in result.missing)
                problems.append(
                    f"{len(result.missing)} gated probes or metrics missing from the new report: "
                    f"{escape(keys)} (--allow-missing to accept)"
                )
            console.print(f"[bold red]gate failed[/]: {'; '.join(problems)}", soft_wrap=True)
    if not result.passed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
