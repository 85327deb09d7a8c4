"""``trustmap repro deltadq``: the quick smoke run, and the checks on hand-made per-repeat runs."""

from __future__ import annotations

import json

import pytest

from trustmap.repro.base import ReproResult


@pytest.mark.slow
def test_quick_run_produces_the_table():
    from trustmap.repro import repro_info

    result = repro_info("deltadq").run(size="quick", seed=0, progress=False)
    assert result.status == "smoke run" and result.method == "deltadq"
    names = [r["method"] for r in result.rows]
    for m in ("deltadq", "dare", "bitdelta-lite", "magnitude"):
        assert f"{m} 16x" in names and f"{m} 64x" in names
    dq = next(r for r in result.rows if r["method"] == "deltadq 64x")
    assert len(dq["accuracy_per_seed"]) == 2 and "[" in dq["accuracy_95"] and dq["achieved_ratio"] >= 64
    assert all(r["achieved_ratio"] >= r["ratio"] for r in result.runs if r["ratio"] is not None)
    assert {c.kind for c in result.checks} == {"claim", "sanity", "info"}
    json.dumps(result.to_dict())


def _runs(*, ft=0.80, zero=0.55, dq16=0.80, dq64=0.78, dare64=0.72, bd64=0.76):
    runs = []
    for k in range(3):
        j = 0.002 * k
        runs += [
            {"method": "uncompressed", "ratio": None, "repeat": k, "accuracy": ft},
            {"method": "delta dropped", "ratio": None, "repeat": k, "accuracy": zero},
        ]
        for ratio, accs in (
            (16, (dq16, 0.79, 0.79, 0.75)),
            (64, (dq64, dare64, bd64, 0.6)),
            (128, (0.7, 0.6, 0.6, 0.5)),
        ):
            for m, a in zip(("deltadq", "dare", "bitdelta-lite", "magnitude"), accs, strict=True):
                row = {"method": m, "ratio": ratio, "repeat": k, "accuracy": a + j, "achieved_ratio": ratio * 1.01}
                runs.append(row | {"bits_per_entry": 16 / ratio, "bits": 2, "groups": {"row": 36}})
    return runs


def test_checks_hold_when_deltadq_wins_and_fail_when_it_loses():
    from trustmap.repro.deltadq import deltadq_checks, summary_rows

    checks = deltadq_checks(_runs(), ratios=(16, 64, 128), majority=0.58, ratio_std=0.05)
    assert all(c.passed for c in checks if c.kind != "info")
    assert ReproResult(method="deltadq", claim="c.", rows=[], checks=checks).status == "held"
    bad = deltadq_checks(_runs(dq64=0.73), ratios=(16, 64, 128), majority=0.58, ratio_std=0.05)
    assert ReproResult(method="deltadq", claim="c.", rows=[], checks=bad).status == "did not hold"
    broken = deltadq_checks(_runs(zero=0.9), ratios=(16, 64, 128), majority=0.58, ratio_std=0.05)
    assert ReproResult(method="deltadq", claim="c.", rows=[], checks=broken).status == "not a test"
    rows = summary_rows(_runs(), (16, 64, 128))
    dq = next(r for r in rows if r["method"] == "deltadq 64x")
    assert dq["accuracy_per_seed"] == [0.78, 0.782, 0.784] and dq["accuracy"] == pytest.approx(0.782)
