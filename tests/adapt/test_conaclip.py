"""ConaCLIP edges: loss types, the logit edge, the full graph, students and Recall@k."""

import pytest
import torch

from trustmap.adapt.conaclip import (
    BagOfWordsTextEncoder,
    MLPImageEncoder,
    Vocab,
    cona_loss,
    edge_loss,
    logit_kd,
    recall_at,
)
from trustmap.utils.seed import torch_generator


def _emb(n: int, d: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch_generator(seed))


@pytest.mark.parametrize("kind", ["infonce", "mse", "kl"])
def test_every_edge_loss_is_smallest_when_the_student_copies_the_teacher(kind):
    t = _emb(6)
    assert edge_loss(kind, t, t, t) < edge_loss(kind, _emb(6, seed=1), t, t)
    with pytest.raises(ValueError, match="edge loss"):
        edge_loss("cosine", t, t, t)


def test_cona_loss_adds_each_enabled_edge():
    si, st, ti, tt = (_emb(6, seed=k) for k in range(4))
    scale = torch.tensor(2.0)
    base = cona_loss(si, st, ti, tt, scale)
    assert cona_loss(si, st, ti, tt, scale, intra="mse") > base
    assert cona_loss(si, st, ti, tt, scale, cross="kl", logit=True) > base
    assert float(logit_kd(ti, tt, ti, tt)) == pytest.approx(0.0, abs=1e-5)


def test_students_have_the_stated_sizes_and_vocab_handles_unknown_words():
    img = MLPImageEncoder(128)
    assert img(torch.zeros(3, 1, 28, 28)).shape == (3, 128)
    assert sum(p.numel() for p in img.parameters()) == 784 * 64 + 64 + 64 * 128 + 128
    vocab = Vocab(["a light trouser", "a heavy bag"])
    ids = vocab.encode(["a light bag", "zebra"])
    assert ids.tolist() == [[vocab.index["a"], vocab.index["light"], vocab.index["bag"]], [1, 0, 0]]
    assert BagOfWordsTextEncoder(len(vocab), 128)(ids).shape == (2, 128)


def test_recall_counts_a_hit_by_key_not_by_index():
    img = torch.eye(3, 4)
    txt = torch.tensor([[0.0, 1.0, 0, 0], [1.0, 0, 0, 0], [0, 0, 0, 1.0]])
    keys = torch.tensor([7, 7, 9])
    rec = recall_at(txt, img, keys, keys, ks=(1, 2))
    assert rec[1] == pytest.approx(2 / 3) and rec[2] == pytest.approx(2 / 3)
