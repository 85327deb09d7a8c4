"""Synthetic videos with known key segments (repro video-summ): seeded, budgeted, knapsack and F-score."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.videos import f_score, knapsack, summary_mask, synthetic_videos
from trustmap.errors import DataError


def test_videos_are_seeded_and_keys_follow_true_importance():
    v, again = synthetic_videos(12, seed=0), synthetic_videos(12, seed=0)
    assert np.array_equal(v.x, again.x) and np.array_equal(v.key, again.key)
    assert not np.array_equal(v.x, synthetic_videos(12, seed=1).x)
    assert v.x.shape == (12, 120, 64) and v.annotations.shape == (12, 5, 120) and v.text.shape == (12, 16)
    assert np.all(v.key.sum(1) <= 18) and np.all(v.key.sum(1) >= 10)  # within the 15% budget, nearly full
    for i in range(12):  # a key shot is whole and more important than the video's average
        for s in np.unique(v.shot[i][v.key[i]]):
            assert v.key[i][v.shot[i] == s].all()
        assert v.importance[i][v.key[i]].mean() > v.importance[i].mean()
    # annotators are noisy but informative; the text vector is not
    r_ann = np.corrcoef(v.score.ravel(), v.importance.ravel())[0, 1]
    r_txt = np.corrcoef(np.repeat(v.text[:, 0], 120), v.importance.ravel())[0, 1]
    assert r_ann > 0.7 and abs(r_txt) < 0.2


def test_knapsack_and_f_score_known_answers():
    take = knapsack(np.array([6.0, 10.0, 12.0]), np.array([1, 2, 3]), 5)
    assert take.tolist() == [False, True, True]
    shot = np.repeat([0, 1, 2, 3], 5)
    scores = np.repeat([0.1, 0.9, 0.2, 0.8], 5)
    assert np.flatnonzero(summary_mask(scores, shot, budget=0.5)).tolist() == [*range(5, 10), *range(15, 20)]
    truth = np.zeros(20, bool)
    truth[5:10] = True
    assert f_score(truth, truth) == 1.0 and f_score(~truth, truth) == 0.0
    assert f_score(np.arange(20) < 10, truth) == pytest.approx(2 / 3)
    with pytest.raises(DataError, match="frames >= 16"):
        synthetic_videos(2, frames=8)
