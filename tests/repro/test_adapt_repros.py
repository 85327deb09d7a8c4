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
