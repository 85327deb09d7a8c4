"""``trustmap repro conaclip --quick``: Cona, the distillation baselines, teacher and random rows."""

import json
import math

from trustmap.repro import repro_info


def test_quick_conaclip_repro_makes_its_table_with_intervals():
    result = repro_info("conaclip").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["conaclip", "feature-kd", "logit-kd", "infonce-only", "teacher", "random"]
    assert len(result.runs) == 2 * 6 and result.seeds == [0, 1]
    assert all(0 <= r["r1"] <= r["r5"] <= 1 for r in result.runs)
    assert len(result.rows[0]["edges_per_seed"]) == 2 and "intra=" in result.rows[0]["edges_per_seed"][0]
    ratio = next(c for c in result.checks if c.name.startswith("student / teacher"))
    assert ratio.value < 0.2 and ratio.passed
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 3 and kinds.count("claim") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
