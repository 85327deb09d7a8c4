"""KnockoffNets: the thief improves with more queries, works through a black-box handle, and refuses
query pools that do not fit the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trustmap.data import stratified_indices
from trustmap.errors import DataError, TrustmapError
from trustmap.models import ModelHandle
from trustmap.probes import AuditData, make_probe, probe_class


@pytest.fixture(scope="module")
def audit(fashion, fashion_eval):
    # queries come from training images the victim never saw (the fixture trains on 6,000 of them)
    used = stratified_indices(fashion.train.y, 6000, seed=0)
    rest = np.setdiff1d(np.arange(len(fashion.train)), used)
    return AuditData(fashion, eval=fashion_eval, pool=fashion.train.subset(rest[:3000]))


@pytest.fixture(scope="module")
def sweep(small_cnn, audit):
    """One sweep, 50 vs 1,000 queries, on a handle that only answers queries."""
    victim = small_cnn.black_box()
    assert victim.module is None and not victim.white_box
    probe = make_probe("knockoff", budget="quick", budgets=[50, 1000], epochs=8, min_steps=40)
    return probe.run(victim, audit, seed=0)


def test_registered_as_black_box_security_probe():
    cls = probe_class("knockoff")
    assert cls.dimension == "security" and not cls.needs_gradients
    assert make_probe("knockoff", budget="standard").budgets == [250, 1000, 4000]
    assert make_probe("knockoff", budget="thorough").budgets[-1] == 16000


def test_thief_accuracy_grows_with_the_query_budget(sweep):
    m = sweep.metrics
    assert sweep.status == "ok"
    for label in ("soft", "hard"):
        assert m[f"thief_accuracy_{label}_1000"] >= m[f"thief_accuracy_{label}_50"] + 0.03, m
        assert m[f"fidelity_{label}_1000"] >= m[f"fidelity_{label}_50"] + 0.03, m
    assert m["thief_accuracy"] == m["thief_accuracy_soft_1000"] and m["fidelity"] == m["fidelity_soft_1000"]
    assert m["thief_accuracy"] > 0.6  # far above the 10% of chance: the model was stolen
    assert m["relative_accuracy"] == pytest.approx(m["thief_accuracy"] / m["victim_accuracy"])


def test_fidelity_and_accuracy_are_fractions_and_consistent(sweep, small_cnn, fashion_eval):
    victim_acc = float((small_cnn.predict(fashion_eval.x).argmax(1) == fashion_eval.y).mean())
    assert sweep.metrics["victim_accuracy"] == pytest.approx(victim_acc)
    for row in sweep.tables["sweep"]:
        assert 0.0 <= row["thief_accuracy"] <= 1.0 and 0.0 <= row["fidelity"] <= 1.0
        # agreeing with the victim on a fraction f bounds the thief's accuracy
        assert abs(row["thief_accuracy"] - victim_acc) <= 1 - row["fidelity"] + 1e-9


def test_curves_one_per_label_type(sweep):
    names = sorted(c.name for c in sweep.curves)
    assert names == sorted(f"{k} ({lab} labels)" for k in ("thief accuracy", "fidelity") for lab in ("soft", "hard"))
    for c in sweep.curves:
        assert c.kind == "line" and c.x == [50.0, 1000.0] and len(c.y) == 2


def test_only_predict_is_used(small_cnn, audit):
    """A handle whose query counts calls: every victim access goes through the black-box query."""
    calls = []

    def query(x):
        calls.append(len(x))
        return small_cnn.forward(x).detach()

    victim = ModelHandle(meta=small_cnn.meta, query=query)
    r = make_probe("knockoff", budgets=[64], hard_labels=False, epochs=1, min_steps=0).run(victim, audit, seed=0)
    assert r.status == "ok" and set(r.metrics) >= {"thief_accuracy", "fidelity", "victim_accuracy"}
    assert sum(calls) == 64 + len(audit.eval)  # the queries, then the evaluation set once


def test_budgets_clip_to_the_pool_and_are_deterministic(small_cnn, fashion, fashion_eval):
    small = AuditData(fashion, eval=fashion_eval.subset(np.arange(200)), pool=fashion.test.subset(np.arange(150)))
    probe = make_probe("knockoff", budgets=[100, 500], hard_labels=False, epochs=1, min_steps=5)
    a, b = probe.run(small_cnn, small, seed=3), probe.run(small_cnn, small, seed=3)
    assert [r["budget"] for r in a.tables["sweep"]] == [100, 150]
    assert a.metrics == b.metrics


def test_query_pool_must_match_the_input_shape(small_cnn, audit):
    probe = make_probe("knockoff", budgets=[50], query_pool="digits")
    with pytest.raises(DataError, match=r"query_pool digits .*\(1, 8, 8\).*\(1, 28, 28\)"):
        probe.run(small_cnn, audit, seed=0)


def test_query_pool_by_name(small_cnn, audit):
    no_pool = dataclasses.replace(audit, pool=None)
    probe = make_probe("knockoff", budgets=[200], query_pool="mnist-5k", hard_labels=False, epochs=1, min_steps=10)
    r = probe.run(small_cnn, no_pool, seed=0)
    assert r.status == "ok" and r.tables["setup"][0]["query_pool"] == "mnist-5k"
    assert r.tables["setup"][0]["queries_available"] == 5000


def test_skips_without_queries_and_rejects_bad_options(small_cnn, audit):
    no_pool = dataclasses.replace(audit, pool=None)
    probe = make_probe("knockoff", budget="quick")
    reason = probe.skip_reason(small_cnn, no_pool)
    assert reason and "query" in reason and "\n" not in reason
    assert probe.run(small_cnn, no_pool, seed=0).status == "skipped"
    with pytest.raises(TrustmapError):
        make_probe("knockoff", budgets=[0])
    with pytest.raises(TrustmapError):
        make_probe("knockoff", budgets=[10], thief_arch="logreg-x").run(small_cnn, audit, seed=0)
