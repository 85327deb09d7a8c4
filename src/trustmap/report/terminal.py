"""The terminal summary: the scorecard, one row per probe and the weaknesses, as Rich tables.

>>> from rich.console import Console
>>> render_terminal(report, Console())
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from trustmap.report._format import fmt_seconds, fmt_value, grade_letter, grades_by_dimension, headline
from trustmap.results import TrustReport

if TYPE_CHECKING:
    from rich.console import Console

_GRADE_STYLE = {
    "A": "bold green",
    "B": "bold green",
    "C": "bold yellow",
    "D": "bold dark_orange",
    "E": "bold red",
    "F": "bold red",
    "na": "dim",
}
_STATUS_STYLE = {"ok": "green", "skipped": "dim", "failed": "bold red"}


def render_terminal(report: TrustReport, console: "Console") -> None:
    """Print the scorecard, the probes and the weaknesses to ``console``."""
    model = report.model.get("arch") or report.model.get("path") or "model"
    data = report.data.get("name") or "data"
    scorecard = Table(
        title=f"Trust scorecard: {escape(str(model))} on {escape(str(data))} "
        f"(budget {escape(str(report.budget))}, seed {report.seed})",
        title_justify="left",
        expand=False,
    )
    scorecard.add_column("Dimension", style="bold")
    scorecard.add_column("Grade", justify="center")
    scorecard.add_column("Score", justify="right")
    scorecard.add_column("Key evidence", overflow="fold")
    for g in grades_by_dimension(report):
        style = _GRADE_STYLE[grade_letter(g.grade)]
        score = fmt_value(float(g.score)) if g.score is not None else "–"
        evidence = "\n".join(escape(line) for line in g.evidence[:2]) or "–"
        scorecard.add_row(g.dimension, f"[{style}]{escape(g.grade)}[/]", score, evidence)
    console.print(scorecard)

    probes = Table(title="Probes", title_justify="left")
    probes.add_column("Probe")
    probes.add_column("Dimension")
    probes.add_column("Status")
    probes.add_column("Headline", overflow="fold")
    probes.add_column("Time", justify="right")
    for p in report.probes:
        style = _STATUS_STYLE.get(p.status, "")
        if p.status != "ok":
            what = escape(p.reason or "")
        else:
            hl = headline(p)
            what = f"{escape(hl[0].replace('_', ' '))} = {fmt_value(hl[1])}" if hl else "–"
        status = f"[{style}]{escape(p.status)}[/]" if style else escape(p.status)
        probes.add_row(escape(p.probe), p.dimension, status, what, fmt_seconds(report.timings.get(p.probe)))
    console.print(probes)

    if report.weaknesses:
        weak = Table(title="Weaknesses → defences", title_justify="left")
        weak.add_column("Dimension")
        weak.add_column("Finding", overflow="fold")
        weak.add_column("Mend with", overflow="fold")
        for w in report.weaknesses:
            weak.add_row(w.dimension, escape(w.finding), f"[bold]{escape(w.defence)}[/]: [cyan]{escape(w.command)}[/]")
        console.print(weak)
    else:
        console.print("[green]No weakness crossed a threshold.[/]")
