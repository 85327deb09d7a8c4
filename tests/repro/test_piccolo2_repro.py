"""``trustmap repro piccolo2 --quick``: hybrid+MRL, InfoNCE-all and frozen rows at several dimensions."""

import json
import math

from trustmap.repro import repro_info


def test_quick_piccolo2_repro_makes_its_table_with_intervals():
    result = repro_info("piccolo2").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == ["piccolo2-hybrid-mrl", "infonce-all", "frozen-minilm"]
    assert len(result.runs) == 2 * 3 and result.seeds == [0, 1]
    run = result.runs[0]
    assert {f"mrr10@{d}" for d in (32, 64, 128, 384)} <= set(run) and 0 < run["random_mrr10"] < run["mrr10@384"]
    assert all(-1 <= r["spearman@384"] <= 1 and 0 <= r["knn_acc@32"] <= 1 for r in result.runs)
    frozen = [r for r in result.runs if r["method"] == "frozen-minilm"]
    assert frozen[0]["mrr10@384"] == frozen[1]["mrr10@384"]  # the untrained encoder does not depend on the seed
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 3 and kinds.count("claim") == 5
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
