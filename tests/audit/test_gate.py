"""The trust gate library: directions, limits, overrides, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from trustmap.audit.gate import (
    compare_reports,
    gate_files,
    load_audit_json,
    metric_direction,
    parse_max_drops,
)
from trustmap.errors import TrustmapError
from trustmap.results import ProbeResult, TrustReport


def report(**overrides: float) -> dict:
    """An audit document with one evasion, one privacy, one stealing and one fairness probe."""
    metrics = {
        "pgd-linf": ("security", {"clean_accuracy": 0.80, "robust_accuracy": 0.40, "n": 500.0}),
        "loss-mia": ("privacy", {"auc": 0.60, "tpr_at_1fpr": 0.02, "advantage": 0.15, "accuracy": 0.58}),
        "knockoff": ("security", {"thief_accuracy": 0.70, "fidelity": 0.75}),
        "group-fairness": ("fairness", {"demographic_parity_difference": 0.19, "demographic_parity_ratio": 0.3}),
    }
    probes = []
    for probe, (dim, ms) in metrics.items():
        ms = {k: overrides.get(f"{probe}.{k}", overrides.get(k, v)) for k, v in ms.items()}
        probes.append(ProbeResult(probe=probe, dimension=dim, title=probe, metrics=ms))
    return TrustReport(model={}, data={}, seed=0, budget="quick", probes=probes).to_json_dict()


def verdicts(result) -> dict[str, str]:
    return {c.key: c.verdict for c in result.changes}


def test_identical_reports_pass():
    result = compare_reports(report(), report())
    assert result.passed and result.regressions == []
    assert set(verdicts(result).values()) == {"unchanged"}
    assert "pgd-linf.n" not in verdicts(result)  # counts are not trust metrics
    assert len(result.changes) == 10


@pytest.mark.parametrize(
    ("metric", "new", "bad"),
    [
        ("robust_accuracy", 0.37, True),  # higher is better: a drop of .03 > .02
        ("robust_accuracy", 0.45, False),  # improved
        ("auc", 0.63, True),  # privacy: the attack got stronger
        ("auc", 0.50, False),
        ("tpr_at_1fpr", 0.05, True),
        ("advantage", 0.18, True),
        ("thief_accuracy", 0.75, True),  # stealing: the thief copies better
        ("fidelity", 0.70, False),
        ("demographic_parity_difference", 0.25, True),  # fairness gap grew
        ("demographic_parity_ratio", 0.2, True),  # ratio fell away from parity
        ("loss-mia.accuracy", 0.65, True),  # a privacy probe's accuracy is the attack's
    ],
)
def test_each_direction(metric, new, bad):
    result = compare_reports(report(), report(**{metric: new}))
    assert result.passed is not bad
    changed = [c for c in result.changes if c.verdict != "unchanged"]
    assert len(changed) == 1
    assert changed[0].verdict == ("regressed" if bad else "improved")


def test_within_limit_is_worse_but_passes_and_limit_boundary_counts_as_pass():
    result = compare_reports(report(), report(robust_accuracy=0.39))
    assert result.passed and verdicts(result)["pgd-linf.robust_accuracy"] == "worse"
    assert compare_reports(report(), report(robust_accuracy=0.38)).passed  # exactly the limit
    assert not compare_reports(report(), report(robust_accuracy=0.379)).passed


def test_overrides_metric_and_probe_metric():
    old, new = report(), report(robust_accuracy=0.30, auc=0.65)
    assert {c.key for c in compare_reports(old, new).regressions} == {"pgd-linf.robust_accuracy", "loss-mia.auc"}
    loose = compare_reports(old, new, max_drop={"robust_accuracy": 0.15, "loss-mia.auc": 0.1})
    assert loose.passed
    limits = {c.key: c.limit for c in loose.changes}
    assert limits["pgd-linf.robust_accuracy"] == 0.15 and limits["loss-mia.auc"] == 0.1
    assert limits["pgd-linf.clean_accuracy"] == 0.02
    # probe.metric wins over metric
    strict = compare_reports(old, new, max_drop={"robust_accuracy": 0.15, "pgd-linf.robust_accuracy": 0.01})
    assert "pgd-linf.robust_accuracy" in {c.key for c in strict.regressions}
    assert compare_reports(old, new, default_max_drop=0.2).passed


def test_unknown_override_key_is_an_error():
    with pytest.raises(TrustmapError, match="robust_acc.*matches no metric"):
        compare_reports(report(), report(), max_drop={"robust_acc": 0.1})


def test_parse_max_drops():
    assert parse_max_drops(["robust_accuracy=0.05", "loss-mia.tpr_at_0.1fpr=0.01"]) == (
        {"robust_accuracy": 0.05, "loss-mia.tpr_at_0.1fpr": 0.01},
        None,
    )
    assert parse_max_drops(["0.1"]) == ({}, 0.1)
    for bad in ("robust_accuracy", "robust_accuracy=abc", "=0.1", "auc=-0.1", "auc=nan"):
        with pytest.raises(TrustmapError) as info:
            parse_max_drops([bad])
        assert "\n" not in str(info.value)


def test_one_sided_metrics_are_listed_not_compared():
    old, new = report(), report()
    new["probes"][0]["metrics"]["worst_class_robust"] = 0.1
    new["probes"][0]["metrics"]["attack"] = "pgd"  # not a number: ignored
    old["probes"][0]["metrics"]["mystery"] = 0.3  # untracked, so losing it is no gap
    result = compare_reports(old, new)
    assert result.passed and result.missing == []
    assert result.only_old == ["pgd-linf.mystery"] and result.only_new == ["pgd-linf.worst_class_robust"]


@pytest.mark.parametrize("status", ["skipped", "failed"])
def test_gated_probe_not_finished_in_the_new_report_fails_closed(status):
    old, new = report(), report()
    new["probes"][1].update(status=status, reason="no members", metrics={})
    result = compare_reports(old, new)
    assert not result.passed and result.regressions == []
    assert [(m.key, m.why) for m in result.missing] == [("loss-mia", f"{status} in the new report (no members)")]
    assert not any(c.probe == "loss-mia" for c in result.changes) and result.only_old == []
    assert compare_reports(old, new, allow_missing=True).passed


def test_gated_probe_missing_from_the_new_report_fails_closed():
    old, new = report(), report()
    del new["probes"][2]
    result = compare_reports(old, new)
    assert not result.passed and [m.key for m in result.missing] == ["knockoff"]
    assert result.missing[0].why == "missing from the new report"
    d = result.to_dict()
    assert d["passed"] is False and d["missing"][0]["key"] == "knockoff" and d["allow_missing"] is False
    assert compare_reports(old, new, allow_missing=True).passed
    # the other way round (a probe only in the new report) gates nothing
    assert compare_reports(new, old).passed


@pytest.mark.parametrize(("value", "why"), [(float("nan"), "NaN"), (float("inf"), "+inf"), (None, "not measured")])
def test_non_finite_or_lost_tracked_metric_fails_closed(value, why):
    old, new = report(), report()
    if value is None:
        del new["probes"][0]["metrics"]["robust_accuracy"]
    else:
        new["probes"][0]["metrics"]["robust_accuracy"] = value
    result = compare_reports(old, new)
    assert not result.passed and [m.key for m in result.missing] == ["pgd-linf.robust_accuracy"]
    assert result.missing[0].why.startswith(why)
    assert "pgd-linf.robust_accuracy" not in result.only_old
    assert compare_reports(old, new, allow_missing=True).passed


def test_probe_with_no_tracked_metric_is_not_gated():
    old, new = report(), report()
    old["probes"].append(ProbeResult(probe="x", dimension="security", title="x", metrics={"mystery": 1.0}).to_dict())
    old["probes"].append(ProbeResult(probe="y", dimension="security", title="y", status="skipped").to_dict())
    result = compare_reports(old, new)
    assert result.passed and result.only_old == ["x.mystery"]


def test_declared_directions_win_over_the_fallbacks():
    old, new = report(), report(robust_accuracy=0.30)
    for doc in (old, new):  # a probe that declares "lower is better" for a name the fallback calls "higher"
        doc["probes"][0]["directions"] = {"robust_accuracy": "lower", "mystery": "higher"}
        doc["probes"][0]["metrics"]["mystery"] = 0.5
    new["probes"][0]["metrics"]["mystery"] = 0.4
    result = compare_reports(old, new)
    assert verdicts(result)["pgd-linf.robust_accuracy"] == "improved"
    assert [c.key for c in result.regressions] == ["pgd-linf.mystery"]
    # the old report's declarations are the contract; the new report's only fill in what it leaves out
    new["probes"][0]["directions"] = {"robust_accuracy": "higher"}
    assert verdicts(compare_reports(old, new))["pgd-linf.robust_accuracy"] == "improved"
    assert metric_direction("p", "mystery", declared={"mystery": "lower"}) == "lower"


def test_unknown_direction_is_untracked_and_never_fails():
    old, new = report(), report()
    old["probes"][0]["metrics"]["mystery"] = 0.5
    new["probes"][0]["metrics"]["mystery"] = 0.0
    result = compare_reports(old, new)
    assert result.passed and verdicts(result)["pgd-linf.mystery"] == "untracked"


def test_direction_table():
    assert metric_direction("robust-fairness", "worst_class_robust") == "higher"
    assert metric_direction("robust-fairness", "robust_gap") == "lower"
    assert metric_direction("group-fairness", "equalized_odds_difference") == "lower"
    assert metric_direction("group-fairness", "accuracy", dimension="fairness") == "higher"
    assert metric_direction("loss-mia", "accuracy", dimension="privacy") == "lower"
    assert metric_direction("loss-mia", "tpr_at_0.1fpr") == "lower"
    assert metric_direction("knockoff", "thief_accuracy") == "lower"
    assert metric_direction("x", "member_accuracy") is None


def test_gate_files_and_json_round_trip(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(report()))
    b.write_text(json.dumps(report(fidelity=0.9)))
    result = gate_files(a, b)
    assert not result.passed and [c.key for c in result.regressions] == ["knockoff.fidelity"]
    d = json.loads(json.dumps(result.to_dict()))
    assert d["passed"] is False and d["regressions"] == ["knockoff.fidelity"]
    row = next(c for c in d["changes"] if c["key"] == "knockoff.fidelity")
    assert row["direction"] == "lower" and row["change"] == pytest.approx(0.15) and row["limit"] == 0.02


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a trustmap audit JSON"),
        ('{"probes": []}', "not a trustmap audit JSON"),
        ('{"schema_version": "2.0", "probes": []}', "schema version 2.0"),
        ('{"schema_version": "1.0", "probes": [{"metrics": {}}]}', r"probes\[0\]"),
        (
            '{"schema_version": "1.1", "probes": [{"probe": "p", "metrics": {}, "directions": {"a": "up"}}]}',
            r"probes\[0\].directions",
        ),
    ],
)
def test_bad_input_raises_one_line_error(tmp_path, content, pattern):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TrustmapError, match=pattern) as info:
        load_audit_json(path)
    assert "\n" not in str(info.value)


def test_minor_schema_versions_are_accepted(tmp_path):
    doc = report()
    doc["schema_version"] = "1.7"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert load_audit_json(path)["schema_version"] == "1.7"
