"""The comparative page of a sweep: models as rows, trust dimensions as columns, each cell linked to the
model's own report. One self-contained offline file, styled like ``report.html``; every string is escaped.

>>> Path("sweep/index.html").write_text(render_sweep_html(json.loads(Path("sweep/sweep.json").read_text())))
"""

from __future__ import annotations

import html
from typing import Any

from trustmap.report._format import fmt_seconds, grade_letter
from trustmap.report.html import _css
from trustmap.results import DIMENSIONS


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(row: dict[str, Any], dimension: str) -> str:
    g = row.get("grades", {}).get(dimension)
    if row.get("status") != "ok" or g is None:
        return '<td class="na">–</td>'
    letter = str(g.get("grade", "n/a"))
    score = g.get("score")
    text = letter if score is None else f"{letter} <small>{float(score):.2f}</small>"
    href = f"{row['report']}#scorecard"
    return (
        f'<td><a class="grade g-{grade_letter(letter)}" href="{_e(href)}" '
        f'title="{_e(row["name"])}: {_e(dimension)} {_e(letter)}">{text}</a></td>'
    )


def render_sweep_html(doc: dict[str, Any]) -> str:
    """The page for a ``sweep.json`` document (``models[]`` rows with ``name``, ``grades``, ``report``...)."""
    rows = doc.get("models", [])
    body = []
    for r in rows:
        name = (
            f'<a href="{_e(r["report"])}">{_e(r["name"])}</a>'
            if r.get("status") == "ok"
            else f'{_e(r["name"])} <span class="failed">failed: {_e(r.get("error") or "")}</span>'
        )
        cells = "".join(_cell(r, d) for d in DIMENSIONS)
        body.append(
            f'<tr><th scope="row">{name}<br><small><code>{_e(r["model"])}</code></small></th>{cells}'
            f"<td>{_e(r.get('weaknesses', 0))}</td><td>{_e(fmt_seconds(r.get('seconds')))}</td></tr>"
        )
    head = "".join(f'<th scope="col">{_e(d)}</th>' for d in DIMENSIONS)
    ok = sum(1 for r in rows if r.get("status") == "ok")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>trustmap sweep: {len(rows)} models on {_e(doc.get("data", ""))}</title>
<style>{_css()}
.sweep{{border-collapse:collapse;width:100%;background:var(--card)}}
.sweep th,.sweep td{{border:1px solid var(--line);padding:8px 10px;text-align:left;vertical-align:top}}
.sweep .grade{{display:inline-block;min-width:3.2em;padding:2px 8px;border-radius:6px;color:#fff;
  text-decoration:none;font-weight:650}}
.g-A{{background:var(--A)}}.g-B{{background:var(--B)}}.g-C{{background:var(--C)}}.g-D{{background:var(--D)}}
.g-E{{background:var(--E)}}.g-F{{background:var(--F)}}.g-na{{background:var(--na)}}
.failed{{color:var(--F)}} td.na{{color:var(--muted)}}
</style></head>
<body><header class="top"><div class="wrap"><p class="brand"><span class="logo">◆</span> trustmap sweep</p>
<h1>{len(rows)} models audited on {_e(doc.get("data", ""))}</h1>
<p class="verdict">{ok} of {len(rows)} audits finished · budget {_e(doc.get("budget", ""))} · seed
{_e(doc.get("seed", ""))} · {_e(doc.get("workers", ""))} Ray workers · {_e(fmt_seconds(doc.get("seconds")))}</p>
</div></header>
<main class="wrap"><table class="sweep"><caption class="sr-only">Trust grades per model and dimension</caption>
<thead><tr><th scope="col">model</th>{head}<th scope="col">weaknesses</th><th scope="col">time</th></tr></thead>
<tbody>{"".join(body)}</tbody></table></main></body></html>
"""
