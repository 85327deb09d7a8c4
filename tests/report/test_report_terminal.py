"""The terminal summary and write_report."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

import trustmap.report
from trustmap.errors import TrustmapError
from trustmap.report import render_html, render_json, render_terminal, write_report
from trustmap.results import Weakness

from .sample import sample_report


def _text(report) -> str:
    console = Console(file=io.StringIO(), width=160, record=True, color_system=None)
    render_terminal(report, console)
    return console.export_text()


def test_terminal_summary_lists_dimensions_probes_and_weaknesses():
    report = sample_report()
    out = _text(report)
    for dim, grade in (("privacy", "C"), ("security", "D"), ("fairness", "C"), ("robustness", "F")):
        assert dim in out and grade in out
    for p in report.probes:
        assert p.probe in out
    assert "skipped" in out and "RMIA needs reference data" in out
    assert "robust accuracy = 0.132" in out  # the headline metric of pgd-linf
    assert "41.3 s" in out  # its time
    assert "trustmap harden --method ini" in out


def test_the_declared_headline_wins_and_an_absent_one_falls_back():
    report = sample_report()
    report.probes[0].headline = "clean_accuracy"  # what pgd-linf's probe class would declare
    report.probes[1].headline = "not_reported"
    out = _text(report)
    assert "clean accuracy = 0.875" in out and "robust accuracy = 0.132" not in out
    assert "robust accuracy = 0.246" in out  # fgsm: the dimension's fallback list


def test_terminal_escapes_markup_and_handles_an_empty_report():
    report = sample_report()
    report.weaknesses = [Weakness("privacy", "mia-loss", "[red]not markup[/red]", "x", "cmd [bold]y[/bold]")]
    out = _text(report)
    assert "[red]not markup[/red]" in out and "[bold]y[/bold]" in out
    report.probes, report.scorecard, report.weaknesses, report.timings = [], [], [], {}
    out = _text(report)
    assert out.count("n/a") == 4
    assert "No weakness crossed a threshold" in out


def test_write_report_writes_both_files(tmp_path):
    report = sample_report()
    html_path, json_path = write_report(report, tmp_path / "out")
    assert html_path == tmp_path / "out" / "report.html" and json_path == tmp_path / "out" / "report.json"
    assert json_path.read_text(encoding="utf-8") == render_json(report)
    assert html_path.read_text(encoding="utf-8") == render_html(report)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]


def test_write_report_writes_nothing_when_rendering_fails(tmp_path, monkeypatch):
    before = render_json(sample_report())
    (tmp_path / "report.json").write_text(before)
    (tmp_path / "report.html").write_text("<!DOCTYPE html><p>the previous report</p>")

    def boom(_report):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(trustmap.report, "render_html", boom)
    changed = sample_report()
    changed.seed = 99
    with pytest.raises(RuntimeError):
        write_report(changed, tmp_path)
    assert (tmp_path / "report.json").read_text() == before
    assert (tmp_path / "report.html").read_text() == "<!DOCTYPE html><p>the previous report</p>"
    assert json.loads(before)["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_write_report_into_a_file_path_fails_in_one_line(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    with pytest.raises(TrustmapError) as info:
        write_report(sample_report(), blocker)
    assert "\n" not in str(info.value)
