"""The HTML report: self-contained, complete, escaped, deterministic, well-formed."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from trustmap.report import render_html
from trustmap.results import Curve, ProbeResult, Weakness

from .sample import sample_report

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Checks that every element is closed in order, and collects ids and external references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.refs: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._attrs(tag, attrs)

    def _attrs(self, tag, attrs):
        self.tags[tag] += 1
        for k, v in attrs:
            if k == "id":
                self.ids.append(v)
            if k in ("src", "href", "xlink:href", "action", "poster", "data"):
                self.refs.append(v or "")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def _check(doc: str) -> _Checker:
    c = _Checker()
    c.feed(doc)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, c.stack
    dupes = [i for i, n in Counter(c.ids).items() if n > 1]
    assert not dupes, dupes
    return c


@pytest.fixture(scope="module")
def sample_html() -> str:
    return render_html(sample_report())


def test_html_is_self_contained_and_well_formed(sample_html):
    doc = sample_html
    assert doc.startswith("<!DOCTYPE html>")
    c = _check(doc)
    # nothing is fetched: no scripts, stylesheets, images, frames or fonts from anywhere
    for tag in ("script", "link", "img", "iframe", "object", "embed", "image"):
        assert c.tags[tag] == 0, tag
    assert all(ref.startswith("#") for ref in c.refs), [r for r in c.refs if not r.startswith("#")]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", doc, re.I)
    assert "http://" not in doc and "https://" not in doc
    assert "@import" not in doc and "@font-face" not in doc and "url(" not in doc.split("</style>")[0]
    # internal links all point at something that exists
    ids = set(c.ids)
    assert {r[1:] for r in c.refs} <= ids


def test_every_section_is_present(sample_html):
    report = sample_report()
    doc = sample_html
    for p in report.probes:
        assert re.search(rf'<section id="probe-{p.probe}" class="probe probe-{p.status}"', doc), p.probe
        assert p.title in doc
    for dim in ("privacy", "security", "fairness", "robustness"):
        assert f'data-dimension="{dim}"' in doc
    assert doc.count('class="grade-card') == 4
    assert doc.count("<svg") == 6  # pgd: line + bars, fgsm: line, mia: roc, knockoff: line, robust-fairness: bars
    assert "RMIA needs reference data (--pool) and none was given" in doc
    for w in report.weaknesses:
        assert w.command in doc
    # run metadata: versions, hashes, timings, creation time
    assert report.model["sha256"] in doc and report.data["sha256"] in doc
    assert "41.3 s" in doc and "96.7 s" in doc and report.created_at in doc
    assert "torch" in doc and "2.13.0" in doc
    assert 'id="scorecard"' in doc and 'id="weaknesses"' in doc and 'id="metadata"' in doc


def test_html_is_deterministic(sample_html):
    assert render_html(sample_report()) == sample_html


def test_svg_plots_are_clean(sample_html):
    doc = sample_html
    assert "<?xml" not in doc and "<!DOCTYPE svg" not in doc and "<metadata" not in doc
    assert "Matplotlib v" not in doc  # no creator/date metadata
    assert len(re.findall(r'<svg class="chart" role="img" aria-label="', doc)) == 6
    assert "ROC curves (log-log)" in doc


def test_every_text_is_escaped():
    report = sample_report()
    report.model["source"] = f"models/{EVIL}.pt"
    report.model["arch"] = EVIL
    report.data["name"] = EVIL
    report.data["note"] = EVIL
    report.budget = EVIL
    report.versions["evil"] = EVIL
    report.config["evil"] = EVIL
    report.scorecard[0].evidence.append(EVIL)
    report.scorecard[0].grade = EVIL
    report.weaknesses.append(Weakness(EVIL, EVIL, EVIL, EVIL, EVIL))
    report.timings[EVIL] = 1.0
    p = report.probes[0]
    p.title = EVIL
    p.metrics[EVIL] = 1.0
    p.tables[EVIL] = [{EVIL: EVIL, "v": 1}]
    p.options[EVIL] = EVIL
    p.curves.append(Curve(f"{EVIL} $x$ costs $5 and $6", [0, 1], [0.1, 0.2], EVIL, f"{EVIL} $"))
    p.curves.append(Curve(EVIL, [0, 1], [0.3, 0.4], "class", "acc", kind="bar", labels=[EVIL, "$a$b"]))
    report.probes.append(ProbeResult(probe="broken", dimension="security", title=EVIL, status="failed", reason=EVIL))
    doc = render_html(report)
    assert "<script" not in doc.lower() and "<img" not in doc.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in doc
    _check(doc)


def test_empty_and_odd_reports_render():
    report = sample_report()
    report.scorecard, report.weaknesses, report.timings, report.versions, report.created_at = [], [], {}, {}, ""
    report.probes = [
        ProbeResult(
            probe="roc-zeros",
            dimension="privacy",
            title="ROC with zeros and NaN",
            curves=[
                Curve("mia", [0.0, 0.0, 0.5, 1.0], [0.0, float("nan"), 0.6, 1.0], "fpr", "tpr", kind="roc"),
                Curve("empty", [], [], "fpr", "tpr", kind="roc"),
            ],
            metrics={"auc": float("nan"), "tiny": 1e-7, "big": 123456.0, "flag": True},
        ),
        ProbeResult(
            probe="empty-curve", dimension="fairness", title="Nothing to plot", curves=[Curve("none", [], [], "x", "y")]
        ),
        ProbeResult(
            probe="long",
            dimension="robustness",
            title="A long curve",
            curves=[Curve("many", [i / 100 for i in range(200)], [1 - i / 200 for i in range(200)], "x", "y")],
        ),
        ProbeResult(
            probe="crashed", dimension="security", title="A probe that failed", status="failed", reason="out of memory"
        ),
        ProbeResult(
            probe="wide",
            dimension="robustness",
            title="A wide table beside a plot",
            metrics={"accuracy": 0.5},
            curves=[Curve("acc", [1, 2], [0.5, 0.4], "severity", "accuracy")],
            tables={
                "narrow": [{"k": "a", "v": 1}],
                "corruptions": [
                    {
                        "corruption": "gaussian_noise",
                        "severity": 1,
                        "parameter": 0.08,
                        "accuracy": 0.6993,
                        "note": "a long free-text note",
                    }
                ],
            },
        ),
    ]
    doc = render_html(report)
    _check(doc)
    assert doc.count('class="grade-card grade-na"') == 4
    assert "No weakness crossed a threshold" in doc
    assert "Failed:" in doc and "out of memory" in doc
    assert "200 points plotted" in doc
    assert doc.count("<svg") == 3  # the ROC with usable points, the long curve, the wide probe's line
    wide = doc[doc.index('id="probe-wide"') :]
    # the narrow table sits beside the plot, the wide one goes full width below it
    assert (
        wide.index("<caption>narrow</caption>")
        < wide.index('class="figures"')
        < wide.index("<caption>corruptions</caption>")
    )
