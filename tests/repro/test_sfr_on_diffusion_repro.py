"""``trustmap repro sfr-on-diffusion --quick``: every method's row, per-seed values, paired checks."""

import json
import math

from trustmap.repro import repro_info


def test_quick_sfr_on_diffusion_repro_makes_its_table(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))
    result = repro_info("sfr-on-diffusion").run(size="quick", seed=0, progress=False)
    methods = [r["method"] for r in result.rows]
    assert methods == ["original (no unlearning)", "SFR-on", "gradient ascent", "fine-tune (remaining)"]
    assert result.seeds == [0, 1] and len(result.runs) == 8
    for row in result.rows:
        assert len(row["forget_rate_per_seed"]) == 2 and "[" in row["remain_fd_95"]
        assert 0 <= row["forget_rate"] <= 1 and 0 <= row["remain_acc"] <= 1 and row["remain_fd"] >= 0
    sfr = [r for r in result.runs if r["method"] == "SFR-on"]
    assert all(0 < r["mask_density"] < 1 for r in sfr)
    assert [c.kind for c in result.checks] == ["sanity", "sanity", "claim", "claim", "claim", "claim"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
