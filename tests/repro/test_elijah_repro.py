"""``trustmap repro elijah --quick``: every model's row, the detection rows, intervals and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_elijah_repro_makes_its_table(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))
    result = repro_info("elijah").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == [
        "clean models (reference)",
        "clean models (test)",
        "backdoored, before removal",
        "backdoored, after Elijah removal",
        "detection, inverted trigger",
        "detection, random-tau baseline",
    ]
    assert [r["role"] for r in result.runs] == ["ref", "backdoored", "clean"]
    bad = result.runs[1]
    assert {"asr_after", "utility_after", "fd_after", "uniformity_after"} <= set(bad)
    assert all(0 <= r["asr"] <= 1 and 0 < r["utility"] <= 1 and r["uniformity"] > 0 for r in result.runs)
    det = result.rows[4]
    assert det["of"] == 2 and 0 <= det["correct"] <= 2 and det["threshold"] > 0
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim", "info"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
