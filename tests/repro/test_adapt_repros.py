"""``--quick`` smoke runs of the adaptation repros: each runs, fills its table and checks, serialises, and
never claims the result (only a default-size run can)."""

from __future__ import annotations

import json

import pytest

from trustmap.repro import repro_info


@pytest.mark.slow
@pytest.mark.parametrize("method_id", ["lora-sp", "apt", "deft", "zo-bench"])
def test_quick_repro_runs(method_id):
    info = repro_info(method_id)
    result = info.run(size="quick", seed=0, progress=False)
    assert result.method == method_id and result.size == "quick"
    assert all(c.kind in ("claim", "sanity", "info") for c in result.checks)
    assert len(result.rows) >= 3 and result.checks and result.claim.endswith(".")
    assert all("method" in row for row in result.rows)
    json.dumps(result.to_dict())


def _lora_runs(*, lora_acc, frozen_acc, sp_gap=0.0):
    runs = []
    for i, s in enumerate((0, 1, 2)):
        j = 0.003 * i
        common = {"seed": s, "majority": 0.5, "retention_probe": 0.80 + j, "optimizer_state_bytes": 1000}
        runs += [
            {"method": "frozen-probe", "seed": s, "majority": 0.5, "test_accuracy": frozen_acc + j},
            {"method": "lora", **common, "test_accuracy": lora_acc + j, "trainable": 100, "adapter_params": 80},
            {
                "method": "lora-sp",
                **common,
                "test_accuracy": lora_acc + sp_gap + 2 * j,
                "trainable": 60,
                "adapter_params": 40,
                "optimizer_state_bytes": 520,
            },
            {
                "method": "peft-lora",
                **common,
                "test_accuracy": lora_acc + j / 2,
                "trainable": 100,
                "adapter_params": 80,
            },
        ]
    return runs


def test_lora_sp_checks_hold_for_a_trained_lora_that_sp_matches():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.lora_sp import lora_sp_checks

    checks = lora_sp_checks(_lora_runs(lora_acc=0.85, frozen_acc=0.76))
    sanity = [c for c in checks if c.kind == "sanity"]
    assert len(sanity) == 2 and all(c.passed for c in sanity)
    assert sanity[0].value == pytest.approx(9.0)
    assert ReproResult(method="lora-sp", claim="c.", rows=[], checks=checks).status == "held"


def test_lora_sp_is_not_a_test_when_lora_does_not_beat_frozen_embeddings():
    """The old recipe: every LoRA at the majority rate, below frozen MiniLM + logistic regression."""
    from trustmap.repro.base import ReproResult
    from trustmap.repro.lora_sp import lora_sp_checks

    checks = lora_sp_checks(_lora_runs(lora_acc=0.587, frozen_acc=0.76))
    assert next(c for c in checks if "frozen" in c.name).verdict == "failed"
    result = ReproResult(method="lora-sp", claim="c.", rows=[], checks=checks)
    assert result.status == "not a test" and not result.held


def test_two_sided_cross_check_verdicts():
    from trustmap.repro import Check

    within = Check.within

    assert within("x", [0.1, -0.2, 0.3], tolerance=1.0).verdict == "passed"
    assert within("x", [3.0, 3.2, 2.9], tolerance=1.0).verdict == "failed"
    assert within("x", [0.0, 2.0, -1.5], tolerance=1.0).verdict == "inconclusive"
