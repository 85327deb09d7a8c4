"""``trustmap repro transtailor --quick``: every arm runs, pruned arms share the FLOP budget, checks and
intervals are produced."""

import json
import math

from trustmap.repro import repro_info


def test_quick_transtailor_repro_makes_its_table_with_intervals():
    result = repro_info("transtailor").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == [
        "full fine-tune",
        "transtailor",
        "l1-filter",
        "random-filter",
        "magnitude (unstructured)",
        "scratch",
    ]
    assert result.seeds == [0, 1] and all(
        len(r["accuracy_per_seed"]) == 2 and "[" in r["accuracy_95"] for r in result.rows
    )
    kept = {r["method"]: r["flops_kept"] for r in result.rows}
    assert kept["full fine-tune"] == 1.0
    assert all(0.6 < kept[m] <= 0.7 for m in ("transtailor", "l1-filter", "random-filter", "magnitude (unstructured)"))
    assert abs(kept["transtailor"] - kept["l1-filter"]) < 0.03
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim", "info"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
