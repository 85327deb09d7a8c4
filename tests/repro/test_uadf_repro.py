"""``trustmap repro uadf --quick``: every arm at both SNRs, per-seed runs, intervals and checks."""

import json
import math

from trustmap.repro import repro_info
from trustmap.repro.uadf import METHODS, SNRS


def test_quick_uadf_repro_makes_its_table_with_intervals():
    result = repro_info("uadf").run(size="quick", seed=0, progress=False)
    assert [(r["snr_db"], r["method"]) for r in result.rows] == [(s, m) for s in SNRS for m in METHODS]
    assert len(result.runs) == 2 * len(SNRS) * len(METHODS) and result.seeds == [0, 1]
    assert all(0 <= r["wer"] and "[" in r["wer_95"] and len(r["wer_per_seed"]) == 2 for r in result.rows)
    assert all(r["temperature"] > 0 and 0 <= r["ece_calibrated"] <= 1 for r in result.runs)
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 3 and kinds.count("claim") == 3 and kinds.count("info") == 4
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    assert "SYNTHETIC AUDIO" in result.notes
    json.dumps(result.to_dict(), default=str)
