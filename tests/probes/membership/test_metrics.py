"""ROC metrics: exact agreement with scikit-learn, tie handling, and a hand-checked example."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve as sk_roc_curve

from trustmap.probes.membership.metrics import (
    advantage,
    log_roc_points,
    membership_metrics,
    roc_auc,
    roc_curve,
    tpr_at_fpr,
)

# Hand-made example. Members (positives) and non-members, higher = "member":
MEMBERS = [0.99, 0.9, 0.6, 0.3]
NONMEMBERS = [0.95, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.05, 0.0, -1.0]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("levels", [3, 20, None])  # few distinct values = many ties; None = continuous
def test_auc_equals_sklearn(seed, levels):
    rng = np.random.default_rng(seed)
    n_in, n_out = rng.integers(1, 300, size=2)
    s_in, s_out = rng.normal(0.5, 1, n_in), rng.normal(0, 1, n_out)
    if levels is not None:
        s_in, s_out = np.round(s_in * levels) / levels, np.round(s_out * levels) / levels
    labels = np.r_[np.ones(n_in), np.zeros(n_out)]
    expected = roc_auc_score(labels, np.r_[s_in, s_out])
    assert roc_auc(s_in, s_out) == pytest.approx(expected, abs=1e-12)
    assert membership_metrics(s_in, s_out)["auc"] == pytest.approx(expected, abs=1e-12)


def test_curve_points_equal_sklearn_with_ties():
    rng = np.random.default_rng(7)
    s_in, s_out = rng.integers(0, 6, 50).astype(float), rng.integers(0, 4, 80).astype(float)
    labels = np.r_[np.ones(50), np.zeros(80)]
    fpr, tpr, _ = sk_roc_curve(labels, np.r_[s_in, s_out], drop_intermediate=False)
    ours = roc_curve(s_in, s_out)
    np.testing.assert_allclose(ours.fpr, fpr)
    np.testing.assert_allclose(ours.tpr, tpr)


def test_hand_made_example():
    c = roc_curve(MEMBERS, NONMEMBERS)
    # thresholds: inf, .99, .95, .9, .6, .5, .4, .3 (tie: one member + one non-member), ...
    assert list(c.tpr[:8]) == [0, 0.25, 0.25, 0.5, 0.75, 0.75, 0.75, 1.0]
    assert list(c.fpr[:8]) == pytest.approx([0, 0, 0.1, 0.1, 0.1, 0.2, 0.3, 0.4])
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, fpr=0.0) == 0.25  # only 0.99 beats every non-member
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, fpr=0.1) == 0.75  # threshold 0.6 lets 0.95 through
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, fpr=0.35) == 0.75  # the 0.3 tie cannot be split
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, fpr=0.4) == 1.0
    assert advantage(MEMBERS, NONMEMBERS) == pytest.approx(0.65)  # 0.75 - 0.1 at threshold 0.6
    # AUC by counting pairs: 10 + 9 + 9 + 6 wins and one tie out of 40
    assert roc_auc(MEMBERS, NONMEMBERS) == pytest.approx((34 + 0.5) / 40)


def test_metric_keys_and_low_fpr():
    rng = np.random.default_rng(0)
    s_out = rng.normal(size=2000)
    s_in = np.r_[np.full(30, 10.0), rng.normal(size=970)]  # 3% of members are blatantly exposed
    m = membership_metrics(s_in, s_out)
    assert set(m) == {"auc", "tpr_at_1fpr", "tpr_at_0.1fpr", "advantage"}
    assert m["tpr_at_0.1fpr"] >= 0.03
    assert 0.03 <= m["tpr_at_1fpr"] <= 0.1
    assert m["auc"] == pytest.approx(roc_auc(s_in, s_out))


def test_perfect_and_useless_attacks():
    assert roc_auc([2, 3], [0, 1]) == 1.0
    assert tpr_at_fpr([2, 3], [0, 1], fpr=0.0) == 1.0
    assert roc_auc([1, 1, 1], [1, 1]) == 0.5
    assert advantage([1, 1, 1], [1, 1]) == 0.0
    assert tpr_at_fpr([1, 1, 1], [1, 1], fpr=0.5) == 0.0


def test_log_roc_points_are_few_monotone_and_conservative():
    rng = np.random.default_rng(1)
    s_in, s_out = rng.normal(0.3, 1, 5000), rng.normal(0, 1, 5000)
    c = roc_curve(s_in, s_out)
    x, y = log_roc_points(c, max_points=200)
    assert 100 <= len(x) <= 200 and len(x) == len(y)
    assert x[0] == pytest.approx(1 / 5000) and x[-1] == 1.0
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)
    for fx, ty in zip(x[::20], y[::20]):  # each point is the best TPR at FPR <= x
        assert ty == pytest.approx(tpr_at_fpr(s_in, s_out, fpr=fx))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="empty"):
        roc_auc([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([np.nan, 1.0], [1.0])
    with pytest.raises(ValueError, match="fpr"):
        tpr_at_fpr([1.0], [0.0], fpr=1.5)
