"""``--quick`` smoke run of ``trustmap repro teeslice``: it runs and produces its FLOPs/latency table and
checks; a quick run never claims the result (the claim is checked only at default size)."""

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
    assert len(result.checks) == 5 and result.runs and result.claim.endswith(".")
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)
