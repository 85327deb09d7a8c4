"""``trustmap repro co-tenqu --quick``: every model, parameter matching, SWAP-test check and intervals."""

import json
import math

from trustmap.repro import repro_info


def test_quick_co_tenqu_repro_makes_its_table_with_intervals():
    result = repro_info("co-tenqu").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["co-TenQu (MPS + 4 qubits)", "PCA-4q", "PCA-8q", "MLP (parameter-matched)"]
    assert len(result.runs) == 2 * 4 and result.seeds == [0, 1]
    params = {r["method"]: r["parameters"] for r in result.rows}
    assert abs(params["MLP (parameter-matched)"] / params["co-TenQu (MPS + 4 qubits)"] - 1) < 0.02
    assert params["PCA-4q"] == 4 * 2 * 4 * 2 and params["PCA-8q"] == 4 * 2 * 8 * 2
    swap = next(c for c in result.checks if "SWAP" in c.name)
    assert swap.passed and swap.value < 1e-9
    assert [c.kind for c in result.checks].count("sanity") == 4
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in result.runs) and result.status == "smoke run"
    assert all(not math.isnan(c.value) for c in result.checks)
    json.dumps(result.to_dict(), default=str)
