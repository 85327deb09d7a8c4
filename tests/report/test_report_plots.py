"""The report's SVG charts: inline-ready, byte-stable, id-prefixed, escaped, and drawn per kind."""

from __future__ import annotations

import re

from trustmap.probes.base import Curve
from trustmap.report._plots import plot_svg

ROC = Curve("LiRA ROC", [0.001, 0.01, 0.1, 1.0], [0.01, 0.05, 0.3, 1.0], "FPR", "TPR", kind="roc")
LINE = Curve("accuracy", [0.0, 0.05, 0.1], [0.9, 0.6, 0.3], "epsilon", "accuracy")


def test_same_input_gives_the_same_bytes_and_prefix_changes_every_id():
    a = plot_svg("roc", [ROC], prefix="f-a-", title="ROC")
    assert a == plot_svg("roc", [ROC], prefix="f-a-", title="ROC")
    ids = re.findall(r'\bid="([^"]+)"', a)
    assert ids and all(i.startswith("f-a-") for i in ids)
    # every internal reference points at a prefixed id, so two charts on one page never collide
    refs = re.findall(r'(?:url\(#|href="#)([^)"]+)', a)
    assert refs and set(refs) <= set(ids)
    b = plot_svg("roc", [ROC], prefix="f-b-", title="ROC")
    assert not set(ids) & set(re.findall(r'\bid="([^"]+)"', b))


def test_svg_is_inline_ready_with_an_escaped_title():
    svg = plot_svg("line", [LINE], prefix="p-", title='<b>"x"</b>')
    assert svg.startswith('<svg class="chart" role="img" aria-label="&lt;b&gt;&quot;x&quot;&lt;/b&gt;"')
    assert "<title>&lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>" in svg
    assert "<?xml" not in svg and "<metadata" not in svg and "xmlns" not in svg.split(">", 1)[0]
    assert svg.endswith("</svg>")


def test_kinds_draw_differently_and_dollars_stay_text():
    roc, line = plot_svg("roc", [ROC], prefix="r-", title="t"), plot_svg("line", [ROC], prefix="r-", title="t")
    assert "chance" in roc and "chance" not in line  # only the ROC chart gets the diagonal
    bars = [
        Curve(name, [0, 1], [0.2, 0.4], "class", "acc", kind="bar", labels=["a", "b"]) for name in ("clean", "$x$ cost")
    ]
    bar = plot_svg("bar", bars, prefix="b-", title="t")
    assert ">$x$ cost</text>" in bar  # the legend shows it as typed, not parsed as mathtext
    assert ">a</text>" in bar and ">b</text>" in bar  # category labels as ticks, kept as text
