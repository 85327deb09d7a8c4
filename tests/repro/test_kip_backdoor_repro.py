"""``trustmap repro kip-backdoor --quick``: every arm runs and the table, per-seed runs and checks come out."""

import json
import math

from trustmap.repro import repro_info
from trustmap.repro.kip_backdoor import ARMS


def test_quick_kip_backdoor_repro_makes_its_table_with_intervals():
    result = repro_info("kip-backdoor").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == list(ARMS)
    assert result.seeds == [0, 1] and len(result.runs) == 2 * len(ARMS)
    assert all(len(r["cta_per_seed"]) == 2 and "[" in r["cta_95"] for r in result.rows)
    poisoned = [r for r in result.rows if "asr" in r]
    assert len(poisoned) == 5 and all("[" in r["asr_95"] for r in poisoned)
    relax = [r for r in result.runs if r["method"] == "relax 12x12"]
    assert all(r["linf"] <= 0.3 + 1e-6 for r in relax)
    naive = [r for r in result.runs if r["method"] == "naive 2x2"]
    assert all(r["linf"] > 0.9 for r in naive)  # a full-opacity white patch
    kinds = [c.kind for c in result.checks]
    assert kinds[:2] == ["sanity", "sanity"] and kinds.count("claim") == 7 and kinds.count("info") == 2
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
