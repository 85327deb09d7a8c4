"""Video summarisers: shapes, equal size, text handling, training lowers the loss, baselines' budgets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.data.videos import synthetic_videos
from trustmap.errors import TrustmapError
from trustmap.models.video_summ import (
    AttentionRegressor,
    ConditionalSummariser,
    cluster_summary,
    kmeans,
    predict_scores,
    train_summariser,
    uniform_summary,
)


@pytest.fixture(scope="module")
def videos():
    return synthetic_videos(24, seed=0)


def test_models_are_equal_size_and_score_in_unit_interval(videos):
    base, cond = AttentionRegressor(), ConditionalSummariser()
    n_base, n_cond = (sum(p.numel() for p in m.parameters()) for m in (base, cond))
    assert abs(n_base - n_cond) / n_base < 0.02
    for model in (base, cond):
        s = predict_scores(model.eval(), videos.x[:3])
        assert s.shape == (3, 120) and s.min() >= 0 and s.max() <= 1
    with pytest.raises(TrustmapError, match="pass the text vectors"):
        ConditionalSummariser(use_text=True).predict(torch.from_numpy(videos.x[:2]))


def test_training_lowers_the_loss_and_is_deterministic(videos):
    def fitted(seed):
        torch.manual_seed(0)
        m = ConditionalSummariser(use_text=True)
        return train_summariser(m, videos.x, videos.score, videos.text, epochs=4, seed=seed)

    x, s, t = (torch.from_numpy(a) for a in (videos.x, videos.score, videos.text))

    def loss(model):
        with torch.no_grad():
            torch.manual_seed(1)
            return float(model.loss(x, s, t))

    torch.manual_seed(0)
    before = loss(ConditionalSummariser(use_text=True).eval())
    a, b = fitted(0), fitted(0)
    after = loss(a)
    assert after < before
    assert np.array_equal(predict_scores(a, videos.x, videos.text), predict_scores(b, videos.x, videos.text))


def test_untrained_baselines_keep_the_budget(videos):
    for i in range(3):
        u = uniform_summary(videos.shot[i])
        c = cluster_summary(videos.x[i], videos.shot[i], seed=0)
        assert 0 < u.sum() <= 18 and 0 < c.sum() <= 18
    labels, centres = kmeans(np.array([[0.0, 0], [0, 0.1], [5, 5], [5, 5.1]]), 2, seed=0)
    assert labels[0] == labels[1] != labels[2] == labels[3] and centres.shape == (2, 2)
