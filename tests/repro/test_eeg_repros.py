"""``trustmap repro cbramod --quick`` and ``repro sf-uida --quick``: every arm runs and makes its table."""

import json
import math

from trustmap.repro import repro_info


def test_quick_cbramod_repro_makes_its_table_with_intervals():
    result = repro_info("cbramod").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["CBraMod-lite", "full attention", "CBraMod-lite, no pre-training", "EEGNet"]
    assert len(result.runs) == 2 * len(methods) and result.seeds == [0, 1]
    assert all(len(r["per_seed"]) == 2 and "[" in r["balanced_accuracy_95"] for r in result.rows)
    assert all(0.0 <= r["balanced_accuracy"] <= 1.0 for r in result.runs)
    assert len(result.rows[0]["pretrain_loss"]) == 1 and not result.rows[2]["pretrain_loss"]
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 6 and kinds.count("claim") == 3 and kinds.count("info") == 1
    # the pre-training sanity checks compare held-out reconstruction with predicting zeros
    assert [r["held_out_masked_mse"] is None for r in result.rows] == [False, False, True, True]
    assert all(c.value == c.value for c in result.checks[:2]) and "predicting zeros" in result.checks[0].name
    assert result.checks[-1].passed  # the 19-channel backbone took the 12-channel input unchanged
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    assert "SYNTHETIC" in result.notes
    json.dumps(result.to_dict(), default=str)


def test_quick_sf_uida_repro_makes_its_table_with_intervals():
    result = repro_info("sf-uida").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods[:4] == ["source only", "Tent", "SHOT", "SF-UIDA"] and len(methods) == 5
    assert len(result.runs) == 2 * 4 and result.seeds == [0, 1]
    assert all(len(r["per_target_f1"]) == 2 for r in result.runs)
    assert all("[" in r["target_macro_f1_95"] and len(r["f1_per_seed"]) == 2 for r in result.rows[:4])
    kinds = [c.kind for c in result.checks]
    assert kinds == ["sanity", "sanity", "claim", "claim", "claim", "claim", "info", "info"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    assert result.rows[0]["cpu_s_per_subject"] == 0.0 and result.rows[3]["cpu_s_per_subject"] > 0
    # same budget: Tent and SHOT make as many passes over the target as SF-UIDA (SCC + teacher-student)
    assert [r["passes"] for r in result.rows[:4]] == [0, 2, 2, 2]
    json.dumps(result.to_dict(), default=str)
