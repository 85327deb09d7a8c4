"""The MiniLM classifier every adaptation starts from (:mod:`trustmap.adapt.minilm`)."""

from __future__ import annotations

import numpy as np
import torch

from trustmap.adapt.minilm import encode, fresh_head, fresh_minilm
from trustmap.data.dataset import Split


def test_fresh_head_comes_from_its_seed_alone():
    torch.manual_seed(1)
    a = fresh_head(seed=3, in_features=16, num_classes=4)
    after_a = torch.rand(2)
    torch.manual_seed(1)
    b = fresh_head(seed=3, in_features=16, num_classes=4)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert torch.equal(torch.rand(2), after_a)  # private generator: the global stream is untouched
    c = fresh_head(seed=4, in_features=16, num_classes=4)
    assert not torch.equal(a.weight, c.weight)
    assert a.weight.abs().max() <= 1 / 16**0.5  # nn.Linear's bound


def test_every_fresh_minilm_starts_from_identical_but_independent_weights():
    a, b = fresh_minilm(seed=0), fresh_minilm(seed=0)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    with torch.no_grad():
        next(a.encoder.parameters()).add_(1.0)  # training one copy must not touch the next one
    c = fresh_minilm(seed=0)
    assert torch.equal(next(b.encoder.parameters()), next(c.encoder.parameters()))
    assert a.training and all(p.requires_grad for p in c.parameters())
    assert not torch.equal(fresh_minilm(seed=1).head.weight, c.head.weight)


def test_encode_gives_token_ids_of_max_len():
    split = Split(np.array(["a fine film", "dull and long"], dtype=object), np.array([1, 0]))
    ids = encode(split, max_len=16)
    assert ids.x.dtype == np.int64 and ids.x.shape == (2, 16)
    assert np.array_equal(ids.y, split.y)
