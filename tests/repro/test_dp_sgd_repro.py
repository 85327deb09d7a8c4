"""``trustmap repro dp-sgd --quick``: runs every arm and produces its table, per-seed runs and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_dp_sgd_repro_makes_its_table_with_intervals():
    result = repro_info("dp-sgd").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["non-private", "non-private, DP schedule", "dp-sgd eps=1", "dp-sgd eps=8"]
    assert len(result.runs) == 2 * len(methods) and result.seeds == [0, 1]
    assert all(len(r["auc_per_seed"]) == 2 and "[" in r["mia_auc_95"] for r in result.rows)
    spent = {r["method"]: r["epsilon"] for r in result.runs if r["seed"] == 0}
    assert spent["dp-sgd eps=1"] <= 1.0 + 1e-6 and spent["dp-sgd eps=8"] <= 8.0 + 1e-6
    kinds = [c.kind for c in result.checks]
    assert kinds[0] == "sanity" and kinds.count("claim") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
