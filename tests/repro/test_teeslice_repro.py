"""``--quick`` smoke run of ``trustmap repro teeslice``: it runs and produces its FLOPs/latency table and
checks; a quick run never claims the result (the claim is checked only at default size)."""

import collections
import json
import math

import pytest

from trustmap.repro import repro_ids, repro_info


def test_teeslice_repro_is_registered():
    assert "teeslice" in repro_ids()
    assert repro_info("teeslice").arxiv == "2310.07152"


@pytest.mark.slow
def test_quick_teeslice_repro_runs_and_makes_its_table():
    result = repro_info("teeslice").run(size="quick", seed=0, progress=False)
    assert result.method == "teeslice" and result.size == "quick"
    methods = [r["method"] for r in result.rows]
    assert methods == ["none", "shallow", "deep", "magnitude", "intermediate", "whole", "teeslice"]
    for row in result.rows:
        for key in ("enclave_flops_pct", "latency_ms_per_256", "stolen_accuracy", "mia_auc", "victim_accuracy"):
            assert isinstance(row[key], float) and not math.isnan(row[key])
    by = {r["method"]: r for r in result.rows}
    assert by["none"]["enclave_flops_pct"] == 0.0 and by["whole"]["enclave_flops_pct"] == 100.0
    assert by["teeslice"]["enclave_flops_pct"] <= 20.0
    kinds = collections.Counter(c.kind for c in result.checks)
    assert kinds == {"sanity": 3, "claim": 5, "info": 1}, kinds
    assert result.runs and result.claim.endswith(".")
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)


def _tee_runs(*, best_gain, teeslice_mia=0.60, victim_mia=0.62):
    """Fake per-seed rows for teeslice's checks: 'whole' steals 0.60, 'deep' 0.60 + best_gain."""
    from trustmap.repro.teeslice import METHODS

    runs = []
    for i in range(3):
        j = 0.004 * i
        row = {"seed": i}
        for m in METHODS:
            row.update({f"{m}.enclave_flops_pct": 15.0, f"{m}.stolen": 0.55, f"{m}.mia_auc": 0.58})
            row.update({f"{m}.victim": 0.80 + j, f"{m}.victim_mia_auc": victim_mia})
        row.update({"whole.enclave_flops_pct": 100.0, "whole.stolen": 0.60 + j, "whole.mia_auc": 0.59})
        row.update({"none.enclave_flops_pct": 0.0, "deep.stolen": 0.60 + best_gain + j, "deep.mia_auc": 0.61})
        row.update({"teeslice.enclave_flops_pct": 3.0, "teeslice.stolen": 0.60 + j, "teeslice.mia_auc": teeslice_mia})
        runs.append(row)
    return runs


def test_teeslice_checks_hold_when_a_prior_scheme_leaks_and_teeslice_does_not():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.teeslice import teeslice_checks

    checks = teeslice_checks(_tee_runs(best_gain=0.10))
    gain = next(c for c in checks if c.name.startswith("best prior scheme at"))
    assert "(deep)" in gain.name and gain.value == pytest.approx(10.0) and gain.verdict == "passed"
    assert ReproResult(method="teeslice", claim="c.", rows=[], checks=checks).status == "held"


def test_teeslice_checks_ceiling_effect_fails_and_unmeasurable_mia_is_not_a_test():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.teeslice import teeslice_checks

    ceiling = teeslice_checks(_tee_runs(best_gain=0.01))  # prior schemes leak about as little as whole-model
    assert ReproResult(method="teeslice", claim="c.", rows=[], checks=ceiling).status == "did not hold"
    flat = teeslice_checks(_tee_runs(best_gain=0.10, victim_mia=0.49))  # the victim itself shows no membership
    assert ReproResult(method="teeslice", claim="c.", rows=[], checks=flat).status == "not a test"
