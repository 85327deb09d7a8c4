"""``trustmap repro pai-diffusion --quick``: rows, per-seed runs, serving numbers, checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_pai_diffusion_repro_makes_its_table(tmp_path_factory, monkeypatch):
    # one cache for the text-diffusion tests of a session: the caption table and tiny models are built once
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    result = repro_info("pai-diffusion").run(size="quick", seed=0, progress=False)
    rows = {r["method"]: r for r in result.rows}
    assert list(rows) == [
        "base (no adaptation)",
        "LoRA r=4",
        "full fine-tuning",
        "real negative images (reference)",
        "serving (LoRA)",
    ]
    assert rows["base (no adaptation)"]["forgetting"] == 0.0
    assert rows["LoRA r=4"]["trainable_params"] < 0.2 * rows["full fine-tuning"]["trainable_params"]
    assert rows["real negative images (reference)"]["style_rate"] > 0.9  # the style classifier sees real style
    serve = rows["serving (LoRA)"]
    assert serve["merged_max_abs_diff"] < 1e-3 and serve["adapter_bytes"] > 0
    assert all(serve[f"{t}_b{b}_wall_ms"] > 0 for t in ("unmerged", "merged", "base") for b in (1, 16))
    assert len(rows["LoRA r=4"]["style_rate_per_seed"]) == 2 and result.seeds == [0, 1]
    assert [c.kind for c in result.checks] == ["sanity"] * 4 + ["claim"] * 2 + ["info"] * 2
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
