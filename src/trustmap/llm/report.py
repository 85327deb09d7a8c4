"""Renderers for :class:`trustmap.llm.trust.TrustBench` results: terminal table, JSON and HTML.

Kept apart from the computation: each takes one or more benches and returns text (or a rich Table).

>>> print(to_json([bench])); console.print(to_table([bench])); Path("trust.html").write_text(to_html([bench]))
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from trustmap.llm.trust import TrustBench


def _tasks(benches: Sequence[TrustBench]) -> list[tuple[str, str, bool]]:
    seen: dict[str, tuple[str, str, bool]] = {}
    for b in benches:
        for s in b.scores:
            seen.setdefault(s.task, (s.task, s.metric, s.higher_is_better))
    return list(seen.values())


def to_rows(benches: Sequence[TrustBench]) -> list[dict[str, Any]]:
    """One flat row per generator: ``{"generator": id, task: value, ...}``."""
    return [{"generator": b.generator, **{s.task: round(s.value, 4) for s in b.scores}} for b in benches]


def to_json(benches: Sequence[TrustBench], *, indent: int = 2) -> str:
    return json.dumps([b.to_dict() for b in benches], indent=indent)


def to_table(benches: Sequence[TrustBench], *, title: str = "trust benchmark (synthetic prompts)") -> Any:
    """A rich Table: one row per generator, one column per task (arrow: which direction is better)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("generator")
    tasks = _tasks(benches)
    for task, metric, up in tasks:
        table.add_column(f"{task}\n{metric} {'↑' if up else '↓'}", justify="right")
    for b in benches:
        got = {s.task: s.value for s in b.scores}
        table.add_row(b.generator, *(f"{got[t]:.3f}" if t in got else "-" for t, _, _ in tasks))
    return table


def to_html(benches: Sequence[TrustBench], *, title: str = "trustmap trust benchmark") -> str:
    """A self-contained HTML page: the score table and a few (prompt, reply) examples per generator."""
    tasks = _tasks(benches)
    head = "".join(
        f"<th>{html.escape(t)}<br><small>{html.escape(m)} {'↑' if up else '↓'}</small></th>" for t, m, up in tasks
    )
    body = []
    for b in benches:
        got = {s.task: s.value for s in b.scores}
        cells = "".join(f"<td>{got[t]:.3f}</td>" if t in got else "<td>-</td>" for t, _, _ in tasks)
        body.append(f"<tr><th>{html.escape(b.generator)}</th>{cells}</tr>")
    examples = []
    for b in benches:
        items = "".join(
            f"<li><b>{html.escape(s.task)}</b>: {html.escape(p)} → <i>{html.escape(r)}</i></li>"
            for s in b.scores
            for p, r in s.examples[:1]
        )
        examples.append(f"<h3>{html.escape(b.generator)}</h3><ul>{items}</ul>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>All prompts are synthetic (generated from templates).</p>"
        f"<table border='1'><tr><th>generator</th>{head}</tr>{''.join(body)}</table>"
        f"<h2>Examples</h2>{''.join(examples)}</body></html>"
    )


__all__ = ["to_html", "to_json", "to_rows", "to_table"]
