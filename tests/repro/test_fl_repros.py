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
