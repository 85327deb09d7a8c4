"""``adapt``: first-order training is fixed by its seed, dropout included, whatever the global RNG holds."""

import numpy as np
import torch
from torch import nn

from trustmap.adapt.methods import AdaptConfig
from trustmap.adapt.train import adapt
from trustmap.data.dataset import Split

from .conftest import TinyClassifier


def _trained(global_seed: int, seed: int = 0) -> list[torch.Tensor]:
    model = TinyClassifier()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.3  # dropout on, so its masks matter
    g = np.random.default_rng(0)
    ids = g.integers(1, 60, size=(48, 10)).astype(np.int64)
    data = Split(ids, (ids[:, 0] % 2).astype(np.int64))
    torch.manual_seed(global_seed)
    adapt(
        model,
        data,
        config=AdaptConfig(method="lora", r=2, alpha=4.0, epochs=2, batch_size=8, lr=1e-2, targets=("query", "value")),
        seed=seed,
        progress=False,
    )
    return [p.detach().clone() for p in model.parameters() if p.requires_grad]


def test_same_seed_same_weights_whatever_the_global_rng():
    a, b = _trained(global_seed=1), _trained(global_seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    c = _trained(global_seed=1, seed=1)
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_the_callers_global_rng_is_left_as_it_was():
    model = TinyClassifier()
    data = Split(np.ones((16, 6), np.int64), np.arange(16) % 2)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    adapt(
        model,
        data,
        config=AdaptConfig(method="lora", r=2, alpha=4.0, epochs=1, batch_size=8, targets=("query",)),
        seed=0,
        progress=False,
    )
    assert torch.equal(torch.rand(3), expected)
