"""The JSON report: deterministic text, a faithful round trip, one-line errors on bad files."""

from __future__ import annotations

import json

import pytest

from trustmap.errors import TrustmapError
from trustmap.report import load_report_json, render_json
from trustmap.results import SCHEMA_VERSION

from .sample import sample_report


def test_render_json_is_deterministic_and_sorted():
    a, b = render_json(sample_report()), render_json(sample_report())
    assert a == b
    assert a.endswith("}\n")
    doc = json.loads(a)
    assert doc["schema_version"] == SCHEMA_VERSION == "1.1"
    assert json.dumps(doc, indent=2, sort_keys=True) + "\n" == a


def test_json_has_no_timings_or_timestamps():
    report = sample_report()
    doc = json.loads(render_json(report))
    assert set(doc) == {
        "schema_version",
        "tool",
        "model",
        "data",
        "seed",
        "budget",
        "config",
        "versions",
        "scorecard",
        "weaknesses",
        "probes",
    }
    assert all("seconds" not in p for p in doc["probes"])
    text = render_json(report)
    assert report.created_at not in text
    # changing only timings or the creation time leaves the JSON byte-identical
    report.timings = {k: v * 2 + 1 for k, v in report.timings.items()}
    report.created_at = "2030-01-01T00:00:00+00:00"
    assert render_json(report) == text


def test_round_trip(tmp_path):
    report = sample_report()
    path = tmp_path / "report.json"
    path.write_text(render_json(report), encoding="utf-8")
    loaded = load_report_json(path)
    assert loaded.to_json_dict() == report.to_json_dict()
    assert render_json(loaded) == render_json(report)
    assert [p.probe for p in loaded.probes] == [p.probe for p in report.probes]
    assert loaded.probe("pgd-linf").curves[1].labels == report.probe("pgd-linf").curves[1].labels
    assert loaded.probe("mia-rmia").status == "skipped"
    assert loaded.scorecard == report.scorecard and loaded.weaknesses == report.weaknesses


def test_newer_minor_version_with_extra_keys_loads(tmp_path):
    doc = json.loads(render_json(sample_report()))
    doc["schema_version"] = "1.7"
    doc["future_top_level"] = {"x": 1}
    doc["probes"][0]["future_field"] = 3
    doc["probes"][0]["curves"][0]["style"] = "dashed"
    doc["scorecard"][0]["trend"] = "up"
    doc["weaknesses"][0]["severity"] = "high"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    loaded = load_report_json(path)
    assert loaded.schema_version == "1.7"
    assert loaded.probes[0].probe == "pgd-linf"


DECLARED = (
    '{"schema_version": "1.1", "model": {}, "data": {}, "seed": 0, "budget": "quick", '
    '"probes": [{"probe": "p", "dimension": "privacy", "title": "P", DECL}]}'
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no report at"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "not a trustmap report"),
        ('{"hello": 1}', "not a trustmap report"),
        ('{"schema_version": "2.0", "probes": []}', "uses report schema 2.0"),
        ('{"schema_version": "1.0", "probes": []}', "missing model, data, seed, budget"),
        (
            '{"schema_version": "1.0", "model": {}, "data": {}, "seed": 0, "budget": "quick", "probes": [{"x": 1}]}',
            "not a valid trustmap report",
        ),
        (
            '{"schema_version": "1.0", "model": {}, "data": {}, "seed": 0, "budget": "quick", "probes": [3]}',
            "not a valid trustmap report",
        ),
        (DECLARED.replace("DECL", '"directions": {"auc": "down"}'), "directions must map"),
        (DECLARED.replace("DECL", '"headline": ["auc"]'), "headline must be a metric name"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TrustmapError, match=message) as info:
        load_report_json(path)
    assert "\n" not in str(info.value)


def test_folder_and_binary_file(tmp_path):
    with pytest.raises(TrustmapError, match="is a folder"):
        load_report_json(tmp_path)
    binary = tmp_path / "report.json"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(TrustmapError):
        load_report_json(binary)


def test_declarations_round_trip_and_old_reports_without_them_load(tmp_path):
    report = sample_report()
    report.probes[0].directions, report.probes[0].headline = {"robust_accuracy": "higher"}, "robust_accuracy"
    doc = json.loads(render_json(report))
    assert doc["probes"][0]["directions"] == {"robust_accuracy": "higher"}
    assert doc["probes"][0]["headline"] == "robust_accuracy" and doc["probes"][1]["headline"] is None
    for p in doc["probes"]:  # a report written by schema 1.0
        del p["directions"], p["headline"]
    doc["schema_version"] = "1.0"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    loaded = load_report_json(path)
    assert loaded.probes[0].directions == {} and loaded.probes[0].headline is None
