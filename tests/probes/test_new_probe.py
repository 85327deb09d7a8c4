"""Adding a probe is one class: the audit, scorecard, gate and report pick up what it declares.

The worked example of ``docs/audit.md`` ("Adding a probe"): a black-box robustness probe that counts how
often small Gaussian noise flips the model's prediction. It is defined here, registered for the test and
taken out of the registry again afterwards.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from trustmap.audit.gate import compare_reports, metric_direction
from trustmap.audit.runner import run_audit, selected_probes
from trustmap.models.handle import ModelHandle
from trustmap.probes import (
    PROBES,
    AuditData,
    Probe,
    ProbeResult,
    ScoreRule,
    budget_probes,
    make_probe,
    probe_ids,
    register_probe,
)
from trustmap.probes.base import Dimension, Direction
from trustmap.report import render_html, render_json, write_report


@dataclass
class NoiseFlip(Probe):
    """How often Gaussian noise of standard deviation ``sigma`` flips the model's prediction."""

    id: ClassVar[str] = "noise-flip"
    title: ClassVar[str] = "Prediction flips under Gaussian noise"
    dimension: ClassVar[Dimension] = "robustness"
    kinds: ClassVar[tuple[str, ...]] = ("image",)
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {"quick": {"n": 200}, "standard": {"n": 500}}
    audit_budgets: ClassVar[tuple[str, ...]] = ("standard", "thorough")
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: m.get("stable_fraction"),
        evidence=lambda m: f"Gaussian noise flips {m.get('flip_rate', 0):.1%} of the predictions",
        defence="pgd-at",
        command="trustmap harden --method pgd-at --data {data} --arch {arch} --out hardened.pt2",
    )
    directions: ClassVar[Mapping[str, Direction]] = {"stable_fraction": "higher", "flip_rate": "lower"}
    headline: ClassVar[str | None] = "stable_fraction"

    sigma: float = 0.1
    n: int = 500

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        rng = np.random.default_rng(seed)
        x = data.eval.x[: self.n]
        noisy = (x + rng.normal(0.0, self.sigma, size=x.shape)).astype(np.float32)
        flips = model.predict(x).argmax(1) != model.predict(noisy).argmax(1)
        metrics = {"flip_rate": float(flips.mean()), "stable_fraction": float(1 - flips.mean()), "n": float(len(x))}
        return self.result(metrics=metrics)


@pytest.fixture
def noise_flip() -> Iterator[type[NoiseFlip]]:
    register_probe(NoiseFlip)
    try:
        yield NoiseFlip
    finally:
        PROBES.remove("noise-flip")


@pytest.fixture(scope="module")
def audit_data(fashion, fashion_eval) -> AuditData:
    return AuditData(fashion, eval=fashion_eval)


def test_the_docs_example_test(noise_flip, small_cnn, audit_data):
    weak = make_probe("noise-flip", sigma=0.02).run(small_cnn, audit_data, seed=0).metrics["flip_rate"]
    strong = make_probe("noise-flip", sigma=1.0).run(small_cnn, audit_data, seed=0).metrics["flip_rate"]
    assert weak < 0.1 and strong > 0.4
    assert make_probe("noise-flip").run(small_cnn.black_box(), audit_data, seed=0).status == "ok"


def test_registration_budgets_and_removal(noise_flip):
    assert probe_ids()[-1] == "noise-flip"  # after the built-ins, which keep their order
    assert "noise-flip" not in budget_probes("quick") and budget_probes("standard")[-1] == "noise-flip"
    assert selected_probes("thorough", None)[-1] == "noise-flip"
    assert make_probe("noise-flip", budget="quick").n == 200 and make_probe("noise-flip", budget="thorough").n == 500
    PROBES.remove("noise-flip")
    assert "noise-flip" not in probe_ids() and "noise-flip" not in budget_probes("standard")
    register_probe(NoiseFlip)  # the fixture removes it again


def test_audit_scorecard_report_and_gate_pick_it_up(noise_flip, small_cnn, audit_data, tmp_path):
    report = run_audit(
        small_cnn, audit_data, budget="quick", seed=0, probes=["noise-flip"], options={"noise-flip": {"sigma": 2.0}}
    )  # (noise this strong flips most)
    (result,) = report.probes
    assert result.status == "ok" and result.metrics["flip_rate"] > 0.4
    assert result.directions == {"stable_fraction": "higher", "flip_rate": "lower"}

    # the scorecard applies its rule: a robustness grade, and a weakness with a filled-in mend-with command
    robustness = next(g for g in report.scorecard if g.dimension == "robustness")
    assert robustness.score == pytest.approx(round(result.metrics["stable_fraction"], 4))
    assert robustness.evidence[0].startswith("Gaussian noise flips")
    (weak,) = report.weaknesses
    assert (weak.probe, weak.defence) == ("noise-flip", "pgd-at")
    assert weak.command == "trustmap harden --method pgd-at --data fashion-mnist --arch cnn-s --out hardened.pt2"

    # the JSON records its declarations; the HTML and terminal show its section and headline metric
    html_path, json_path = write_report(report, tmp_path / "out")
    doc = json.loads(json_path.read_text())
    (probe_doc,) = doc["probes"]
    assert probe_doc["headline"] == "stable_fraction" and probe_doc["directions"]["flip_rate"] == "lower"
    html = html_path.read_text()
    assert 'id="probe-noise-flip"' in html and "Prediction flips under Gaussian noise" in html
    assert '<tr class=headline><th scope="row">stable fraction</th>' in html
    assert render_json(report) == json_path.read_text() and render_html(report) == html

    # the gate tracks the directions it declared, which no generic fallback knows
    assert metric_direction("noise-flip", "stable_fraction") is None
    worse = copy.deepcopy(doc)
    worse["probes"][0]["metrics"]["stable_fraction"] -= 0.05
    worse["probes"][0]["metrics"]["flip_rate"] += 0.05
    gate = compare_reports(doc, worse)
    assert not gate.passed
    assert sorted(c.key for c in gate.regressions) == ["noise-flip.flip_rate", "noise-flip.stable_fraction"]
    assert compare_reports(doc, doc).passed
    # and fails closed when the new report lacks it
    gone = copy.deepcopy(doc)
    gone["probes"] = []
    assert [m.key for m in compare_reports(doc, gone).missing] == ["noise-flip"]


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("audit_budgets", ("fast",), "audit_budgets must be a tuple of quick, standard, thorough"),
        ("audit_budgets", "standard", "audit_budgets must be a tuple"),
        ("directions", {"flip_rate": "down"}, "must be 'higher' or 'lower'"),
        ("headline", 3, "headline must be a metric name"),
        ("headline", "", "headline must be a metric name"),
        ("rule", "pgd-at", "rule must be a ScoreRule"),
        ("rule", ScoreRule(lambda m: 1.0, lambda m: "", "pgd-at", "--data {dataset}"), r"not \['dataset'\]"),
        ("BUDGETS", {"fast": {}}, "unknown budget names"),
    ],
)
def test_malformed_declarations_are_refused(attr, value, message):
    bad = dataclass(type("BadFlip", (NoiseFlip,), {attr: value, "__annotations__": {}}))
    with pytest.raises(ValueError, match=message):
        register_probe(bad)
    assert "noise-flip" not in PROBES


def test_mismatched_id_is_refused():
    with pytest.raises(ValueError, match="registered as 'other-flip'"):
        PROBES.add("other-flip", NoiseFlip)
