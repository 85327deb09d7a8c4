"""Every registered probe, the same checks: its result goes through the scorecard, the JSON and HTML report,
the gate and the results store (audit resume) on what the probe itself declares.

A new probe joins the audit through the registry, so it joins this table without an edit here. Each probe
gets a synthetic result: every metric it declares a direction for, at 0.5.
"""

from __future__ import annotations

import copy
import json

import pytest

from trustmap.audit.gate import compare_reports
from trustmap.audit.scorecard import score_report
from trustmap.probes import probe_class, probe_ids
from trustmap.probes.base import declare
from trustmap.report import render_html, render_json
from trustmap.report.json import report_from_dict
from trustmap.results import ProbeResult, TrustReport
from trustmap.store import ResultsStore

MODEL = {"source": "m.safetensors", "arch": "arch-x", "dataset": "data-x", "kind": "image"}
DATA = {"name": "data-x", "kind": "image"}


def synthetic(pid: str) -> ProbeResult:
    cls = probe_class(pid)
    metrics = {metric: 0.5 for metric in cls.directions}
    return declare(ProbeResult(probe=pid, dimension=cls.dimension, title=cls.title, metrics=metrics), cls)


def report_of(result: ProbeResult) -> TrustReport:
    grades, weaknesses = score_report([result], model=MODEL, data=DATA)
    return TrustReport(
        model=MODEL, data=DATA, seed=0, budget="quick", probes=[result], scorecard=grades, weaknesses=weaknesses
    )


def test_the_table_holds_every_registered_probe_graph_included():
    assert "graph-structure" in probe_ids() and len(probe_ids()) >= 16


@pytest.mark.parametrize("pid", probe_ids())
def test_scorecard_and_report(pid):
    cls = probe_class(pid)
    result = synthetic(pid)
    report = report_of(result)
    grade = next(g for g in report.scorecard if g.dimension == cls.dimension)
    score = cls.rule.score(result.metrics) if cls.rule is not None else None
    if score is not None:
        assert grade.score == pytest.approx(round(max(0.0, min(1.0, score)), 4))
        assert "DATA" not in "".join(w.command for w in report.weaknesses)  # filled from the model
    html = render_html(report)
    assert f'id="probe-{pid}"' in html and cls.title.replace("&", "&amp;") in html
    doc = json.loads(render_json(report))
    (probe_doc,) = doc["probes"]
    assert probe_doc["directions"] == dict(cls.directions) and probe_doc["headline"] == cls.headline
    assert report_from_dict(doc).probes[0].metrics == result.metrics


@pytest.mark.parametrize("pid", probe_ids())
def test_gate_tracks_every_declared_metric(pid):
    doc = report_of(synthetic(pid)).to_json_dict()
    worse = copy.deepcopy(doc)
    for metric, direction in probe_class(pid).directions.items():
        worse["probes"][0]["metrics"][metric] += -0.05 if direction == "higher" else 0.05
    gate = compare_reports(doc, worse)
    assert not gate.passed and {c.key for c in gate.regressions} == {f"{pid}.{m}" for m in probe_class(pid).directions}
    assert compare_reports(doc, doc).passed
    gone = copy.deepcopy(doc)
    gone["probes"] = []
    assert [m.key for m in compare_reports(doc, gone).missing] == [pid]


@pytest.mark.parametrize("pid", probe_ids())
def test_store_round_trip_resumes_the_same_result(pid, tmp_path):
    result = synthetic(pid)
    store = ResultsStore(tmp_path / "store.sqlite")
    store.put_artifact("audit-key", pid, result.to_dict())
    assert ProbeResult.from_dict(store.get_artifact("audit-key", pid)) == result
