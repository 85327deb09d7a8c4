"""``trustmap repro ddi-coco --quick``: both models on the contrast and control sets, per-seed runs, checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_ddi_coco_repro_makes_its_table_with_intervals():
    result = repro_info("ddi-coco").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == [
        "cnn-s (contrast set)",
        "logreg (contrast set)",
        "cnn-s (control set)",
        "logreg (control set)",
    ]
    assert len(result.runs) == 2 * 4 and result.seeds == [0, 1]
    assert all(len(r["auroc_gap_per_seed"]) == 2 and "[" in r["auroc_gap_95"] for r in result.rows)
    assert all(0.0 <= r["auroc"] <= 1.0 for r in result.runs)
    cnn = result.rows[0]
    assert len(cnn["probe_flagged_per_seed"]) == 2 and any(k.startswith("tone_") for k in cnn)
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 4 and kinds.count("claim") == 5
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
