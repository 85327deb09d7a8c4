"""benchmarks/run_all.py: discovery, the ``--only`` filter, result collection and the table (on fake benchmarks)."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", RUN_ALL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("run_all", None)


def _bench(directory: Path, name: str, body: str) -> Path:
    path = directory / f"bench_{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    import json, os, sys
    quick = "--quick" in sys.argv
    ratios = [
        {"measure": "wall time", "method": "ours", "baseline": "theirs", "value": 0.25 if quick else 0.5,
         "target": "<= 0.5", "passed": True, "meaning": "our time / theirs"},
        {"measure": "robust acc diff", "method": "ours", "baseline": "theirs", "value": 0.01,
         "target": "<= 0.005", "passed": False, "meaning": "ours minus theirs"},
    ]
    with open(os.environ["TRUSTMAP_BENCH_RESULT"], "w") as f:
        json.dump({"benchmark": "good", "ratios": ratios}, f)
"""
CRASH = """
    import sys
    print("something went wrong in the crash benchmark", file=sys.stderr)
    sys.exit(3)
"""
SILENT = "print('done, but reported nothing')\n"
MALFORMED = """
    import os
    open(os.environ["TRUSTMAP_BENCH_RESULT"], "w").write('{"ratios": [{"measure": "x", "value": 1.0}]}')
"""


def test_discovers_only_bench_scripts_and_filters_by_name(run_all, tmp_path):
    _bench(tmp_path, "good", GOOD)
    _bench(tmp_path, "crash", CRASH)
    (tmp_path / "_report.py").write_text("")
    (tmp_path / "helper.py").write_text("")
    found = run_all.discover(tmp_path)
    assert list(found) == ["crash", "good"]
    assert list(run_all.select(found, ["bench_good"])) == ["good"]
    assert list(run_all.select(found, ["good.py", "crash"])) == ["crash", "good"]
    assert list(run_all.select(found, None)) == ["crash", "good"]
    with pytest.raises(SystemExit, match="no benchmark 'nope'; available: crash, good"):
        run_all.select(found, ["nope"])


def test_one_table_with_ratios_and_a_failed_row(run_all, tmp_path, capsys):
    _bench(tmp_path, "good", GOOD)
    _bench(tmp_path, "crash", CRASH)
    out_json = tmp_path / "all.json"
    code = run_all.main(["--dir", str(tmp_path), "--quick", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 1  # the crashed benchmark fails the run
    lines = [ln for ln in out.splitlines() if ln.startswith(("good ", "crash "))]
    assert len(lines) == 3, out
    crash = next(ln for ln in lines if ln.startswith("crash"))
    assert "FAILED" in crash and "exit code 3" in crash
    wall = next(ln for ln in lines if "wall time" in ln)
    assert "ours / theirs" in wall and "0.250" in wall and " ok " in wall  # --quick reached the benchmark
    diff = next(ln for ln in lines if "diff" in ln)
    assert "+0.010" in diff and "MISS" in diff
    assert "something went wrong" in out  # the failed benchmark's output tail is shown
    saved = json.loads(out_json.read_text())
    assert [o["name"] for o in saved] == ["crash", "good"] and saved[0]["error"].startswith("exit code 3")


def test_missed_targets_fail_only_with_strict(run_all, tmp_path, capsys):
    _bench(tmp_path, "good", GOOD)
    assert run_all.main(["--dir", str(tmp_path)]) == 0
    assert "0.500" in capsys.readouterr().out  # full size without --quick
    assert run_all.main(["--dir", str(tmp_path), "--strict"]) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [(SILENT, "wrote no result"), (MALFORMED, "a ratio lacks method, baseline, meaning")],
)
def test_a_benchmark_without_a_valid_result_fails(run_all, tmp_path, capsys, body, reason):
    _bench(tmp_path, "odd", body)
    _bench(tmp_path, "good", GOOD)
    assert run_all.main(["--dir", str(tmp_path), "--only", "odd"]) == 1
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("odd "))
    assert "FAILED" in row and reason in row
    assert "good" not in out  # --only ran nothing else


def test_timeout_is_a_failure(run_all, tmp_path):
    script = _bench(tmp_path, "slow", "import time\ntime.sleep(30)\n")
    o = run_all.run_one("slow", script, quick=False, timeout=0.5, verbose=False, workdir=tmp_path)
    assert o.failed and o.error == "timed out after 0.5 s"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("not json", "not JSON"), ("[]", "no ratios"), ('{"ratios": []}', "no ratios"),
     ('{"ratios": [{"measure": "m", "method": "a", "baseline": "b", "value": "fast", "meaning": "?"}]}',
      "non-numeric value 'fast'")],
)
def test_malformed_results_are_refused(run_all, text, reason):
    with pytest.raises(run_all.BadResult, match=reason):
        run_all.parse_result(text)


def test_report_writes_what_the_runner_reads(run_all, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("_bench_report", RUN_ALL.parent / "_report.py")
    assert spec and spec.loader
    report = importlib.util.module_from_spec(spec)
    sys.modules["_bench_report"] = report
    try:
        spec.loader.exec_module(report)
        out = tmp_path / "r.json"
        ratio = report.Ratio("wall time", "ours", "theirs", 0.2, "our time / theirs", *report.at_most(0.2, 1 / 3))
        monkeypatch.delenv(report.RESULT_ENV, raising=False)
        report.report("x", [ratio])  # run by hand: writes nothing
        assert not out.exists()
        monkeypatch.setenv(report.RESULT_ENV, str(out))
        report.report("x", [ratio, report.Ratio("m", "a", "b", float("nan"), "?", *report.at_least(float("nan"), 1))])
        ratios = run_all.parse_result(out.read_text())
        assert ratios[0]["target"] == "<= 0.333" and ratios[0]["passed"] is True
        assert ratios[1]["target"] == ">= 1" and ratios[1]["passed"] is False  # NaN never passes
    finally:
        sys.modules.pop("_bench_report", None)


@pytest.mark.parametrize("script", sorted(RUN_ALL.parent.glob("bench_*.py")), ids=lambda p: p.stem)
def test_every_real_benchmark_follows_the_protocol(script):
    """Without running it: it accepts --quick and hands its ratios to report()."""
    source = script.read_text()
    assert '"--quick"' in source
    assert "from _report import" in source and "report(" in source
