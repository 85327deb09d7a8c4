"""``trustmap repro olss --quick``: every sampler's row, per-seed runs, intervals and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_olss_repro_makes_its_table_with_intervals(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))
    result = repro_info("olss").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["DDIM-100 (teacher)", "DDIM-5", "DPM-Solver++-5", "OLSS-P-5", "OLSS-5", "Gaussian noise"]
    assert result.seeds == [0, 1] and len(result.runs) == 2 * len(methods)
    rows = {r["method"]: r for r in result.rows}
    assert rows["DDIM-100 (teacher)"]["endpoint_mse"] == 0.0
    assert all(len(r["mmd_per_seed"]) == 2 and "[" in r["mmd_95"] for r in result.rows)
    olss = [r for r in result.runs if r["method"] == "OLSS-5"]
    assert all(r["path"][0] == 0 and len(r["path"]) <= 5 for r in olss)
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
