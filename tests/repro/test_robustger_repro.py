"""``trustmap repro robustger --quick``: 1-best, GER arms, probes, per-seed runs and checks."""

import json
import math

from trustmap.repro import repro_info
from trustmap.repro.robustger import METHODS


def test_quick_robustger_repro_makes_its_table_with_intervals():
    result = repro_info("robustger").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == list(METHODS)
    assert len(result.runs) == 2 * len(METHODS) and result.seeds == [0, 1]
    assert all("[" in r["wer_95"] and {"wer_0dB", "wer_5dB", "wer_10dB"} <= set(r) for r in result.rows)
    assert all(
        0 <= r["probe_language_embedding"] <= 1 and 0 <= r["oracle_wer"] <= r["wer"] + 1e-9
        for r in result.runs
        if r["method"] == "1-best"
    )
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 2 and kinds.count("claim") == 3 and kinds.count("info") == 2
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    assert "SYNTHETIC AUDIO" in result.notes and "SIMULATED" in result.notes
    json.dumps(result.to_dict(), default=str)
