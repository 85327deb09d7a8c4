"""``trustmap repro meta-stackelberg --quick``: every arm runs, the table and checks come out, same seed same numbers."""

import json
import math

from trustmap.repro import repro_ids, repro_info
from trustmap.repro.meta_stackelberg import EVAL_ATTACKS, FIXED, META


def test_quick_run_produces_rows_and_checks_and_is_deterministic():
    info = repro_info("meta-stackelberg")
    assert "meta-stackelberg" in repro_ids() and info.arxiv == "2410.17431"
    result = info.run(size="quick", seed=0, progress=False)
    assert result.status == "smoke run" and not result.held and result.claim.endswith(".")
    assert [r["method"] for r in result.rows] == [
        META,
        "best fixed (α, β)",
        "FedAvg",
        "trimmed mean β=0.2",
        "norm clipping α=median",
    ]
    assert {c.kind for c in result.checks} == {"sanity", "claim", "info"} and len(result.checks) == 6
    assert all(isinstance(c.value, float) and not math.isnan(c.value) for c in result.checks)
    run = result.runs[0]
    assert len(run["acc"]) == len(EVAL_ATTACKS) * (len(FIXED) + 1) + 2  # every arm under every attack, + no attack
    assert run["best_fixed"] in FIXED and all(0.0 <= v <= 1.0 for v in run["asr"].values())
    actions = run["actions"]["adaptive"]
    assert actions and all(0.5 <= a <= 3.0 and 0.0 <= b <= 0.4 for a, b in actions)
    json.dumps(result.to_dict(), allow_nan=False)  # the CLI's --json output is valid JSON
    again = info.run(size="quick", seed=0, progress=False)
    assert again.runs == result.runs  # deterministic per seed
