"""The repro interval helper: Student-t bounds and three-way verdicts."""

from __future__ import annotations

import math

import pytest

from trustmap.repro._stats import mean_interval


def test_t_interval_matches_the_textbook_value():
    iv = mean_interval([1.0, 2.0, 3.0])
    assert iv.mean == 2.0
    assert iv.low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-5)
    assert iv.high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-5)


@pytest.mark.parametrize(
    ("values", "threshold", "above", "verdict"),
    [
        ([3.0, 3.1, 3.2], 1.0, True, "passed"),
        ([0.0, 2.0, 4.0], 1.0, True, "inconclusive"),
        ([-3.0, -3.1, -3.2], 1.0, True, "failed"),
        ([-0.5, -0.4, -0.6], 0.0, False, "passed"),
        ([-1.0, 1.0, 0.5], 0.0, False, "inconclusive"),
        ([5.0], 1.0, True, "passed"),
        ([0.5], 1.0, True, "failed"),
    ],
)
def test_verdicts(values, threshold, above, verdict):
    assert mean_interval(values).verdict(threshold, above=above) == verdict


def test_empty_is_refused():
    with pytest.raises(ValueError):
        mean_interval([])
