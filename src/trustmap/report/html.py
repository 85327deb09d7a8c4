"""The HTML report: one self-contained, offline file (inline CSS, inline SVG plots, no JavaScript).

Sections: a header (model, data, budget, seed), a small table of contents, the scorecard (one card per
dimension: grade, score, evidence), weaknesses with the defence and command that mend each, one
``<section id="probe-{id}" class="probe">`` per probe (status, metrics, tables, plots) and the run
metadata (versions, hashes, per-probe timings, creation time).

Plots are drawn with matplotlib's object API (no pyplot, so no GUI backend and no global figure state)
as SVG with text kept as text, a fixed hash salt and no date, so the same report renders to the same
bytes. Every piece of text from the report is escaped.

>>> Path("report.html").write_text(render_html(report))
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from trustmap.audit.model import Grade, TrustReport, Weakness
from trustmap.probes.base import Curve, ProbeResult
from trustmap.report._format import (
    fmt_seconds,
    fmt_value,
    grade_letter,
    grades_by_dimension,
    headline,
    model_access,
    short_hash,
)

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
_MAX_DATA_ROWS = 60  # curves longer than this get no data table (the JSON has every point)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: TrustReport) -> str:
    """The whole report as one HTML document (a string); deterministic for a given report."""
    title = _page_title(report)
    body = "\n".join([
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
    ])  # fmt: skip
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f'<meta name="generator" content="trustmap {_e(report.versions.get("trustmap", ""))}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
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
    verdict = (f"{n_weak} weakness{'es' if n_weak != 1 else ''} found"
               if n_weak else "no weakness crossed a threshold")  # fmt: skip
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
        items.append(f'<li class="toc-{_slug(p.status)}"><a href="#probe-{_e(p.probe)}">'
                     f'<span class="dot dim-{_slug(p.dimension)}" aria-hidden="true"></span>{_e(p.title)}</a>'
                     f"{status}</li>")  # fmt: skip
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
    cards = [_grade_card(g, [p for p in report.probes if p.dimension == g.dimension])
             for g in grades_by_dimension(report)]  # fmt: skip
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
        score = (f'<div class="score"><span>score <strong>{_e(fmt_value(float(g.score)))}</strong></span>'
                 f'<div class="meter" role="presentation"><span class="fill grade-bg-{letter}" '
                 f'style="width:{pct:.1f}%"></span></div></div>')  # fmt: skip
    else:
        score = '<div class="score"><span>score <strong>–</strong></span></div>'
    evidence = "".join(f"<li>{_e(line)}</li>" for line in g.evidence) or "<li>no evidence recorded</li>"
    links = ", ".join(f'<a href="#probe-{_e(p.probe)}">{_e(p.probe)}</a>'
                      + ("" if p.status == "ok" else f" ({_e(p.status)})") for p in probes)  # fmt: skip
    probes_line = f'<p class="probes-of">Probes: {links}</p>' if links else ""
    label = f"{g.dimension}: grade {g.grade}" + (f", score {fmt_value(g.score)}" if g.score is not None else "")
    return f"""<article class="grade-card grade-{letter}" data-dimension="{_e(g.dimension)}" aria-label="{_e(label)}">
<div class="grade-top"><h3>{_e(g.dimension.capitalize())}</h3><span class="grade-letter grade-bg-{letter}">{_e(g.grade)}</span></div>
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
<p class="lede">Each finding that crossed a threshold, the trustmap defence that addresses it, and the command that applies it.</p>
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
    parts = [f"""<section id="probe-{pid}" class="probe probe-{status}" aria-labelledby="h-probe-{pid}">
<header class="probe-head">
<h3 id="h-probe-{pid}">{_e(p.title)}</h3>
<div class="probe-tags"><span class="tag dim-{_slug(p.dimension)}">{_e(p.dimension)}</span>
<code class="pid">{pid}</code><span class="status status-{status}">{_e(p.status)}</span>{secs}</div>
</header>"""]
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
    for name, table in p.tables.items():
        side.append(_data_table(table, caption=_label(name), cls="data"))
    figures = _figures(p)
    if side or figures:
        body = f'<div class="probe-side">{"".join(side)}</div>' if side else ""
        body += f'<div class="figures">{"".join(figures)}</div>' if figures else ""
        parts.append(f'<div class="probe-body{" with-figures" if side and figures else ""}">{body}</div>')
    if p.options:
        rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(fmt_value(v))}</td></tr>'
                       for k, v in sorted(p.options.items()))  # fmt: skip
        parts.append(f'<details class="options"><summary>Options</summary>'
                     f'<table class="kv"><tbody>{rows}</tbody></table></details>')  # fmt: skip
    parts.append("</section>")
    return "\n".join(parts)


def _metadata(report: TrustReport) -> str:
    versions = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>'
                       for k, v in sorted(report.versions.items()))  # fmt: skip
    facts = [
        ("Schema version", _e(report.schema_version)),
        ("Seed", _e(report.seed)),
        ("Budget", _e(report.budget)),
        ("Model SHA-256", f"<code>{_e(report.model.get('sha256') or '–')}</code>"),
        ("Data SHA-256", f"<code>{_e(report.data.get('sha256') or '–')}</code>"),
        ("Created", _e(report.created_at or "–")),
    ]
    fact_rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{v}</td></tr>' for k, v in facts)
    timings = _timings(report)
    config = ""
    if report.config:
        text = json.dumps(report.config, indent=2, sort_keys=True, default=str)
        config = (f'<details class="config"><summary>Audit configuration</summary>'
                  f"<pre><code>{_e(text)}</code></pre></details>")  # fmt: skip
    return f"""<section id="metadata" aria-labelledby="h-metadata">
<h2 id="h-metadata">Run metadata</h2>
<div class="meta-grid">
<table class="kv"><caption>Run</caption><tbody>{fact_rows}</tbody></table>
<table class="kv"><caption>Library versions</caption><tbody>{versions or '<tr><td>not recorded</td></tr>'}</tbody></table>
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
        rows.append(f'<tr><th scope="row">{_e(titles.get(pid, pid))} <code>{_e(pid)}</code></th>'
                    f'<td class="num">{_e(fmt_seconds(secs))}</td>'
                    f'<td class="bar-cell"><span class="tbar" style="width:{pct:.1f}%"></span></td></tr>')  # fmt: skip
    total = sum(report.timings.values())
    return (f'<table class="timings"><caption>Time per probe</caption>'
            f'<thead><tr><th scope="col">Probe</th><th scope="col" class="num">Time</th><th scope="col">'
            f'<span class="sr-only">Share</span></th></tr></thead><tbody>{"".join(rows)}</tbody>'
            f'<tfoot><tr><th scope="row">Total</th><td class="num">{_e(fmt_seconds(total))}</td><td></td></tr>'
            f"</tfoot></table>")  # fmt: skip


def _footer(report: TrustReport) -> str:
    version = report.versions.get("trustmap", "")
    return (f'<footer class="foot"><div class="wrap">Generated by trustmap {_e(version)} · report schema '
            f"{_e(report.schema_version)} · this file is self-contained and works offline.</div></footer>")  # fmt: skip


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
    for k in _SIZE_KEYS:
        if isinstance(d.get(k), int) and not isinstance(d.get(k), bool):
            sizes[k] = d.pop(k)
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
    head = "".join(f'<th scope="col">{_e(_label(c))}</th>' for c in cols)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if _is_num(r.get(c)) else "txt"}">{_e(fmt_value(r.get(c)))}</td>'
                         for c in cols) + "</tr>"
        for r in rows
    )  # fmt: skip
    return (f'<div class="table-wrap"><table class="{cls}"><caption>{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")  # fmt: skip


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
        draw = {"roc": _draw_roc, "bar": _draw_bar}.get(kind, _draw_line)
        svg = _svg(lambda ax, fig, cs=curves, d=draw: d(ax, fig, cs), prefix=f"{p.probe}-{i}", title=caption)
        out.append(f'<figure class="plot-{kind}">{svg}<figcaption>{_e(caption)}</figcaption>'
                   f"{_curve_data(curves)}</figure>")  # fmt: skip
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
    names = ", ".join(c.name for c in curves)
    if kind == "roc":
        return f"ROC curve{'s' if len(curves) > 1 else ''} (log-log): {names}"
    if kind == "bar":
        return f"{names} by {curves[0].x_label}"
    return f"{names} vs {curves[0].x_label}"


def _curve_data(curves: list[Curve]) -> str:
    """The plotted numbers as a collapsed table (for screen readers and for copying)."""
    if any(len(c.x) > _MAX_DATA_ROWS for c in curves):
        n = sum(len(c.x) for c in curves)
        return f'<p class="data-note">{n:,} points plotted; every point is in report.json.</p>'
    first = curves[0]
    shared = all(list(c.x) == list(first.x) for c in curves)
    if shared:
        xs = first.labels if first.kind == "bar" and first.labels and len(first.labels) == len(first.x) else first.x
        rows = [{first.x_label: x, **{c.name: (c.y[i] if i < len(c.y) else None) for c in curves}}
                for i, x in enumerate(xs)]  # fmt: skip
        table = _data_table(rows, caption="Plotted values", cls="data compact")
    else:
        table = "".join(_data_table([{c.x_label: x, c.y_label: y} for x, y in zip(c.x, c.y)],
                                    caption=c.name, cls="data compact") for c in curves)  # fmt: skip
    return f'<details class="plot-data"><summary>Data</summary>{table}</details>'


def _mt(s: Any) -> str:
    """Text for matplotlib with ``$`` escaped, so report text is never parsed as mathtext."""
    return str(s).replace("$", r"\$")


def _finite(xs: Iterable[float], ys: Iterable[float], *, positive: bool = False) -> tuple[list[float], list[float]]:
    px, py = [], []
    for x, y in zip(xs, ys):
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        if positive and (x <= 0 or y <= 0):
            continue
        px.append(float(x)), py.append(float(y))
    return px, py


def _unit_interval(curves: list[Curve]) -> bool:
    ys = [y for c in curves for y in c.y if y is not None and math.isfinite(y)]
    return bool(ys) and min(ys) >= 0 and max(ys) <= 1


def _common_label(labels: Iterable[str]) -> str:
    unique = list(dict.fromkeys(labels))
    return unique[0] if len(unique) == 1 else " / ".join(unique)


def _legend(fig: Any, ax: Any, n: int) -> None:
    if n > 1:
        fig.legend(loc="outside upper center", ncols=min(n, 4))


def _draw_line(ax: Any, fig: Any, curves: list[Curve]) -> None:
    xs_all = [x for c in curves for x in c.x if x is not None and math.isfinite(x)]
    log_x = bool(xs_all) and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 50
    for i, c in enumerate(curves):
        x, y = _finite(c.x, c.y)
        ax.plot(x, y, marker="o" if len(x) <= 40 else None, markersize=4, linewidth=1.8,
                color=PALETTE[i % len(PALETTE)], label=_mt(c.name))  # fmt: skip
    if log_x:
        ax.set_xscale("log")
    if _unit_interval(curves):
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(_mt(curves[0].x_label))
    ax.set_ylabel(_mt(_common_label(c.y_label for c in curves)))
    _legend(fig, ax, len(curves))


def _draw_roc(ax: Any, fig: Any, curves: list[Curve]) -> None:
    pos = [_finite(c.x, c.y, positive=True) for c in curves]
    lows = [v for x, y in pos for v in (*x, *y)]
    lo = max(min(lows), 1e-6) if lows else 1e-3
    lo = 10 ** math.floor(math.log10(lo))
    for i, (c, (x, y)) in enumerate(zip(curves, pos)):
        ax.plot(x, y, linewidth=1.8, color=PALETTE[i % len(PALETTE)], label=_mt(c.name))
    ax.plot([lo, 1], [lo, 1], linestyle="--", linewidth=1, color="#8a939c", label="chance")
    ax.set_xscale("log"), ax.set_yscale("log")
    ax.set_xlim(lo, 1), ax.set_ylim(lo, 1.05)
    ax.set_xlabel(_mt(curves[0].x_label))
    ax.set_ylabel(_mt(_common_label(c.y_label for c in curves)))
    _legend(fig, ax, len(curves) + 1)


def _draw_bar(ax: Any, fig: Any, curves: list[Curve]) -> None:
    first = curves[0]
    n_cat = max(len(c.y) for c in curves)
    labels = first.labels if first.labels and len(first.labels) >= n_cat else [fmt_value(x) for x in first.x]
    width = 0.8 / len(curves)
    for i, c in enumerate(curves):
        pos = [j - 0.4 + width * (i + 0.5) for j in range(len(c.y))]
        ys = [y if y is not None and math.isfinite(y) else 0.0 for y in c.y]
        ax.bar(pos, ys, width=width * 0.92, color=PALETTE[i % len(PALETTE)], label=_mt(c.name))
    ax.set_xticks(range(n_cat), [_mt(s) for s in list(labels)[:n_cat]])
    if n_cat > 6 or max((len(str(s)) for s in labels), default=0) > 8:
        ax.tick_params(axis="x", labelrotation=40)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right"), t.set_rotation_mode("anchor")
    ax.grid(axis="x", visible=False)
    if _unit_interval(curves):
        ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.6, n_cat - 0.4)
    ax.set_xlabel(_mt(first.x_label))
    ax.set_ylabel(_mt(_common_label(c.y_label for c in curves)))
    _legend(fig, ax, len(curves))


_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: small, selectable, crisp
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.edgecolor": "#9aa3ad",
    "axes.labelcolor": "#2b3137",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e6e9ed",
    "grid.linewidth": 0.7,
    "xtick.color": "#4a525a",
    "ytick.color": "#4a525a",
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "figure.facecolor": "white",
}


def _svg(draw: Callable[[Any, Any], None], *, prefix: str, title: str) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"trustmap-{prefix}"}):
        fig = Figure(figsize=(5.0, 3.2), layout="constrained")
        ax = fig.add_subplot()
        draw(ax, fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _inline_svg(buf.getvalue(), prefix=f"f-{_slug(prefix)}-", title=title)


def _inline_svg(svg: str, *, prefix: str, title: str) -> str:
    """Make matplotlib's SVG fit inline: no XML prolog, metadata or namespaces, unique ids, a title."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = re.sub(r'\s(?:width|height|xmlns(?::xlink)?|version)="[^"]*"', "", head)
    head = head.replace("<svg", f'<svg class="chart" role="img" aria-label="{_e(title)}" '
                                'preserveAspectRatio="xMidYMid meet"', 1)  # fmt: skip
    svg = head + f"<title>{_e(title)}</title>" + svg[head_end:]
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else m.group(0), svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"' if m.group(1) in ids else m.group(0),
                 svg)  # fmt: skip
    return svg.strip()


# ---------------------------------------------------------------------------------------------------
# style

_CSS = """
:root{
  --ink:#1f2428;--muted:#5b6570;--line:#dde2e7;--bg:#f5f7f9;--card:#fff;--accent:#0b5cad;
  --privacy:#7c3aed;--security:#b45309;--fairness:#0e7490;--robustness:#1d4ed8;
  --A:#1b7f3b;--B:#4d7c0f;--C:#a16207;--D:#c2410c;--E:#b42318;--F:#b91c1c;--na:#6b7280;
}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
  font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","DejaVu Sans",Arial,sans-serif}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.88em}
a{color:var(--accent)}
a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
h1,h2,h3,h4{line-height:1.25;margin:0}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em 1em}
.skip:focus{left:8px;z-index:10}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.wrap{max-width:1240px;margin:0 auto;padding:0 24px}
.top{background:linear-gradient(135deg,#0f2942,#16426b);color:#fff;padding:22px 0 26px}
.brand{margin:0 0 6px;font-size:.82rem;letter-spacing:.08em;text-transform:uppercase;opacity:.8}
.logo{color:#7dd3fc}
.top h1{font-size:1.75rem;font-weight:650}
.verdict{margin:.35em 0 1.1em;opacity:.92}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:14px}
.fact{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.16);border-radius:10px;padding:12px 14px}
.fact h2{font-size:.78rem;text-transform:uppercase;letter-spacing:.08em;opacity:.75;margin-bottom:6px}
.fact dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 12px;margin:0;font-size:.9rem}
.fact dt{opacity:.72}
.fact dd{margin:0;overflow-wrap:anywhere}
.fact code{background:rgba(255,255,255,.12);padding:0 .3em;border-radius:4px}
.access{display:inline-block;padding:0 .5em;border-radius:99px;font-size:.85em;font-weight:600}
.access-white-box{background:#dcfce7;color:#14532d}
.access-black-box{background:#e5e7eb;color:#111827}
.access-unknown{background:#fef3c7;color:#78350f}
.layout{max-width:1240px;margin:0 auto;padding:24px;display:grid;grid-template-columns:220px minmax(0,1fr);gap:28px;align-items:start}
.toc{position:sticky;top:16px;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;font-size:.9rem}
.toc h2{font-size:.78rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin-bottom:6px}
.toc ol{list-style:none;margin:0;padding:0}
.toc li{margin:.3em 0}
.toc a{text-decoration:none;color:var(--ink)}
.toc a:hover{color:var(--accent);text-decoration:underline}
.toc-probes{margin-top:.2em!important;padding-left:.6em!important;border-left:2px solid var(--line)}
.toc-probes li{font-size:.86rem}
.toc-skipped a,.toc-failed a{color:var(--muted)}
.toc-status{font-size:.75rem;color:var(--muted)}
.count{display:inline-block;min-width:1.6em;text-align:center;font-size:.75rem;background:var(--bg);border:1px solid var(--line);border-radius:99px}
.dot{display:inline-block;width:.6em;height:.6em;border-radius:50%;margin-right:.45em;vertical-align:.05em;background:var(--muted)}
main > section{margin-bottom:34px}
main h2{font-size:1.35rem;margin-bottom:.2em}
.lede{color:var(--muted);margin:.1em 0 1em}
.empty{color:var(--muted);font-style:italic}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:14px}
.grade-card{background:var(--card);border:1px solid var(--line);border-top:5px solid var(--na);border-radius:10px;padding:14px 16px;display:flex;flex-direction:column;gap:8px}
.grade-card.grade-A{border-top-color:var(--A)}.grade-card.grade-B{border-top-color:var(--B)}
.grade-card.grade-C{border-top-color:var(--C)}.grade-card.grade-D{border-top-color:var(--D)}
.grade-card.grade-E{border-top-color:var(--E)}.grade-card.grade-F{border-top-color:var(--F)}
.grade-top{display:flex;justify-content:space-between;align-items:center}
.grade-top h3{font-size:1.1rem}
.grade-letter{display:inline-grid;place-items:center;min-width:2.4rem;height:2.4rem;padding:0 .4rem;border-radius:10px;color:#fff;font-size:1.45rem;font-weight:750}
.grade-bg-A{background:var(--A)}.grade-bg-B{background:var(--B)}.grade-bg-C{background:var(--C)}
.grade-bg-D{background:var(--D)}.grade-bg-E{background:var(--E)}.grade-bg-F{background:var(--F)}.grade-bg-na{background:var(--na);font-size:1rem}
.score{font-size:.9rem;color:var(--muted)}
.score strong{color:var(--ink)}
.meter{height:6px;background:#edf0f3;border-radius:99px;overflow:hidden;margin-top:4px}
.meter .fill{display:block;height:100%;border-radius:99px}
.evidence{margin:0;padding-left:1.1em;font-size:.9rem}
.evidence li{margin:.15em 0}
.probes-of{margin:auto 0 0;font-size:.8rem;color:var(--muted)}
.tag{display:inline-block;padding:.05em .6em;border-radius:99px;font-size:.78rem;font-weight:600;color:#fff;background:var(--muted)}
.dim-privacy{background:var(--privacy)}.dim-security{background:var(--security)}
.dim-fairness{background:var(--fairness)}.dim-robustness{background:var(--robustness)}
.weaknesses{list-style:none;margin:0;padding:0;display:grid;gap:12px}
.weakness{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--F);border-radius:10px;padding:12px 16px}
.w-head{display:flex;gap:10px;align-items:center}
.w-probe{font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.85rem}
.finding{margin:.4em 0 .2em;font-weight:550}
.defence{margin:.2em 0;color:var(--muted)}
.defence strong{color:var(--ink)}
pre{margin:.4em 0 0;padding:10px 12px;background:#0f1720;color:#e6edf3;border-radius:8px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.probe{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;margin-bottom:16px}
.probe-head{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:baseline;justify-content:space-between;border-bottom:1px solid var(--line);padding-bottom:8px;margin-bottom:12px}
.probe-head h3{font-size:1.12rem}
.probe-tags{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.pid{color:var(--muted)}
.status{font-size:.75rem;font-weight:700;text-transform:uppercase;letter-spacing:.05em;padding:.1em .55em;border-radius:5px}
.status-ok{background:#dcfce7;color:#14532d}
.status-skipped{background:#f1f5f9;color:#475569;border:1px dashed #94a3b8}
.status-failed{background:#fee2e2;color:#7f1d1d}
.secs{font-size:.8rem;color:var(--muted)}
.probe.probe-skipped{background:#fbfcfd;border-style:dashed}
.reason{margin:.2em 0;padding:8px 12px;background:#f8fafc;border-left:4px solid #94a3b8;border-radius:6px}
.probe.probe-failed .reason{background:#fef2f2;border-left-color:var(--F)}
.note{color:var(--muted)}
table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;font-weight:650;padding:0 0 4px;font-size:.85rem;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--line);font-weight:650}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.txt{white-space:nowrap}
.kv th{font-weight:500;color:var(--muted);white-space:nowrap}
.kv td{font-variant-numeric:tabular-nums;font-weight:600}
.metrics{margin-bottom:12px;width:100%}
.probe-side table.data{width:100%}
.metrics tr.headline td,.metrics tr.headline th{background:#eff6ff;color:var(--ink)}
.probe-body{display:grid;gap:18px}
.probe-body.with-figures{grid-template-columns:minmax(280px,380px) minmax(0,1fr)}
.probe-side > :first-child{margin-top:0}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(330px,100%),1fr));gap:14px;align-content:start}
figure{margin:0;border:1px solid var(--line);border-radius:10px;padding:8px 10px 6px;background:#fff;break-inside:avoid}
svg.chart{display:block;width:100%;height:auto;max-height:360px}
figcaption{font-size:.85rem;color:var(--muted);margin-top:2px}
details summary{cursor:pointer;color:var(--accent);font-size:.85rem}
.plot-data table{margin-top:4px}
.data-note{font-size:.8rem;color:var(--muted);margin:.2em 0}
.table-wrap{overflow-x:auto;margin:10px 0}
table.data tbody tr:nth-child(even){background:#f8fafc}
table.compact{font-size:.8rem}
details.options{margin-top:8px}
.meta-grid{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:18px;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 18px}
.meta-grid td{overflow-wrap:anywhere}
.timings{margin-top:16px;background:var(--card);border:1px solid var(--line);border-radius:12px;width:100%}
.timings caption{padding:10px 12px 4px}
.bar-cell{width:45%}
.tbar{display:block;height:.7em;margin-top:.35em;background:#93c5fd;border-radius:3px;min-width:2px}
details.config{margin-top:12px}
.foot{color:var(--muted);font-size:.82rem;padding:18px 0 30px;border-top:1px solid var(--line)}
@media (max-width:900px){
  .layout{grid-template-columns:1fr}
  .toc{position:static}
  .probe-body.with-figures{grid-template-columns:1fr}
}
@media print{
  body{background:#fff;font-size:11pt}
  .top{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 10px}
  .fact{border-color:#999;background:#fff}
  .fact code{background:none}
  .layout{display:block;padding:0}
  .toc,.skip{display:none}
  .wrap{padding:0}
  .grade-card,.weakness,figure,.meta-grid,table{break-inside:avoid}
  .probe{border-color:#999}
  h2,h3,.probe-head{break-after:avoid}
  pre{background:#f3f4f6;color:#000;border:1px solid #999}
  a{color:inherit;text-decoration:none}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
