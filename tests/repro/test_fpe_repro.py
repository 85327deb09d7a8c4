"""``trustmap repro fpe --quick``: one row per editor with per-seed values, and the checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_fpe_repro_makes_its_table(tmp_path_factory, monkeypatch):
    # one cache for the text-diffusion tests of a session: the caption table and tiny models are built once
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    result = repro_info("fpe").run(size="quick", seed=0, progress=False)
    rows = {r["method"]: r for r in result.rows}
    assert list(rows) == ["no control", "P2P cross-attention swap", "FPE self-attention injection"]
    assert all(0 <= r["iou"] <= 1 and len(r["success_per_seed"]) == 2 for r in rows.values())
    # the source branch is the same for every editor
    assert len({round(r["source_class_acc"], 6) for r in rows.values()}) == 1
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
