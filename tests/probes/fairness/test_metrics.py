"""The group-fairness metric functions: hand-computed values, edge cases and empty input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trustmap.probes.fairness import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    group_metrics,
    selection_rate,
    true_positive_rate,
)

# group a: y=[1,1,0,0] pred=[1,0,1,0] -> sel .5, tpr .5, fpr .5, acc .5
# group b: y=[1,0,0,0] pred=[1,1,0,0] -> sel .5, tpr 1., fpr 1/3, acc .75
Y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
P = np.array([1, 0, 1, 0, 1, 1, 0, 0])
S = np.array(["a"] * 4 + ["b"] * 4, dtype=object)


def test_hand_computed_rates():
    gm = group_metrics(Y, P, sensitive_features=S)
    assert gm.groups == ("a", "b")
    assert gm.count.tolist() == [4, 4]
    np.testing.assert_allclose(gm.accuracy, [0.5, 0.75])
    np.testing.assert_allclose(gm.selection_rate, [0.5, 0.5])
    np.testing.assert_allclose(gm.tpr, [0.5, 1.0])
    np.testing.assert_allclose(gm.fpr, [0.5, 1 / 3])
    assert demographic_parity_difference(Y, P, sensitive_features=S) == 0.0
    assert demographic_parity_ratio(Y, P, sensitive_features=S) == 1.0
    assert equalized_odds_difference(Y, P, sensitive_features=S) == pytest.approx(0.5)  # TPR gap .5 > FPR gap 1/6
    assert equalized_odds_ratio(Y, P, sensitive_features=S) == pytest.approx(0.5)  # min(.5/1, (1/3)/.5)


def test_pos_label_and_single_rates():
    assert selection_rate([2, 2, 1, 0], pos_label=2) == 0.5
    assert true_positive_rate([1, 1, 0], [1, 0, 1]) == 0.5
    assert false_positive_rate([1, 1, 0], [1, 0, 1]) == 1.0
    assert math.isnan(true_positive_rate([0, 0], [1, 0]))  # no positives: undefined, not 0


def test_undefined_group_rate_is_left_out_of_the_difference():
    # group b has no positives, so its TPR is undefined and only a's TPR counts
    y = [1, 0, 0, 0]
    p = [1, 0, 1, 0]
    s = ["a", "a", "b", "b"]
    gm = group_metrics(y, p, sensitive_features=s)
    assert math.isnan(gm.tpr[1])
    assert gm.difference("tpr") == 0.0
    assert equalized_odds_difference(y, p, sensitive_features=s) == pytest.approx(0.5)  # FPR 0 vs .5
    assert gm.rows()[1]["tpr"] is None


def test_ratio_with_nobody_selected_is_parity():
    assert demographic_parity_ratio([1, 0, 1, 0], [0, 0, 0, 0], sensitive_features=["a", "a", "b", "b"]) == 1.0


def test_empty_and_mismatched_input_raise_clear_errors():
    with pytest.raises(ValueError, match="y_pred is empty"):
        selection_rate([])
    with pytest.raises(ValueError, match="y_true is empty"):
        demographic_parity_difference([], [], sensitive_features=[])
    with pytest.raises(ValueError, match="must match"):
        group_metrics([1, 0], [1], sensitive_features=["a", "b"])
    with pytest.raises(ValueError, match="sensitive_features has 1 values"):
        group_metrics([1, 0], [1, 0], sensitive_features=["a"])
    with pytest.raises(ValueError, match="1-D"):
        selection_rate(np.zeros((2, 2)))


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        demographic_parity_difference(Y, P, S)  # type: ignore[misc]
