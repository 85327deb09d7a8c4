"""Piccolo2 losses: InfoNCE, CoSENT ordering, label triplets, Matryoshka averaging, cached top layers."""

import pytest
import torch

from trustmap.adapt.piccolo import cosent, infonce, label_loss, matryoshka
from trustmap.utils.seed import torch_generator


def _emb(n: int, d: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch_generator(seed))


def test_infonce_is_low_for_matching_pairs_and_hard_negatives_raise_it():
    q = _emb(8)
    assert infonce(q, q) < 0.01 < infonce(q, _emb(8, seed=1))
    assert infonce(q, q + 0.3 * _emb(8, seed=2), q[:4] + 0.01) > infonce(q, q + 0.3 * _emb(8, seed=2))


def test_cosent_rewards_cosines_ordered_like_the_grades():
    a = _emb(4)
    noise = _emb(4, seed=3)
    b = torch.stack([a[0], a[1] + 0.5 * noise[1], a[2] + 2 * noise[2], -a[3]])  # decreasing similarity
    grades = torch.tensor([3, 2, 1, 0])
    assert cosent(a, b, grades) < 0.1 < cosent(a, b, grades.flip(0))
    assert float(cosent(a, b, torch.zeros(4))) == pytest.approx(0.0, abs=1e-6)  # no ordered pair: log(1)


def test_label_loss_only_compares_with_the_label_texts():
    labels = torch.eye(2, 16)
    x = torch.stack([labels[0] * 3, labels[1] * 3, labels[1]])
    assert label_loss(x, labels, torch.tensor([0, 1, 1])) < 0.01 < label_loss(x, labels, torch.tensor([1, 0, 0]))


def test_matryoshka_averages_the_loss_over_prefixes():
    seen = []
    out = matryoshka(lambda d: seen.append(d) or torch.tensor(float(d)), dims=(2, 4, 8))
    assert seen == [2, 4, 8] and float(out) == pytest.approx(14 / 3)
