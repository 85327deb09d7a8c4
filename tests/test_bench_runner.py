"""benchmarks/run_all.py: discovery, the ``--only`` filter, BENCH-line collection and the table (on fake benchmarks)."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_all():
    yield _load("run_all", BENCHMARKS / "run_all.py")
    sys.modules.pop("run_all", None)


def _bench(directory: Path, name: str, body: str) -> Path:
    path = directory / f"bench_{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    import json, sys
    quick = "--quick" in sys.argv
    print("training... done")
    print("BENCH " + json.dumps({"name": "good", "measure": "wall time", "method": "ours", "baseline": "theirs",
                                 "ratio": 0.25 if quick else 0.5, "target": "<= 0.5", "passed": True,
                                 "meaning": "our time / theirs"}))
    print("BENCH " + json.dumps({"name": "good", "measure": "robust acc diff", "method": "ours", "baseline": "theirs",
                                 "ratio": 0.01, "target": "<= 0.005", "passed": False, "meaning": "ours minus theirs"}))
    print("BENCH " + json.dumps({"name": "good", "method": "ours", "baseline": "sequential", "ratio": 3.0,
                                 "meaning": "speed-up", "extra": 1}))
"""
CRASH = """
    import sys
    print("something went wrong in the crash benchmark", file=sys.stderr)
    sys.exit(3)
"""
SILENT = "print('done, but reported nothing')\n"
MALFORMED = """print('BENCH {"method": "a", "ratio": 1.0}')\n"""


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
    assert len(lines) == 4, out
    crash = next(ln for ln in lines if ln.startswith("crash"))
    assert "FAILED" in crash and "exit code 3" in crash
    wall = next(ln for ln in lines if "wall time" in ln)
    assert "ours / theirs" in wall and "0.250" in wall and " ok " in wall  # --quick reached the benchmark
    diff = next(ln for ln in lines if "diff" in ln)
    assert "+0.010" in diff and "MISS" in diff
    plain = next(ln for ln in lines if "sequential" in ln)
    assert "3.000" in plain and "speed-up" in plain and " - " in plain  # no target: neither ok nor MISS
    assert "something went wrong" in out  # the failed benchmark's output tail is shown
    assert "training... done" not in out  # a benchmark's own output stays in its log unless -v
    saved = json.loads(out_json.read_text())
    assert [o["name"] for o in saved] == ["crash", "good"] and saved[0]["error"].startswith("exit code 3")
    assert saved[1]["ratios"][2]["extra"] == 1  # extra keys are kept in the JSON


def test_missed_targets_fail_only_with_strict(run_all, tmp_path, capsys):
    _bench(tmp_path, "good", GOOD)
    assert run_all.main(["--dir", str(tmp_path)]) == 0
    assert "0.500" in capsys.readouterr().out  # full size without --quick
    assert run_all.main(["--dir", str(tmp_path), "--strict"]) == 1


def test_verbose_shows_the_benchmarks_own_output(run_all, tmp_path, capsys):
    _bench(tmp_path, "good", GOOD)
    assert run_all.main(["--dir", str(tmp_path), "-v"]) == 0
    assert "[good] training... done" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "reason"),
    [(SILENT, "printed no BENCH line"), (MALFORMED, "a BENCH line lacks baseline, meaning")],
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
    [
        ("no bench lines here", "printed no BENCH line"),
        ("BENCH not json", "not JSON"),
        ("BENCH []", "lacks method, baseline, ratio, meaning"),
        ('BENCH {"method": "a", "baseline": "b", "ratio": "fast", "meaning": "?"}', "non-numeric ratio 'fast'"),
        ('BENCH {"method": "a", "baseline": "b", "ratio": true, "meaning": "?"}', "non-numeric ratio True"),
    ],
)
def test_malformed_results_are_refused(run_all, text, reason):
    with pytest.raises(run_all.BadResult, match=reason):
        run_all.parse_result(text)


def test_report_prints_what_the_runner_reads(run_all, capsys):
    report = _load("_bench_report", BENCHMARKS / "_report.py")
    try:
        report.report(
            "x",
            [
                report.Ratio("wall time", "ours", "theirs", 0.2, "our time / theirs", *report.at_most(0.2, 1 / 3)),
                report.Ratio("m", "a", "b", float("nan"), "?", *report.at_least(float("nan"), 1)),
            ],
        )
    finally:
        sys.modules.pop("_bench_report", None)
    ratios = run_all.parse_result(capsys.readouterr().out)
    assert ratios[0]["name"] == "x" and ratios[0]["target"] == "<= 0.333" and ratios[0]["passed"] is True
    assert ratios[1]["target"] == ">= 1" and ratios[1]["passed"] is False  # NaN never passes


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("bench_*.py")), ids=lambda p: p.stem)
def test_every_real_benchmark_follows_the_protocol(script):
    """Without running it: it accepts --quick and prints BENCH lines (through _report.report or by hand)."""
    source = script.read_text()
    assert '"--quick"' in source
    assert "report(" in source or '"BENCH "' in source
