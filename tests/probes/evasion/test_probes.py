"""The evasion probes on a small CNN: metrics, per-class tables, curves, determinism, budgets, skipping on
black-box handles, and tables without clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.data.dataset import Dataset, Split
from trustmap.probes import AuditData, make_probe, probe_class, probe_ids

WHITE_BOX = ("fgsm", "pgd-linf", "pgd-l2", "apgd-ce", "eps-sweep")


@pytest.fixture(scope="module")
def audit(fashion, fashion_eval):
    from trustmap.data import stratified_indices

    return AuditData(fashion, eval=fashion_eval.subset(stratified_indices(fashion_eval.y, 300, seed=0)))


@pytest.fixture(scope="module")
def results(small_cnn, audit):
    options = {
        "fgsm": {},
        "pgd-linf": {"steps": 5},
        "pgd-l2": {"steps": 5},
        "apgd-ce": {"steps": 10},
        "eps-sweep": {"steps": 5},
        "corruptions": {},
    }
    return {pid: make_probe(pid, budget="quick", **kw).run(small_cnn, audit, seed=0) for pid, kw in options.items()}


def test_registered_with_dimension_and_gradient_needs():
    ids = set(probe_ids())
    assert set(WHITE_BOX) | {"corruptions"} <= ids
    for pid in WHITE_BOX:
        assert probe_class(pid).dimension == "robustness" and probe_class(pid).needs_gradients
    assert not probe_class("corruptions").needs_gradients and probe_class("corruptions").kinds == ("image",)


@pytest.mark.parametrize("pid", WHITE_BOX)
def test_attack_probe_results(results, fashion, pid):
    r = results[pid]
    assert r.status == "ok" and r.probe == pid and r.dimension == "robustness"
    m = r.metrics
    assert 0.6 < m["clean_accuracy"] <= 1.0
    assert 0.0 <= m["robust_accuracy"] < m["clean_accuracy"] - 0.1  # an undefended model loses accuracy
    rows = r.tables["per_class"]
    assert [row["class"] for row in rows] == list(fashion.classes)
    assert all(0.0 <= row["robust"] <= row["clean"] <= 1.0 for row in rows)
    assert np.mean([row["robust"] for row in rows]) == pytest.approx(m["robust_accuracy"])  # 30 per class
    assert r.options["eps"] == pytest.approx(1.5 if pid == "pgd-l2" else 0.1)
    assert r.options["clip"] == [0.0, 1.0]


def test_attacks_rank_as_expected(results):
    """More steps and a smarter step size find more adversarial examples than one FGSM step."""
    robust = {pid: results[pid].metrics["robust_accuracy"] for pid in WHITE_BOX}
    assert robust["pgd-linf"] <= robust["fgsm"]
    assert robust["apgd-ce"] <= robust["pgd-linf"] + 0.02
    assert results["pgd-linf"].metrics["steps"] == 5 and results["apgd-ce"].metrics["steps"] == 10


def test_eps_sweep_curve(results):
    r = results["eps-sweep"]
    (curve,) = r.curves
    assert curve.kind == "line" and curve.x[0] == 0.0 and len(curve.x) == 5  # clean + 4 quick points
    assert curve.x == sorted(curve.x) and curve.x[1:] == pytest.approx([0.025, 0.05, 0.1, 0.2])
    assert curve.y[0] == r.metrics["clean_accuracy"]
    assert all(a >= b for a, b in zip(curve.y, curve.y[1:]))  # survivors only: monotone by construction
    assert r.metrics["robust_accuracy"] == curve.y[curve.x.index(pytest.approx(0.1))]
    assert curve.y[-1] <= r.metrics["mean_robust_accuracy"] <= curve.y[0]
    assert 0.0 < r.metrics["eps_at_half_clean"] < 0.2
    # the sweep at ε=0.1 attacks only the survivors of smaller ε: no weaker than plain PGD at the same steps
    assert r.metrics["robust_accuracy"] <= results["pgd-linf"].metrics["robust_accuracy"] + 0.01


def test_corruptions(results, small_cnn, audit):
    r = results["corruptions"]
    m = r.metrics
    assert r.status == "ok" and {"clean_accuracy", "corrupted_accuracy", "worst_corrupted_accuracy"} <= set(m)
    by = {(row["corruption"], row["severity"]): row["accuracy"] for row in r.tables["corruptions"]}
    assert len(by) == 9
    for name in ("gaussian_noise", "gaussian_blur", "contrast"):
        assert by[(name, 3)] < m["clean_accuracy"]  # the strongest severity hurts
        assert by[(name, 3)] <= by[(name, 1)] + 0.02
    assert m["worst_corrupted_accuracy"] <= m["corrupted_accuracy"] <= m["clean_accuracy"]
    assert [c.kind for c in r.curves] == ["line"] * 3 and len(r.tables["per_class"]) == 10
    black = make_probe("corruptions").run(small_cnn.black_box(), audit, seed=0)  # black-box is enough
    assert black.metrics == m


def test_blur_keeps_shape_and_mass(audit):
    from trustmap.probes.evasion.probe_corruptions import gaussian_blur

    x = torch.from_numpy(audit.eval.x[:4])
    blurred = gaussian_blur(x, 1.0, (0.0, 1.0), torch.Generator())
    assert blurred.shape == x.shape
    assert float(blurred.sum()) == pytest.approx(float(x.sum()), rel=0.02)  # mass preserved


def test_same_seed_same_result(results, small_cnn, audit):
    again = make_probe("pgd-linf", budget="quick", steps=5).run(small_cnn, audit, seed=0)
    assert again.to_dict() | {"seconds": 0} == results["pgd-linf"].to_dict() | {"seconds": 0}


@pytest.mark.parametrize("pid", WHITE_BOX)
def test_white_box_probes_skip_black_box_models(small_cnn, audit, pid):
    r = make_probe(pid, budget="quick").run(small_cnn.black_box(), audit, seed=0)
    assert r.status == "skipped" and "white-box" in r.reason and not r.metrics


def test_budgets_and_bad_options(small_cnn, audit):
    assert [make_probe("pgd-linf", budget=b).steps for b in ("quick", "standard", "thorough")] == [10, 20, 50]
    assert make_probe("apgd-ce", budget="thorough").steps == 100
    assert len(make_probe("eps-sweep", budget="standard").grid) == 6
    r = make_probe("pgd-linf", steps=0).run(small_cnn, audit)
    assert r.status == "skipped" and "steps" in r.reason
    r = make_probe("apgd-ce", norm="l1").run(small_cnn, audit)
    assert r.status == "skipped" and "norm" in r.reason


def test_table_data_runs_unclipped():
    """Standardised features: default budget 0.1 (L∞), no clipping, and the probes still find weaknesses."""
    from trustmap.models import ModelHandle, ModelMeta, TrainConfig, build_model, fit

    g = np.random.default_rng(0)
    x = g.normal(size=(600, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    ds = Dataset("blobs", "table", Split(x[:400], y[:400]), Split(x[400:], y[400:]), classes=("no", "yes"))
    torch.manual_seed(0)
    model = build_model("logreg", input_shape=(6,), num_classes=2)
    fit(model, ds.train, config=TrainConfig(epochs=30, lr=0.05), seed=0, progress=False)
    handle = ModelHandle.from_module(model, ModelMeta(kind="table", input_shape=(6,), num_classes=2))
    r = make_probe("pgd-linf", budget="quick").run(handle, AuditData(ds, eval=ds.test), seed=0)
    assert r.status == "ok" and r.options["eps"] == 0.1 and r.options["clip"] is None
    assert r.metrics["robust_accuracy"] < r.metrics["clean_accuracy"]
    assert make_probe("pgd-l2").resolved_eps(AuditData(ds, eval=ds.test)) == 0.5
    assert make_probe("corruptions").run(handle, AuditData(ds, eval=ds.test)).status == "skipped"
