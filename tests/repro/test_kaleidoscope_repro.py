"""``trustmap repro kaleidoscope --quick``: every arm, per-seed runs, MACs, throughput and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_kaleidoscope_repro_makes_its_table_with_intervals():
    result = repro_info("kaleidoscope").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["always-MLP (float)", "always-MLP (int8)", "always-CNN", "two-tier (int8 MLP + CNN)"]
    assert len(result.runs) == 2 * 4 and result.seeds == [0, 1]
    assert all(len(r["macro_f1_per_seed"]) == 2 and "[" in r["macro_f1_95"] for r in result.rows)
    macs = {r["method"]: r["macs_per_flow"] for r in result.rows}
    assert macs["always-MLP (float)"] < macs["two-tier (int8 MLP + CNN)"] < macs["always-CNN"]
    assert all(r["flows_per_s"] > 0 for r in result.runs)
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 2 and kinds.count("claim") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
