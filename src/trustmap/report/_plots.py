"""Plots for the HTML report: matplotlib's object API (no pyplot, so no GUI backend and no global figure
state) drawing SVG with text kept as text, a fixed hash salt and no date, so the same report renders to
the same bytes.

>>> roc = Curve(name="LiRA ROC", x=fpr, y=tpr, x_label="FPR", y_label="TPR", kind="roc")
>>> svg = plot_svg("roc", [roc], prefix="f-mia-0-", title="ROC")
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from trustmap.report._format import fmt_value
from trustmap.results import Curve

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")


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
        ax.plot(
            x,
            y,
            marker="o" if len(x) <= 40 else None,
            markersize=4,
            linewidth=1.8,
            color=PALETTE[i % len(PALETTE)],
            label=_mt(c.name),
        )
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


def plot_svg(kind: str, curves: list[Curve], *, prefix: str, title: str) -> str:
    """One chart as inline SVG: ``kind`` is ``"roc"`` (log-log, with the chance line), ``"bar"`` (grouped
    bars over shared categories) or anything else (lines over a shared x axis). Element ids get ``prefix``
    so that several charts can share one page."""
    draw = {"roc": _draw_roc, "bar": _draw_bar}.get(kind, _draw_line)
    return _svg(lambda ax, fig: draw(ax, fig, curves), prefix=prefix, title=title)


def _svg(draw: Callable[[Any, Any], None], *, prefix: str, title: str) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"trustmap-{prefix}"}):
        fig = Figure(figsize=(5.0, 3.2), layout="constrained")
        ax = fig.add_subplot()
        draw(ax, fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _inline_svg(buf.getvalue(), prefix=prefix, title=title)


def _inline_svg(svg: str, *, prefix: str, title: str) -> str:
    """Make matplotlib's SVG fit inline: no XML prolog, metadata or namespaces, unique ids, a title."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = re.sub(r'\s(?:width|height|xmlns(?::xlink)?|version)="[^"]*"', "", head)
    head = head.replace(
        "<svg",
        f'<svg class="chart" role="img" aria-label="{html.escape(title, quote=True)}" '
        'preserveAspectRatio="xMidYMid meet"',
        1,
    )
    svg = head + f"<title>{html.escape(title, quote=True)}</title>" + svg[head_end:]
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else m.group(0), svg)
    svg = re.sub(
        r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"' if m.group(1) in ids else m.group(0), svg
    )
    return svg.strip()
