"""``trustmap gate OLD.json NEW.json``: exit 0 on pass, 1 on a regression, 2 with one line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.helpers import run_cli
from trustmap.results import ProbeResult, TrustReport


def write_report(path, *, robust: float = 0.40, auc: float = 0.60):
    probes = [
        ProbeResult(
            probe="robust-fairness",
            dimension="fairness",
            title="RF",
            metrics={"robust_accuracy": robust, "robust_gap": 0.30, "worst_class": "Shirt"},
        ),
        ProbeResult(probe="loss-mia", dimension="privacy", title="MIA", metrics={"auc": auc, "advantage": 0.1}),
    ]
    path.write_text(json.dumps(TrustReport(model={}, data={}, seed=0, budget="quick", probes=probes).to_json_dict()))
    return str(path)


@pytest.fixture
def files(tmp_path):
    return {
        "old": write_report(tmp_path / "old.json"),
        "same": write_report(tmp_path / "same.json"),
        "worse": write_report(tmp_path / "worse.json", robust=0.35, auc=0.61),
    }


def test_identical_reports_pass(capsys, files):
    res = run_cli(capsys, "gate", files["old"], files["same"])
    assert res.code == 0, res.err
    assert "gate passed" in res.out and "robust_accuracy" in res.out and "unchanged" in res.out


def test_regression_exits_1_and_names_it(capsys, files):
    res = run_cli(capsys, "gate", files["old"], files["worse"])
    assert res.code == 1
    assert "gate failed" in res.out and "robust-fairness.robust_accuracy" in res.out and "regressed" in res.out
    assert "loss-mia.auc" not in res.out.splitlines()[-1]  # +0.01 is within the default 0.02


def test_max_drop_overrides(capsys, files):
    assert run_cli(capsys, "gate", files["old"], files["worse"], "--max-drop", "robust_accuracy=0.06").code == 0
    strict_auc = ["--max-drop", "robust-fairness.robust_accuracy=0.06", "--max-drop", "auc=0.005"]
    assert run_cli(capsys, "gate", files["old"], files["worse"], *strict_auc).code == 1
    assert run_cli(capsys, "gate", files["old"], files["worse"], "--max-drop", "0.1").code == 0


def test_json_output(capsys, files):
    res = run_cli(capsys, "gate", files["old"], files["worse"], "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert doc["passed"] is False and doc["regressions"] == ["robust-fairness.robust_accuracy"]
    assert {c["key"]: c["verdict"] for c in doc["changes"]}["loss-mia.auc"] == "worse"


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["missing.json", "{old}"], "not found"),
        (["{old}", "{notjson}"], "not valid JSON"),
        (["{old}", "{notaudit}"], "not a trustmap audit JSON"),
        (["{old}", "{v2}"], "schema version 2"),
        (["{old}", "{old}", "--max-drop", "robust_accuracy=lots"], "not METRIC=VALUE"),
        (["{old}", "{old}", "--max-drop", "typo=0.1"], "matches no metric"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, files, args, pattern):
    (tmp_path / "notjson.json").write_text("nope")
    (tmp_path / "notaudit.json").write_text('{"hello": 1}')
    (tmp_path / "v2.json").write_text('{"schema_version": "2.0", "probes": []}')
    paths = {"old": files["old"], **{k: str(tmp_path / f"{k}.json") for k in ("notjson", "notaudit", "v2")}}
    res = run_cli(capsys, "gate", *[a.format(**paths) if a.startswith("{") else a for a in args])
    assert res.code == 2, (res.code, res.out, res.err)
    lines = [line for line in res.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and pattern in lines[0], res.err
    assert "Traceback" not in res.err


def test_subprocess_exit_codes(files):
    env = {**os.environ, "TRUSTMAP_PROGRESS": "0"}
    bad = subprocess.run(
        [sys.executable, "-m", "trustmap", "gate", files["old"], files["worse"]],
        capture_output=True,
        text=True,
        env=env,
    )
    missing = subprocess.run(
        [sys.executable, "-m", "trustmap", "gate", files["old"], "nope.json"], capture_output=True, text=True, env=env
    )
    assert (bad.returncode, missing.returncode) == (1, 2), (bad.stderr, missing.stderr)
    assert "gate failed" in bad.stdout
    assert missing.stderr.strip().startswith("error:") and len(missing.stderr.strip().splitlines()) == 1


def test_missing_probe_fails_closed_unless_allowed(capsys, tmp_path, files):
    doc = json.loads((tmp_path / "old.json").read_text())
    doc["probes"][1].update(status="failed", reason="boom", metrics={})
    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps(doc))
    res = run_cli(capsys, "gate", files["old"], str(failed))
    assert res.code == 1
    assert "gate failed" in res.out and "loss-mia: failed in the new report (boom)" in res.out
    assert "gate passed" not in res.out
    res = run_cli(capsys, "gate", files["old"], str(failed), "--allow-missing")
    assert res.code == 0 and "gate passed" in res.out and "1 missing allowed" in res.out


def test_nan_metric_fails_closed(capsys, tmp_path, files):
    doc = json.loads((tmp_path / "old.json").read_text())
    doc["probes"][0]["metrics"]["robust_gap"] = float("nan")
    nan = tmp_path / "nan.json"
    nan.write_text(json.dumps(doc))  # json writes NaN, as the audit does for an uncomputable metric
    res = run_cli(capsys, "gate", files["old"], str(nan))
    assert res.code == 1 and "robust-fairness.robust_gap: NaN in the new report" in res.out


def test_untracked_metrics_only_with_all(capsys, tmp_path):
    probes = [ProbeResult(probe="p", dimension="security", title="P", metrics={"auc": 0.5, "mystery": 0.25})]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(TrustReport(model={}, data={}, seed=0, budget="quick", probes=probes).to_json_dict()))
    res = run_cli(capsys, "gate", str(path), str(path))
    assert res.code == 0 and "auc" in res.out and "mystery" not in res.out and "--all" in res.out
    res = run_cli(capsys, "gate", str(path), str(path), "--all")
    assert res.code == 0 and "mystery" in res.out and "untracked" in res.out


def test_full_numbers_on_an_80_column_terminal(tmp_path):
    probes = [
        ProbeResult(
            probe="group-fairness",
            dimension="fairness",
            title="GF",
            metrics={"demographic_parity_difference": 0.812345, "equalized_odds_difference": 0.2},
        )
    ]
    paths = []
    for name, dpd in (("old", 0.812345), ("new", 0.861234)):
        probes[0].metrics["demographic_parity_difference"] = dpd
        doc = TrustReport(model={}, data={}, seed=0, budget="quick", probes=probes).to_json_dict()
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        paths.append(str(tmp_path / f"{name}.json"))
    env = {**os.environ, "TRUSTMAP_PROGRESS": "0", "COLUMNS": "80", "TERM": "xterm"}
    run = subprocess.run(
        [sys.executable, "-m", "trustmap", "gate", *paths], capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode == 1, run.stderr
    assert "…" not in run.stdout
    assert "0.8123" in run.stdout and "0.8612" in run.stdout and "+0.0489" in run.stdout
    table = [line for line in run.stdout.splitlines() if not line.startswith("gate failed")]  # soft-wrapped
    assert max(len(line) for line in table) <= 80
