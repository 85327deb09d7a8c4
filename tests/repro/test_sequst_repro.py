"""``trustmap repro sequst --quick``: all four taggers, per-seed F1, pseudo-label precision and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_sequst_repro_makes_its_table_with_intervals():
    result = repro_info("sequst").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == ["sequst", "vanilla-self-training", "supervised-only", "random-tagger"]
    assert len(result.runs) == 2 * 4 and result.seeds == [0, 1]
    assert all(len(r["f1_per_seed"]) == 2 and "[" in r["f1_95"] for r in result.rows)
    assert all(0 <= r["f1"] <= 1 and 0 <= r["precision"] <= 1 for r in result.rows)
    seq = result.rows[0]
    assert 0 <= seq["selected_precision"] <= 1 and 0 <= seq["rejected_precision"] <= 1
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 2 and kinds.count("claim") == 3
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    assert "silver" in result.notes.lower()
    json.dumps(result.to_dict(), default=str)
