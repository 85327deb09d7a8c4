"""Membership probes on Fashion-MNIST: an overfit model leaks membership, a regularised one barely does.

Two MLPs (a few seconds each on one core): one trained to 100% training accuracy for 100 epochs on
1,000 images, one trained for 3 epochs on 20,000 with weight decay and label smoothing. Non-members and
the reference-model pool are other training images, disjoint from both training sets.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from trustmap.errors import ModelError, TrustmapError
from trustmap.models import ModelHandle, TrainConfig, build_model, fit
from trustmap.models.workflows import meta_for
from trustmap.probes import AuditData, make_probe, probe_class
from trustmap.probes.membership.base import MISSING_MEMBERS
from trustmap.probes.membership.metrics import roc_auc
from trustmap.probes.membership.reference import reference_arch
from trustmap.probes.membership.rmia import rmia_scores

OVERFIT = TrainConfig(epochs=100, lr=1e-3, batch_size=100, schedule="constant")
REGULARISED = TrainConfig(epochs=3, lr=1e-3, batch_size=128, optimizer="adamw", weight_decay=1e-2, label_smoothing=0.1)
RMIA = {"n": 1000, "reference_pool": 4000, "reference_epochs": 10}  # two MLP reference models, 2,000 images each


def _train(fashion, idx, config):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("mlp", input_shape=(1, 28, 28), num_classes=10)
    fit(model, fashion.train.subset(idx), config=config, seed=0, progress=False)
    return ModelHandle.from_module(model, meta_for(fashion, "mlp"))


@pytest.fixture(scope="module")
def cases(fashion):
    perm = np.random.default_rng(0).permutation(len(fashion.train))
    nonmembers, pool = fashion.train.subset(perm[21000:23000]), fashion.train.subset(perm[25000:30000])
    out = {}
    for name, idx, config in (("overfit", perm[:1000], OVERFIT), ("regularised", perm[1000:21000], REGULARISED)):
        data = AuditData(fashion, eval=nonmembers, members=fashion.train.subset(idx), nonmembers=nonmembers, pool=pool)
        out[name] = (_train(fashion, idx, config), data)
    return out


@pytest.fixture(scope="module")
def aucs(cases):
    """AUC of every attack on both models; RMIA with the default and with a softmax temperature of 2."""
    table = {}
    for name, (handle, data) in cases.items():
        table[name] = {
            "loss": make_probe("mia-loss", n=1000).run(handle, data, seed=0),
            "confidence": make_probe("mia-confidence", n=1000).run(handle, data, seed=0),
            "rmia": make_probe("mia-rmia", **RMIA).run(handle, data, seed=0) if name == "overfit" else None,
            "rmia-t2": make_probe("mia-rmia", **RMIA, temperature=2.0).run(handle, data, seed=0),
        }
    return table


def test_overfit_model_leaks_membership_far_more(aucs):
    """The spec's evidence check: strongest attack's AUC, overfit (1k) >= regularised (20k) + 0.15."""
    auc = {m: {k: r.metrics["auc"] for k, r in rs.items() if r is not None} for m, rs in aucs.items()}
    assert max(auc["overfit"].values()) >= max(auc["regularised"].values()) + 0.15, auc
    # the same attack (RMIA, T = 2) on both models shows the same gap
    assert auc["overfit"]["rmia-t2"] >= auc["regularised"]["rmia-t2"] + 0.15, auc
    # the loss attack alone sees the gap too, though on Fashion-MNIST it is smaller (~0.10)
    assert auc["overfit"]["loss"] >= auc["regularised"]["loss"] + 0.07, auc
    assert auc["regularised"]["loss"] < 0.55, auc


def test_rmia_at_least_as_strong_as_the_loss_attack(aucs):
    loss, rmia = aucs["overfit"]["loss"].metrics, aucs["overfit"]["rmia"].metrics
    assert rmia["auc"] >= loss["auc"] + 0.02, (rmia, loss)
    assert rmia["tpr_at_1fpr"] >= loss["tpr_at_1fpr"], (rmia, loss)


def test_result_contents(aucs, cases):
    r = aucs["overfit"]["rmia"]
    assert r.status == "ok" and r.dimension == "privacy" and r.probe == "mia-rmia"
    assert {"auc", "tpr_at_1fpr", "tpr_at_0.1fpr", "advantage", "offline_a"} <= set(r.metrics)
    assert r.metrics["n"] == 1000 and r.metrics["offline_a"] == 0.3
    assert [row["train_size"] for row in r.tables["reference_models"]] == [2000, 2000]
    assert all(row["arch"] == "mlp" and row["population_accuracy"] > 0.7 for row in r.tables["reference_models"])
    loss = aucs["overfit"]["loss"]
    assert loss.metrics["member_accuracy"] == 1.0 and loss.metrics["nonmember_accuracy"] < 0.9
    (curve,) = loss.curves
    assert curve.kind == "roc" and 2 <= len(curve.x) <= 200
    assert curve.x[0] > 0 and np.all(np.diff(curve.y) >= 0) and curve.y[-1] == 1.0


def test_black_box_handle_gives_the_same_answer(cases, aucs):
    handle, data = cases["overfit"]
    for pid, key in (("mia-loss", "loss"), ("mia-confidence", "confidence")):
        r = make_probe(pid, n=1000).run(handle.black_box(), data, seed=0)
        assert r.metrics == aucs["overfit"][key].metrics


def test_true_class_confidence_ranks_like_the_loss(cases, aucs):
    handle, data = cases["overfit"]
    r = make_probe("mia-confidence", n=1000, signal="true").run(handle, data, seed=0)
    assert r.metrics["auc"] == pytest.approx(aucs["overfit"]["loss"].metrics["auc"], abs=1e-12)


def test_balanced_seeded_sample(cases):
    _, data = cases["overfit"]
    probe = make_probe("mia-loss", n=700)
    a_in, a_out = probe.balanced(data, seed=1)
    b_in, _ = probe.balanced(data, seed=1)
    c_in, _ = probe.balanced(data, seed=2)
    assert len(a_in) == len(a_out) == 700
    np.testing.assert_array_equal(a_in.x, b_in.x)
    assert not np.array_equal(a_in.x, c_in.x)
    big = make_probe("mia-loss", n=10**6).balanced(data, seed=0)
    assert len(big[0]) == len(big[1]) == 1000  # limited by the 1,000 members


@pytest.mark.parametrize("pid", ["mia-loss", "mia-confidence", "mia-rmia"])
def test_skips_without_members(pid, cases):
    handle, data = cases["regularised"]
    probe = make_probe(pid, budget="quick")
    assert probe_class(pid).dimension == "privacy" and not probe_class(pid).needs_gradients
    for missing in ({"members": None}, {"nonmembers": None}):
        d = dataclasses.replace(data, **missing)
        assert probe.skip_reason(handle, d) == MISSING_MEMBERS
        r = probe.run(handle, d, seed=0)
        assert r.status == "skipped" and r.reason == MISSING_MEMBERS and not r.metrics


def test_rmia_skips_without_a_pool(cases):
    handle, data = cases["regularised"]
    probe = make_probe("mia-rmia", budget="quick")
    for pool in (None, data.pool.subset(np.arange(10))):
        reason = probe.skip_reason(handle, dataclasses.replace(data, pool=pool))
        assert reason and "pool" in reason and "\n" not in reason


def test_rmia_tunes_offline_a_on_a_reference_pair(cases):
    handle, data = cases["overfit"]
    probe = make_probe("mia-rmia", n=300, reference_pool=1000, reference_epochs=3, population=400, offline_a=None)
    r = probe.run(handle, data, seed=0)
    tuning = r.tables["offline_a_tuning"]
    assert [row["offline_a"] for row in tuning] == [round(0.1 * i, 1) for i in range(11)]
    best = max(tuning, key=lambda row: row["auc"])
    assert r.metrics["offline_a"] == best["offline_a"] and best["auc"] > 0.5  # model 0 does leak its members


def test_reference_architecture_choice(cases):
    handle, _ = cases["overfit"]
    assert reference_arch(handle, "image") == "mlp"  # the target's own, trainable architecture
    unknown = dataclasses.replace(handle, meta=dataclasses.replace(handle.meta, arch=None))
    assert reference_arch(unknown, "image") == "cnn-s" and reference_arch(unknown, "table") == "mlp"
    assert reference_arch(handle, "image", "cnn-s") == "cnn-s"
    with pytest.raises(ModelError):
        reference_arch(handle, "image", "no-such-arch")
    with pytest.raises(TrustmapError):
        make_probe("mia-rmia", offline_a=2.0)


def test_rmia_scores_on_synthetic_signals():
    rng = np.random.default_rng(0)
    ref_x, ref_z = rng.uniform(0.2, 0.9, (400, 2)), rng.uniform(0.2, 0.9, (300, 2))
    target_z = ref_z.mean(1)  # the target behaves like the references on the population
    base = rng.uniform(0.2, 0.9, 400)
    target_x = np.where(np.arange(400) < 200, np.minimum(base * 1.3, 1.0), base)  # members: more confident
    ref_x[:, 0] = ref_x[:, 1] = base  # so the references explain the difficulty exactly
    s = rmia_scores(target_x, ref_x, target_z, ref_z, offline_a=1.0)
    assert s.shape == (400,) and np.all((0 <= s) & (s <= 1.0 + 1 / 300))
    assert roc_auc(s[:200], s[200:]) > 0.9
    # the score is a non-decreasing function of the likelihood ratio
    order = np.argsort(target_x / base)
    assert np.all(np.diff(s[order]) >= -1e-12)
    with pytest.raises(ValueError):
        rmia_scores(target_x, ref_x, target_z, ref_z, offline_a=1.5)
