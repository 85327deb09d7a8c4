"""Probe ``ddi-coco``: flags a planted low-contrast subgroup, not the plain test set; reports groups."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.dataset import Split
from trustmap.probes import AuditData, make_probe
from trustmap.probes.fairness.contrast import reduce_contrast


def _planted(split: Split, *, fraction=0.3, factor=0.2, seed=0) -> tuple[Split, np.ndarray]:
    """A seeded ``fraction`` of the images with their contrast cut to ``factor``; the group column says which."""
    sub = np.random.default_rng(seed).random(len(split)) < fraction
    x = split.x.copy()
    x[sub] = reduce_contrast(x[sub], factor)
    groups = np.where(sub, "washed-out", "original")
    return Split(x, split.y, {"contrast_group": groups}), sub


@pytest.fixture(scope="module")
def results(small_cnn, fashion, fashion_eval):
    probe = make_probe("ddi-coco", n_boot=500)
    clean = probe.run(small_cnn, AuditData(fashion, eval=fashion_eval), seed=0)
    planted, _ = _planted(fashion_eval)
    data = AuditData(fashion, eval=planted, sensitive="contrast_group")
    return clean, probe.run(small_cnn.black_box(), data, seed=0)


def test_planted_low_contrast_subgroup_is_flagged(results):
    _, planted = results
    m = planted.metrics
    assert planted.status == "ok" and m["flagged"] == 1.0
    assert m["contrast_accuracy_gap"] > 0.1 and m["gap_ci_low"] > 0.05
    assert m["low_contrast_accuracy"] < m["high_contrast_accuracy"]
    rows = {r["group"]: r for r in planted.tables["per_group"]}
    assert rows["washed-out"]["median_contrast"] < rows["original"]["median_contrast"]
    assert rows["washed-out"]["accuracy"] < rows["original"]["accuracy"] - 0.15
    assert m["group_accuracy_gap"] > 0.15 and planted.options["sensitive"] == "contrast_group"


def test_plain_test_set_is_not_flagged(results):
    clean, _ = results
    m = clean.metrics
    assert m["flagged"] == 0.0 and abs(m["contrast_accuracy_gap"]) < 0.05
    assert m["gap_ci_low"] < 0 < m["gap_ci_high"] and "per_group" not in clean.tables
    assert len(clean.tables["per_class"]) == 10 and clean.headline == "contrast_accuracy_gap"


def test_scorecard_grades_the_gap(results):
    from trustmap.probes import probe_class

    rule = probe_class("ddi-coco").rule
    clean, planted = results
    assert rule.score(clean.metrics) > 0.8 and rule.score(planted.metrics) < 0.6


def test_skips_non_images_and_unknown_group(small_cnn, fashion, fashion_eval):
    probe = make_probe("ddi-coco")
    bad = probe.run(small_cnn, AuditData(fashion, eval=fashion_eval, sensitive="skin_tone"), seed=0)
    assert bad.status == "skipped" and "no group column 'skin_tone'" in bad.reason
