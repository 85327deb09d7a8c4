"""``trustmap repro video-summ --quick``: every arm with and without the distractor, per-seed runs, checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_video_summ_repro_makes_its_table_with_intervals():
    result = repro_info("video-summ").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == [
        "uniform sampling",
        "k-means clustering",
        "attention regressor",
        "attention regressor + distractor text",
        "conditional (ours-lite)",
        "conditional (ours-lite) + distractor text",
    ]
    assert len(result.runs) == 2 * 6 and result.seeds == [0, 1]
    assert all(len(r["f1_per_seed"]) == 2 and "[" in r["f1_95"] for r in result.rows)
    assert all(0.0 <= r["f1"] <= 1.0 for r in result.runs)
    kinds = [c.kind for c in result.checks]
    assert kinds == ["sanity", "claim", "claim", "claim"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
