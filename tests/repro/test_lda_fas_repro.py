"""``trustmap repro lda-fas --quick``: every head, cross-attack protocols, few-shot rows and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_lda_fas_repro_makes_its_table_with_intervals():
    result = repro_info("lda-fas").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == ["softmax", "CosFace (K=1)", "LDA (K=5)"]
    assert len(result.runs) == 3 * 2 and result.seeds == [0, 1]
    assert all("[" in r["seen_acer_95"] and set(r["unseen_acer_per_holdout"]) == {"print", "mask"} for r in result.rows)
    assert "unseen_acer_5shot" not in result.rows[0] and "unseen_acer_5shot" in result.rows[2]
    assert all(0.0 <= r["seen_acer"] <= 1.0 and 0.0 <= r["unseen_acer"] <= 1.0 for r in result.runs)
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 3 and kinds.count("claim") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
