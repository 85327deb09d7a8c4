"""``trustmap repro gtp --quick``: every selector at both budgets, duplicates counted, checks produced."""

import json
import math

from trustmap.repro import repro_info


def test_quick_gtp_repro_makes_its_table_with_intervals():
    result = repro_info("gtp").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods[0] == "full pool" and len(methods) == 1 + 2 * 4
    assert {"gtp k=10", "top-k cosine (LESS-like) k=10", "high loss k=40", "random k=40"} <= set(methods)
    assert result.seeds == [0, 1] and all(
        len(r["accuracy_per_seed"]) == 2 and "[" in r["accuracy_95"] for r in result.rows
    )
    by = {r["method"]: r for r in result.rows}
    assert by["gtp k=40"]["duplicates"] <= by["top-k cosine (LESS-like) k=40"]["duplicates"]
    assert by["full pool"]["duplicates"] > 0 and by["full pool"]["flipped"] > 0
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim", "claim", "info"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
