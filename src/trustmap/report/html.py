"""The HTML report: one self-contained, offline file (inline CSS, inline SVG plots, no JavaScript).

Sections: a header (model, data, budget, seed), a small table of contents, the scorecard (one card per
dimension: grade, score, evidence), weaknesses with the defence and command that mend each, one
``<section id="probe-{id}" class="probe">`` per probe (status, metrics, tables, plots) and the run
metadata (versions, hashes, per-probe timings, creation time).

Plots come from :mod:`trustmap.report._plots` (inline SVG, byte-stable). Every piece of text from the
report is escaped.

>>> Path("report.html").write_text(render_html(report))
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from trustmap.report._format import (
    fmt_seconds,
    fmt_value,
    grade_letter,
    grades_by_dimension,
    headline,
    model_access,
    short_hash,
)
from trustmap.report._plots import plot_svg
from trustmap.results import Curve, Grade, ProbeResult, TrustReport, Weakness

_MAX_DATA_ROWS = 60  # curves longer than this get no data table (the JSON has every point)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: TrustReport) -> str:
    """The whole report as one HTML document (a string); deterministic for a given report."""
    title = _page_title(report)
    body = "\n".join(
        [
            _header(report, title),
            '<div class="layout">',
            _toc(report),
            '<main id="content">',
            _scorecard(report),
            _weaknesses(report),
            _probes(report),
            _metadata(report),
            "</main>",
            "</div>",
            _footer(report),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f'<meta name="generator" content="trustmap {_e(report.versions.get("trustmap", ""))}">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_css()}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#content">Skip to the report</a>\n'
        f"{body}\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------------------------------
# page parts


def _page_title(report: TrustReport) -> str:
    arch = report.model.get("arch") or report.model.get("name") or "model"
    data = report.data.get("name") or "data"
    return f"Trust report: {arch} on {data}"


def _header(report: TrustReport, title: str) -> str:
    m, d = dict(report.model), dict(report.data)
    access = model_access(m)
    model_rows = [
        ("Path", _e(_pop(m, "path", "source") or "–")),
        ("SHA-256", _hash(_pop(m, "sha256"))),
        ("Architecture", _e(_pop(m, "arch") or "–")),
        ("Access", f'<span class="access access-{_slug(access)}">{_e(access)}</span>'),
    ]
    m.pop("white_box", None), m.pop("access", None)
    model_rows += _generic_rows(m)
    data_rows = [
        ("Name", _e(_pop(d, "name") or "–")),
        ("SHA-256", _hash(_pop(d, "sha256"))),
    ]
    sizes = _sizes(d)
    if sizes:
        data_rows.append(("Sizes", sizes))
    data_rows += _generic_rows(d)
    n_weak = len(report.weaknesses)
    verdict = f"{n_weak} weakness{'es' if n_weak != 1 else ''} found" if n_weak else "no weakness crossed a threshold"
    ran = sum(p.status == "ok" for p in report.probes)
    run_rows = [
        ("Budget", f"<strong>{_e(report.budget)}</strong>"),
        ("Seed", _e(report.seed)),
        ("Probes", f"{ran} ran of {len(report.probes)}"),
        ("Created", _e(report.created_at or "–")),
    ]
    return f"""<header class="top">
<div class="wrap">
<p class="brand"><span class="logo" aria-hidden="true">◆</span> trustmap · trust report</p>
<h1>{_e(title)}</h1>
<p class="verdict">{_e(verdict)} · budget <strong>{_e(report.budget)}</strong> · seed {_e(report.seed)}</p>
<div class="facts">
{_fact_card("Model", model_rows)}
{_fact_card("Data", data_rows)}
{_fact_card("Run", run_rows)}
</div>
</div>
</header>"""


def _fact_card(name: str, rows: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<section class="fact" aria-label="{_e(name)}"><h2>{_e(name)}</h2><dl>{items}</dl></section>'


def _toc(report: TrustReport) -> str:
    items = []
    for p in report.probes:
        status = "" if p.status == "ok" else f' <span class="toc-status">{_e(p.status)}</span>'
        items.append(
            f'<li class="toc-{_slug(p.status)}"><a href="#probe-{_e(p.probe)}">'
            f'<span class="dot dim-{_slug(p.dimension)}" aria-hidden="true"></span>{_e(p.title)}</a>'
            f"{status}</li>"
        )
    n_weak = len(report.weaknesses)
    return f"""<nav class="toc" aria-label="Contents">
<h2>Contents</h2>
<ol>
<li><a href="#scorecard">Scorecard</a></li>
<li><a href="#weaknesses">Weaknesses and defences</a> <span class="count">{n_weak}</span></li>
<li><a href="#probes">Probes</a> <span class="count">{len(report.probes)}</span>
<ol class="toc-probes">{"".join(items)}</ol></li>
<li><a href="#metadata">Run metadata</a></li>
</ol>
</nav>"""


def _scorecard(report: TrustReport) -> str:
    cards = [
        _grade_card(g, [p for p in report.probes if p.dimension == g.dimension]) for g in grades_by_dimension(report)
    ]
    return f"""<section id="scorecard" aria-labelledby="h-scorecard">
<h2 id="h-scorecard">Scorecard</h2>
<p class="lede">One grade per dimension, from A (best) to F, with the evidence behind it.</p>
<div class="cards">
{"".join(cards)}
</div>
</section>"""


def _grade_card(g: Grade, probes: list[ProbeResult]) -> str:
    letter = grade_letter(g.grade)
    if g.score is not None and math.isfinite(g.score):
        pct = max(0.0, min(1.0, g.score)) * 100
        score = (
            f'<div class="score"><span>score <strong>{_e(fmt_value(float(g.score)))}</strong></span>'
            f'<div class="meter" role="presentation"><span class="fill grade-bg-{letter}" '
            f'style="width:{pct:.1f}%"></span></div></div>'
        )
    else:
        score = '<div class="score"><span>score <strong>–</strong></span></div>'
    evidence = "".join(f"<li>{_e(line)}</li>" for line in g.evidence) or "<li>no evidence recorded</li>"
    links = ", ".join(
        f'<a href="#probe-{_e(p.probe)}">{_e(p.probe)}</a>' + ("" if p.status == "ok" else f" ({_e(p.status)})")
        for p in probes
    )
    probes_line = f'<p class="probes-of">Probes: {links}</p>' if links else ""
    label = f"{g.dimension}: grade {g.grade}" + (f", score {fmt_value(g.score)}" if g.score is not None else "")
    grade = f'<span class="grade-letter grade-bg-{letter}">{_e(g.grade)}</span>'
    return f"""<article class="grade-card grade-{letter}" data-dimension="{_e(g.dimension)}" aria-label="{_e(label)}">
<div class="grade-top"><h3>{_e(g.dimension.capitalize())}</h3>{grade}</div>
{score}
<ul class="evidence">{evidence}</ul>
{probes_line}
</article>"""


def _weaknesses(report: TrustReport) -> str:
    if report.weaknesses:
        body = '<ol class="weaknesses">' + "".join(_weakness(w) for w in report.weaknesses) + "</ol>"
    else:
        body = '<p class="empty">No weakness crossed a threshold; nothing to mend.</p>'
    return f"""<section id="weaknesses" aria-labelledby="h-weaknesses">
<h2 id="h-weaknesses">Weaknesses → defences</h2>
<p class="lede">Each finding that crossed a threshold, the trustmap defence that addresses it,
and the command that applies it.</p>
{body}
</section>"""


def _weakness(w: Weakness) -> str:
    return f"""<li class="weakness">
<div class="w-head"><span class="tag dim-{_slug(w.dimension)}">{_e(w.dimension)}</span>
<a class="w-probe" href="#probe-{_e(w.probe)}">{_e(w.probe)}</a></div>
<p class="finding">{_e(w.finding)}</p>
<p class="defence">Defence: <strong>{_e(w.defence)}</strong></p>
<pre class="command"><code>{_e(w.command)}</code></pre>
</li>"""


def _probes(report: TrustReport) -> str:
    sections = [_probe(p, report.timings.get(p.probe)) for p in report.probes]
    return f"""<section id="probes" aria-labelledby="h-probes">
<h2 id="h-probes">Probes</h2>
{"".join(sections) or '<p class="empty">No probe ran.</p>'}
</section>"""


def _probe(p: ProbeResult, seconds: float | None) -> str:
    pid = _e(p.probe)
    status = _slug(p.status)
    secs = f'<span class="secs">{_e(fmt_seconds(seconds))}</span>' if seconds is not None else ""
    parts = [
        f"""<section id="probe-{pid}" class="probe probe-{status}" aria-labelledby="h-probe-{pid}">
<header class="probe-head">
<h3 id="h-probe-{pid}">{_e(p.title)}</h3>
<div class="probe-tags"><span class="tag dim-{_slug(p.dimension)}">{_e(p.dimension)}</span>
<code class="pid">{pid}</code><span class="status status-{status}">{_e(p.status)}</span>{secs}</div>
</header>"""
    ]
    if p.status != "ok":
        verb = {"skipped": "Skipped", "failed": "Failed"}.get(p.status, p.status.capitalize())
        parts.append(f'<p class="reason"><strong>{_e(verb)}:</strong> {_e(p.reason or "no reason given")}</p>')
    elif p.reason:
        parts.append(f'<p class="note">{_e(p.reason)}</p>')
    side = []
    if p.metrics:
        hl = headline(p)
        rows = "".join(
            f'<tr{" class=headline" if hl and k == hl[0] else ""}><th scope="row">{_e(_label(k))}</th>'
            f"<td>{_e(fmt_value(v))}</td></tr>"
            for k, v in p.metrics.items()
        )
        side.append(f'<table class="kv metrics"><caption>Metrics</caption><tbody>{rows}</tbody></table>')
    wide = []  # tables too wide for the side column go full width, below the plots
    for name, table in p.tables.items():
        (wide if _table_chars(table) > _SIDE_CHARS else side).append(
            _data_table(table, caption=_label(name), cls="data")
        )
    figures = _figures(p)
    if side or figures:
        body = f'<div class="probe-side">{"".join(side)}</div>' if side else ""
        body += f'<div class="figures">{"".join(figures)}</div>' if figures else ""
        parts.append(f'<div class="probe-body{" with-figures" if side and figures else ""}">{body}</div>')
    parts += wide
    if p.options:
        rows = "".join(
            f'<tr><th scope="row">{_e(k)}</th><td>{_e(fmt_value(v))}</td></tr>' for k, v in sorted(p.options.items())
        )
        parts.append(
            f'<details class="options"><summary>Options</summary>'
            f'<table class="kv"><tbody>{rows}</tbody></table></details>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _metadata(report: TrustReport) -> str:
    versions = (
        "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in sorted(report.versions.items()))
        or "<tr><td>not recorded</td></tr>"
    )
    facts = [
        ("Schema version", _e(report.schema_version)),
        ("Seed", _e(report.seed)),
        ("Budget", _e(report.budget)),
        ("Model SHA-256", f"<code>{_e(report.model.get('sha256') or '–')}</code>"),
        *(
            (label, _e(report.model[key]))
            for key, label in (("defence", "Trained with"), ("epsilon", "Privacy ε"), ("delta", "Privacy δ"))
            if key in report.model
        ),
        ("Data SHA-256", f"<code>{_e(report.data.get('sha256') or '–')}</code>"),
        ("Created", _e(report.created_at or "–")),
    ]
    fact_rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{v}</td></tr>' for k, v in facts)
    timings = _timings(report)
    config = ""
    if report.config:
        text = json.dumps(report.config, indent=2, sort_keys=True, default=str)
        config = (
            f'<details class="config"><summary>Audit configuration</summary>'
            f"<pre><code>{_e(text)}</code></pre></details>"
        )
    return f"""<section id="metadata" aria-labelledby="h-metadata">
<h2 id="h-metadata">Run metadata</h2>
<div class="meta-grid">
<table class="kv"><caption>Run</caption><tbody>{fact_rows}</tbody></table>
<table class="kv"><caption>Library versions</caption><tbody>{versions}</tbody></table>
</div>
{timings}
{config}
</section>"""


def _timings(report: TrustReport) -> str:
    if not report.timings:
        return '<p class="empty">Probe timings were not recorded (a report read back from JSON has none).</p>'
    longest = max(report.timings.values()) or 1.0
    titles = {p.probe: p.title for p in report.probes}
    rows = []
    for pid, secs in report.timings.items():
        pct = 100 * max(secs, 0.0) / longest
        rows.append(
            f'<tr><th scope="row">{_e(titles.get(pid, pid))} <code>{_e(pid)}</code></th>'
            f'<td class="num">{_e(fmt_seconds(secs))}</td>'
            f'<td class="bar-cell"><span class="tbar" style="width:{pct:.1f}%"></span></td>'
            "</tr>"
        )
    total = sum(report.timings.values())
    return (
        f'<table class="timings"><caption>Time per probe</caption>'
        f'<thead><tr><th scope="col">Probe</th><th scope="col" class="num">Time</th><th scope="col">'
        f'<span class="sr-only">Share</span></th></tr></thead><tbody>{"".join(rows)}</tbody>'
        f'<tfoot><tr><th scope="row">Total</th><td class="num">{_e(fmt_seconds(total))}</td>'
        f"<td></td></tr></tfoot></table>"
    )


def _footer(report: TrustReport) -> str:
    version = report.versions.get("trustmap", "")
    return (
        f'<footer class="foot"><div class="wrap">Generated by trustmap {_e(version)} · report schema '
        f"{_e(report.schema_version)} · this file is self-contained and works offline.</div>"
        "</footer>"
    )


# ---------------------------------------------------------------------------------------------------
# small helpers


def _pop(d: dict[str, Any], *keys: str) -> Any:
    value = None
    for k in keys:
        v = d.pop(k, None)
        value = value if value is not None else v
    return value


def _hash(h: Any) -> str:
    if not h:
        return "–"
    return f'<code title="{_e(h)}">{_e(short_hash(h))}</code>'


_SIZE_KEYS = ("train", "test", "eval", "members", "nonmembers", "pool")


def _sizes(d: dict[str, Any]) -> str:
    sizes: dict[str, Any] = {}
    nested = d.pop("sizes", None)
    if isinstance(nested, dict):
        sizes.update(nested)
    for k in list(d):
        name = k[2:] if k.startswith("n_") else k
        if name in _SIZE_KEYS and isinstance(d[k], int) and not isinstance(d[k], bool):
            sizes[name] = d.pop(k)
    return " · ".join(f"{_e(k)} <strong>{_e(fmt_value(v))}</strong>" for k, v in sizes.items())


def _generic_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for k, v in d.items():
        if v is None or v == "" or v == [] or v == {}:
            continue
        if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
            shown = ", ".join(str(x) for x in v[:12]) + (f", … ({len(v)} in all)" if len(v) > 12 else "")
        else:
            shown = fmt_value(v)
        rows.append((_label(k).capitalize(), _e(shown)))
    return rows


def _label(name: str) -> str:
    return str(name).replace("_", " ")


def _slug(s: Any) -> str:
    return re.sub(r"[^a-z0-9-]", "", str(s).lower()) or "x"


def _data_table(rows: list[dict[str, Any]], *, caption: str, cls: str) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    # label columns (class, group, corruption, ...) first, whatever order the keys came in (JSON sorts them)
    text = {c for c in cols if any(isinstance(r.get(c), str) for r in rows)}
    cols = [c for c in cols if c in text] + [c for c in cols if c not in text]
    head = "".join(f'<th scope="col">{_e(_label(c))}</th>' for c in cols)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if _is_num(r.get(c)) else "txt"}">{_e(fmt_value(r.get(c)))}</td>' for c in cols)
        + "</tr>"
        for r in rows
    )
    return (
        f'<div class="table-wrap"><table class="{cls}"><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


_SIDE_CHARS = 42  # about what the side column shows without scrolling


def _table_chars(rows: list[dict[str, Any]]) -> int:
    """A rough width of a table in characters: per column, its longest header word or cell, plus padding."""
    cols: dict[str, int] = {}
    for r in rows:
        for k, v in r.items():
            word = max((len(w) for w in _label(k).split()), default=0)
            cols[k] = max(cols.get(k, 0), word, len(fmt_value(v)))
    return sum(cols.values()) + 3 * len(cols)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------------
# plots


def _figures(p: ProbeResult) -> list[str]:
    """One ``<figure>`` per group of curves: all ROC curves together, lines sharing an x axis together,
    bars sharing categories together (e.g. clean vs robust accuracy per class)."""
    out = []
    for i, (kind, curves) in enumerate(_group_curves(p.curves)):
        if not any(len(c.y) for c in curves):
            continue
        caption = _caption(kind, curves)
        svg = plot_svg(kind, curves, prefix=f"f-{_slug(f'{p.probe}-{i}')}-", title=caption)
        out.append(
            f'<figure class="plot-{kind}">{svg}<figcaption>{_e(caption)}</figcaption>{_curve_data(curves)}</figure>'
        )
    return out


def _group_curves(curves: Iterable[Curve]) -> list[tuple[str, list[Curve]]]:
    groups: dict[tuple[Any, ...], list[Curve]] = {}
    for c in curves:
        if c.kind == "roc":
            key: tuple[Any, ...] = ("roc",)
        elif c.kind == "bar":
            key = ("bar", c.x_label, tuple(c.labels) if c.labels else tuple(c.x))
        else:
            key = ("line", c.x_label)
        groups.setdefault(key, []).append(c)
    return [(key[0], cs) for key, cs in groups.items()]


def _caption(kind: str, curves: list[Curve]) -> str:
    if kind == "roc":
        names = ", ".join(re.sub(r"\s*ROC$", "", c.name) for c in curves)
        return f"ROC curve{'s' if len(curves) > 1 else ''} (log-log): {names}"
    names = ", ".join(c.name for c in curves)
    if any(w in names for w in (" vs ", " by ", " per ")):
        return names  # the name already says what is plotted against what
    return f"{names} {'by' if kind == 'bar' else 'vs'} {curves[0].x_label}"


def _curve_data(curves: list[Curve]) -> str:
    """The plotted numbers as a collapsed table (for screen readers and for copying)."""
    if any(len(c.x) > _MAX_DATA_ROWS for c in curves):
        n = sum(len(c.x) for c in curves)
        return f'<p class="data-note">{n:,} points plotted; every point is in report.json.</p>'
    first = curves[0]
    shared = all(list(c.x) == list(first.x) for c in curves)
    if shared:
        xs = first.labels if first.kind == "bar" and first.labels and len(first.labels) == len(first.x) else first.x
        rows = [
            {first.x_label: x, **{c.name: (c.y[i] if i < len(c.y) else None) for c in curves}} for i, x in enumerate(xs)
        ]
        table = _data_table(rows, caption="Plotted values", cls="data compact")
    else:
        table = "".join(
            _data_table([{c.x_label: x, c.y_label: y} for x, y in zip(c.x, c.y)], caption=c.name, cls="data compact")
            for c in curves
        )
    return f'<details class="plot-data"><summary>Data</summary>{table}</details>'


# ---------------------------------------------------------------------------------------------------
# style


@functools.cache
def _css() -> str:
    """The stylesheet (``report.css`` beside this module), inlined into every report."""
    return importlib.resources.files("trustmap.report").joinpath("report.css").read_text(encoding="utf-8")
