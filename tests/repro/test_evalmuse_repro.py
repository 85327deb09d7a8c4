"""``trustmap repro evalmuse --quick``: mismatched captions, element scores, Spearman rows and checks."""

import json
import math

import numpy as np

from trustmap.repro import repro_info
from trustmap.repro.evalmuse import mismatch


def test_mismatched_captions_change_the_intended_number_of_elements():
    rng = np.random.default_rng(0)
    p = np.stack([rng.integers(10, size=50), *(rng.integers(3, size=50) for _ in range(3))], 1)
    qs, truth = mismatch(p, rng)
    assert qs.shape == (5, 50, 4) and qs[:, :, 0].max() <= 9 and qs[:, :, 1:].max() <= 2
    assert np.allclose(truth.mean(1), [1.0, 0.75, 0.75, 0.5, 0.0])
    assert (qs[1, :, 0] != p[:, 0]).all() and (qs[1, :, 1:] == p[:, 1:]).all()


def test_quick_evalmuse_repro_makes_its_table(tmp_path_factory, monkeypatch):
    # one cache for the text-diffusion tests of a session: the caption table and tiny models are built once
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    result = repro_info("evalmuse").run(size="quick", seed=0, progress=False)
    rows = {(r["images"], r["metric"]): r for r in result.rows}
    real_fine = rows[("real test images", "rho_fine")]
    assert real_fine["mean"] > 0.3 and len(real_fine["per_seed"]) == 2  # real images: elements are measurable
    assert rows[("real test images", "fine_matched")]["mean"] > rows[("real test images", "fine_all changed")]["mean"]
    assert 0 <= rows[("generated", "element_accuracy")]["mean"] <= 1
    assert [c.kind for c in result.checks] == ["sanity"] * 3 + ["claim"] * 2 + ["info"]
    assert all(not math.isnan(c.value) for c in result.checks) and result.status == "smoke run"
    json.dumps(result.to_dict(), default=str)
