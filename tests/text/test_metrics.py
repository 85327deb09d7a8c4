"""Application metrics, trivial baselines and the BALD sampler on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trustmap.text.bald import bald_from_probs, bald_sample
from trustmap.text.metrics import APPLICATIONS, best_spans, mrr_at, tag_f1
from trustmap.text.processors import IGNORE, Encoded


def test_tag_f1_scores_only_tagged_scored_positions():
    gold = np.array([[0, 1, IGNORE, 2, 0]])
    pred = np.array([[1, 1, 2, 0, 0]])  # one false positive, one hit, one miss; the IGNORE slot is skipped
    m = tag_f1(pred, gold)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5) and m["f1"] == pytest.approx(0.5)


def test_best_span_respects_order_and_width():
    out = torch.full((1, 6, 2), -5.0)
    out[0, 4, 0] = 3.0  # best start late
    out[0, 1, 1] = 4.0  # best end early: not allowed before the start
    out[0, 5, 1] = 1.0
    assert best_spans(out).tolist() == [[4, 5]]
    assert best_spans(out, max_width=1).tolist()[0][0] == best_spans(out, max_width=1).tolist()[0][1]


def test_mrr_at_10():
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.5, 0.5]])
    groups = np.array([0, 0, 1, 1, 2])  # group 2 has no match: not a query
    assert mrr_at(emb, groups) == pytest.approx(1.0)
    assert mrr_at(emb, np.array([0, 1, 0, 1, 2])) < 0.75


def test_baselines():
    train = Encoded(np.zeros((4, 3), np.int64), np.array([1, 1, 1, 0]), np.arange(4))
    test = Encoded(np.zeros((4, 3), np.int64), np.array([1, 0, 0, 0]), np.arange(4))
    assert APPLICATIONS.get("classification").baseline(train, test, 0) == 0.25
    tags = np.array([[0, 0, 0, 1, IGNORE]] * 50)
    f1 = APPLICATIONS.get("tagging").baseline(Encoded(tags, tags, np.arange(50)), Encoded(tags, tags, np.arange(50)), 0)
    assert 0.1 < f1 < 0.4  # a prior-matching random tagger on 25% tagged words


def test_bald_is_zero_when_passes_agree_and_positive_when_they_disagree():
    agree = np.tile(np.array([[0.7, 0.3]]), (5, 1, 1))
    disagree = np.array([[[0.9, 0.1]], [[0.1, 0.9]]] * 3)
    assert bald_from_probs(agree)[0] == pytest.approx(0.0, abs=1e-9)
    assert bald_from_probs(disagree)[0] > 0.3


def test_bald_sample_orders_easy_and_hard():
    class Noisy(nn.Module):
        """Row 0 certain; the noise on row i grows with i, so BALD grows with i under dropout."""

        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            scale = x[:, :1]
            return torch.cat([self.drop(torch.ones_like(scale)) * scale * 4, torch.zeros_like(scale)], 1)

    x = np.arange(6, dtype=np.float32)[:, None]
    net = Noisy().eval()
    easy = bald_sample(net, x, k=2, mode="easy", passes=20, seed=0)
    hard = bald_sample(net, x, k=2, mode="hard", passes=20, seed=0)
    assert 0 in easy.tolist() and 0 not in hard.tolist()
    assert not net.training  # mode restored
    with pytest.raises(ValueError, match="k must be"):
        bald_sample(net, x, k=0)
