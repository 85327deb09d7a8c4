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


def _apt_runs(*, gain, pt8=0.80, frozen=0.70):
    runs = []
    for s, j in zip((0, 1, 2), (0.0, 0.002, -0.002), strict=True):
        common = {"task": "rt", "seed": s, "majority": 0.5, "frozen_probe": frozen}
        runs.append({"method": "PT2-8", **common, "test_accuracy": pt8 + j})
        runs.append({"method": "APT-8", **common, "test_accuracy": pt8 + j + gain + j / 2, "lambda_max_over_min": 1.1})
    return runs


def test_apt_checks_hold_for_a_gain_above_the_papers_0_7_points():
    from trustmap.repro.apt import apt_checks
    from trustmap.repro.base import ReproResult

    checks = apt_checks(_apt_runs(gain=0.012))
    claim = next(c for c in checks if c.kind == "claim")
    assert claim.target.startswith(">= 0.7") and claim.passed
    assert next(c for c in checks if "lambda" in c.name).kind == "info"  # never judged
    assert ReproResult(method="apt", claim="c.", rows=[], checks=checks).status == "held"
    below = apt_checks(_apt_runs(gain=0.004))  # +0.4 points: under the paper's +0.7
    assert ReproResult(method="apt", claim="c.", rows=[], checks=below).status == "did not hold"


def test_apt_is_not_a_test_when_prefix_tuning_does_not_beat_frozen_embeddings():
    from trustmap.repro.apt import apt_checks
    from trustmap.repro.base import ReproResult

    checks = apt_checks(_apt_runs(gain=0.02, pt8=0.65, frozen=0.70))
    assert ReproResult(method="apt", claim="c.", rows=[], checks=checks).status == "not a test"


def _zo_runs(*, zo=0.70, fo=0.80, block=0.71, aligned=0.75, majority=0.52):
    accs = {"FO-SGD": fo, "ZO-SGD": zo, "ZO-SGD block-wise": block, "ZO-SGD aligned head": aligned}
    return [
        {"method": m, "seed": s, "majority": majority, "start_accuracy": 0.48, "test_accuracy": a + 0.003 * s}
        for s in (0, 1, 2)
        for m, a in accs.items()
    ]


def _zo_rows():
    mem = {"ZO-SGD": 100, "ZO-SGD-Sign": 100, "ZO-Adam": 150, "ZO-SGD block-wise": 100, "FO-Adam": 400}
    return [{"method": m, "memory_bytes": b, "saved_bytes": 0 if m != "FO-Adam" else 50} for m, b in mem.items()]


def test_zo_bench_gains_are_measured_over_the_majority_class():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.zo_bench import zo_bench_checks

    checks = zo_bench_checks(_zo_runs(), _zo_rows())
    assert {c.name for c in checks} >= {
        "ZO-SGD - majority class (points)",
        "ZO-SGD block-wise - majority class (points)",
    }
    assert ReproResult(method="zo-bench", claim="c.", rows=[], checks=checks).status == "held"
    # a ZO run that learned only the class prior sits at the majority rate: the claim fails
    prior = zo_bench_checks(_zo_runs(zo=0.53, block=0.54, aligned=0.60), _zo_rows())
    assert next(c for c in prior if c.name.startswith("ZO-SGD - majority")).verdict == "failed"
    assert ReproResult(method="zo-bench", claim="c.", rows=[], checks=prior).status == "did not hold"
    # FO-SGD below the majority class: nothing is a test
    untrained = zo_bench_checks(_zo_runs(fo=0.45), _zo_rows())
    assert ReproResult(method="zo-bench", claim="c.", rows=[], checks=untrained).status == "not a test"
