"""Offline LiRA: the logit-scaled confidence, the Gaussian test, and the probe on an overfit model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.probes.membership.test_probes import _train
from trustmap.models.recipes import recipe
from trustmap.probes import AuditData, make_probe, probe_class
from trustmap.probes.membership.lira import lira_scores, logit_confidence
from trustmap.probes.membership.metrics import roc_auc


def test_logit_confidence_is_log_odds_of_the_true_class_even_when_p_rounds_to_one():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 50.0, 0.0], [0.0, 0.0, 800.0]])
    y = np.array([0, 1, 2])
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    phi = logit_confidence(logits, y)
    assert phi[0] == pytest.approx(np.log(p[0] / (1 - p[0])))
    assert phi[1] == pytest.approx(50 - np.log(2))  # p = 1 - 2e-22: log(1 - p) would be -inf
    assert phi[2] == pytest.approx(800 - np.log(2)) and np.isfinite(phi).all()
    stacked = logit_confidence(np.stack([logits, logits + 1.0]), y)  # (K, N, C) -> (K, N)
    assert stacked.shape == (2, 3) and np.allclose(stacked[0], stacked[1])


def test_scores_calibrate_each_example_by_its_reference_mean():
    # two examples that the target fits equally well: the one that is hard for models that never saw it
    # (low mu_out) is the likelier member
    target = np.array([3.0, 3.0])
    refs = np.array([[2.9, 3.1, 3.0, 3.0], [-1.0, -0.8, -1.2, -1.0]])
    s = lira_scores(target, refs)
    assert s[1] > s[0] + 5
    per_example = lira_scores(target, refs, per_example_variance=True)
    assert per_example.shape == (2,) and per_example[1] > per_example[0]


def test_scores_separate_members_drawn_above_their_out_distribution():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 3, size=400)  # per-example difficulty
    refs = mu[:, None] + rng.normal(0, 0.5, size=(400, 4))
    target_in = mu[:200] + 1.5 + rng.normal(0, 0.5, 200)
    target_out = mu[200:] + rng.normal(0, 0.5, 200)
    s = lira_scores(np.r_[target_in, target_out], refs)
    assert roc_auc(s[:200], s[200:]) > 0.95
    # a global threshold on the raw confidence is far weaker: difficulty swamps the membership shift
    assert roc_auc(target_in, target_out) < 0.75


def test_probe_leads_the_loss_attack_at_low_fpr_on_an_overfit_model(fashion):
    # an MLP trained with its recipe for 60 epochs (not 10) on 1,000 images: train accuracy ~0.98, test ~0.84;
    # two reference MLPs mimic it (same recipe and epochs, 1,000 pool images each)
    perm = np.random.default_rng(0).permutation(len(fashion.train))
    handle = _train(fashion, perm[:1000], dataclasses.replace(recipe("image", "mlp"), epochs=60))
    nonmembers, pool = fashion.train.subset(perm[21000:22000]), fashion.train.subset(perm[25000:27000])
    data = AuditData(
        fashion, eval=nonmembers, members=fashion.train.subset(perm[:1000]), nonmembers=nonmembers, pool=pool
    )
    options = {"n": 1000, "reference_models": 2, "reference_pool": 2000, "reference_epochs": 60}
    lira = make_probe("mia-lira", **options).run(handle, data, seed=0)
    loss = make_probe("mia-loss", n=1000).run(handle, data, seed=0)
    assert lira.status == "ok", lira.reason
    m, base = lira.metrics, loss.metrics
    # measured: LiRA AUC 0.64, TPR 1.3% at 0.1% FPR and 4.5% at 1%; loss 0.59, 0.4% and 0.9%
    assert m["auc"] >= base["auc"] + 0.03, (m, base)
    assert m["tpr_at_0.1fpr"] >= 2 * base["tpr_at_0.1fpr"], (m, base)
    assert m["tpr_at_1fpr"] >= 2 * base["tpr_at_1fpr"], (m, base)
    assert m["reference_models"] == 2 and [r["epochs"] for r in lira.tables["reference_models"]] == [60, 60]
    # graded on low FPR, the leak shows: LiRA's score is well below the loss attack's
    assert probe_class("mia-lira").rule.score(m) < probe_class("mia-loss").rule.score(base) - 0.1


def test_probe_skips_without_a_pool(fashion):
    from trustmap.models import ModelHandle, build_model
    from trustmap.models.workflows import meta_for

    handle = ModelHandle.from_module(
        build_model("logreg", input_shape=(1, 28, 28), num_classes=10), meta_for(fashion, "logreg")
    )
    split = fashion.test.subset(np.arange(50))
    res = make_probe("mia-lira").run(handle, AuditData(fashion, eval=split, members=split, nonmembers=split), seed=0)
    assert res.status == "skipped" and "pool" in res.reason
