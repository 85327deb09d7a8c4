"""``trustmap repro modeldiff --quick``: it runs and produces its table and checks (not the claim)."""

import json
import math

import numpy as np
import pytest

from trustmap.repro import repro_ids, repro_info
from trustmap.repro.modeldiff import best_threshold, held_out_accuracy


def test_modeldiff_repro_is_registered():
    assert "modeldiff" in repro_ids() and repro_info("modeldiff").arxiv == "2106.08890"


def test_held_out_threshold():
    reused = np.array([True] * 6 + [False] * 6)
    scores = np.array([0.9, 0.95, 0.99, 0.97, 0.92, 0.91, 0.5, 0.6, 0.4, 0.55, 0.35, 0.45])
    t = best_threshold(reused, scores)
    assert 0.6 < t < 0.9
    acc, thr = held_out_accuracy(reused, scores, seed=0)
    assert acc == 1.0 and thr == t


@pytest.mark.slow
def test_quick_modeldiff_repro_runs_and_makes_its_table():
    result = repro_info("modeldiff").run(size="quick", seed=0, progress=False)
    assert result.method == "modeldiff" and result.size == "quick"
    assert [r["method"] for r in result.rows][:3] == ["ModelDiff", "label agreement", "weight cosine"]
    assert "hard negatives" in result.rows[3]["method"] and result.status == "smoke run"
    assert result.runs[0]["reused_pairs"] >= 12 and result.runs[0]["hard_pairs"] > 0 and result.claim.endswith(".")
    assert {c.kind for c in result.checks} == {"sanity", "claim", "info"}
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)
