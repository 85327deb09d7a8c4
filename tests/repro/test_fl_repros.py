"""Smoke tests (``--quick``) of the federated and split-learning repros: they run and report honestly."""

import json
import math

import pytest

from trustmap.repro import repro_info

FL_REPROS = ("refiner", "distfl", "pfa", "spadv")


@pytest.mark.slow
@pytest.mark.parametrize("method", FL_REPROS)
def test_quick_repro_runs_and_never_claims_at_quick_size(method):
    result = repro_info(method).run(size="quick", seed=0, progress=False)
    assert result.method == method and result.size == "quick"
    assert all(c.kind in ("claim", "sanity", "info") for c in result.checks)
    assert result.rows and result.checks and result.claim.endswith(".")
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)  # the CLI's --json output is valid JSON (no NaN)


def test_fl_repros_are_registered():
    from trustmap.repro import repro_ids

    assert set(FL_REPROS) <= set(repro_ids())


def _refiner_runs(*, refiner_psnr, refiner_acc=0.80):
    runs = []
    for i in range(2):
        j = 0.1 * i
        row = {"seed": i, "lambda": 0.1}
        for m, psnr, acc in (("none", 20.0, 0.81), ("noise", 12.0, 0.80), ("topk", 14.0, 0.80)):
            row.update({f"{m}.psnr": psnr + j, f"{m}.accuracy": acc + j / 100, f"{m}.psnr_noise": 6.0})
        row.update({"refiner.psnr": refiner_psnr + j, "refiner.accuracy": refiner_acc + j / 100})
        runs.append(row)
    return runs


def test_refiner_checks_hold_when_refiner_wins_at_equal_accuracy():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.refiner import refiner_checks

    checks = refiner_checks(_refiner_runs(refiner_psnr=8.0))
    best = next(c for c in checks if c.name.startswith("PSNR drop vs best"))
    assert "Gaussian noise" in best.name and best.value == pytest.approx(4.0) and best.verdict == "passed"
    assert ReproResult(method="refiner", claim="c.", rows=[], checks=checks).status == "held"
    costly = refiner_checks(_refiner_runs(refiner_psnr=8.0, refiner_acc=0.70))  # 11 points of accuracy lost
    assert ReproResult(method="refiner", claim="c.", rows=[], checks=costly).status == "did not hold"
