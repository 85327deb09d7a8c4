"""``robust-fairness``: per-class clean and PGD accuracy on a small CNN; tables run without clipping."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.probes import AuditData, make_probe


@pytest.fixture(scope="module")
def eval500(fashion_eval):
    from trustmap.data import stratified_indices

    return fashion_eval.subset(stratified_indices(fashion_eval.y, 500, seed=0))  # 50 per class


@pytest.fixture(scope="module")
def rf_result(small_cnn, fashion, eval500):
    probe = make_probe("robust-fairness", budget="quick", eps=0.05, steps=5)
    return probe.run(small_cnn, AuditData(fashion, eval=eval500), seed=0)


def test_per_class_table_and_gaps(rf_result, fashion):
    r = rf_result
    assert r.status == "ok" and r.dimension == "fairness"
    rows = r.tables["per_class"]
    assert [row["class"] for row in rows] == list(fashion.classes) and len(rows) == 10
    assert all(row["n"] == 50 for row in rows)
    for row in rows:
        assert 0.0 <= row["robust"] <= row["clean"] <= 1.0
    clean = [row["clean"] for row in rows]
    robust = [row["robust"] for row in rows]
    m = r.metrics
    assert m["clean_gap"] == pytest.approx(max(clean) - min(clean))
    assert m["robust_gap"] == pytest.approx(max(robust) - min(robust))
    assert m["worst_class_clean"] == min(clean) and m["worst_class_robust"] == min(robust)
    assert m["clean_accuracy"] == pytest.approx(np.mean(clean))  # equal class sizes
    assert m["robust_accuracy"] == pytest.approx(np.mean(robust))
    assert m["robust_accuracy"] < m["clean_accuracy"]  # the attack works
    worst = r.tables["worst_class"][0]["index"]
    assert m["worst_class"] == fashion.classes[worst] == r.tables["worst_class"][0]["class"]
    assert robust[worst] == min(robust)
    assert r.options["eps"] == 0.05 and r.options["clip"] == [0.0, 1.0] and r.options["steps"] == 5
    assert [c.kind for c in r.curves] == ["bar", "bar"]
    assert r.curves[1].labels == list(fashion.classes) and r.curves[1].y == robust


def test_same_seed_same_numbers(rf_result, small_cnn, fashion, eval500):
    probe = make_probe("robust-fairness", budget="quick", eps=0.05, steps=5)
    again = probe.run(small_cnn, AuditData(fashion, eval=eval500), seed=0)
    assert again.metrics == rf_result.metrics


def test_default_eps_and_budgets(fashion):
    probe = make_probe("robust-fairness", budget="thorough")
    assert probe.steps == 50 and probe.eps is None
    assert probe.resolved_eps(AuditData(fashion, eval=fashion.test)) == pytest.approx(0.1)
    assert make_probe("robust-fairness", norm="l2").resolved_eps(AuditData(fashion, eval=fashion.test)) == 1.5


def test_bad_options_are_skipped_with_a_reason(small_cnn, fashion, fashion_eval):
    data = AuditData(fashion, eval=fashion_eval)
    assert "norm must be" in make_probe("robust-fairness", norm="l1").run(small_cnn, data).reason
    assert "steps must be" in make_probe("robust-fairness", steps=0).run(small_cnn, data).reason


def test_black_box_model_is_skipped(small_cnn, fashion, fashion_eval):
    result = make_probe("robust-fairness").run(small_cnn.black_box(), AuditData(fashion, eval=fashion_eval))
    assert result.status == "skipped" and "gradients" in result.reason


def test_tables_are_attacked_without_clipping():
    import torch

    from trustmap.data.dataset import Dataset, Split
    from trustmap.models import ModelHandle, ModelMeta

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    x[:, 0] *= 0.3  # many points near the boundary
    split = Split(x, y)
    ds = Dataset("toy", "table", split, split, classes=("neg", "pos"))
    model = torch.nn.Linear(4, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-5.0, 0, 0, 0], [5.0, 0, 0, 0]]))
        model.bias.zero_()
    handle = ModelHandle.from_module(model, ModelMeta(kind="table", input_shape=(4,), num_classes=2))
    result = make_probe("robust-fairness", steps=5).run(handle, AuditData(ds, eval=split), seed=0)
    assert result.status == "ok" and result.options["clip"] is None and result.options["eps"] == pytest.approx(0.1)
    m = result.metrics
    assert m["clean_accuracy"] == 1.0
    # a point is flipped exactly when it lies within eps=0.1 of the boundary (|0.3 x0| <= 0.1)
    assert m["robust_accuracy"] == pytest.approx(float(np.mean(np.abs(x[:, 0]) > 0.1)), abs=0.02)
    assert len(result.tables["per_class"]) == 2
