"""``trustmap repro gagn --quick``: every model and attack, per-seed runs, intervals and checks."""

import json
import math

from trustmap.repro import repro_ids, repro_info


def test_quick_gagn_repro_makes_its_table_with_intervals():
    assert "gagn" in repro_ids() and repro_info("gagn").arxiv == "2306.06909"
    result = repro_info("gagn").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["gcn", "gcn-jaccard", "gnnguard-lite", "rgcn", "gagn"]
    assert len(result.runs) == 2 * len(methods) and result.seeds == [0, 1]
    for row in result.rows:
        for key in ("clean_accuracy", "adaptive_b2", "surrogate_b2", "random_b1", "karate_attacked"):
            assert 0.0 <= row[key] <= 1.0 and len(row[f"{key}_per_seed"]) == 2 and "[" in row[f"{key}_95"]
    kinds = [c.kind for c in result.checks]
    assert kinds[:3] == ["sanity"] * 3 and kinds.count("claim") == 4 and kinds.count("info") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
