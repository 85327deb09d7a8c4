"""``trustmap repro vitcn --quick``: all three models, shortcut rates, parameter matching and checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_vitcn_repro_makes_its_table_with_intervals():
    result = repro_info("vitcn").run(size="quick", seed=0, progress=False)
    assert [r["method"] for r in result.rows] == ["ViTCN-lite", "CoPINet-lite", "plain ViT"]
    assert len(result.runs) == 2 * 3 and result.seeds == [0, 1]
    params = {r["method"]: r["parameters"] for r in result.rows}
    assert abs(params["CoPINet-lite"] / params["ViTCN-lite"] - 1) < 0.2
    assert all(r["mode_guess_one_attribute"] == 1.0 and r["mode_guess_balanced"] < 0.4 for r in result.runs)
    kinds = [c.kind for c in result.checks]
    assert kinds.count("sanity") == 3 and kinds.count("claim") == 4
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
