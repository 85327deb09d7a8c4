"""The model-reuse zoo of ``trustmap repro modeldiff`` (:mod:`trustmap.repro._zoo`)."""

from __future__ import annotations

import torch

from trustmap.data import load_dataset
from trustmap.repro._zoo import build_zoo


def test_the_zoo_is_fixed_by_its_seed_even_with_dropout():
    """CNN-4 has dropout: two zoos from one seed must hold bit-identical models."""
    fm, mn = load_dataset("fashion-mnist"), load_dataset("mnist-5k")
    torch.manual_seed(123)  # the global state must not matter
    a = build_zoo(fm, mn, sources=("cnn",), epochs=1, scale=0.02, seed=0)
    torch.manual_seed(456)
    b = build_zoo(fm, mn, sources=("cnn",), epochs=1, scale=0.02, seed=0)
    assert a.models.keys() == b.models.keys()
    for name in a.models:
        for (k, x), y in zip(a.models[name].state_dict().items(), b.models[name].state_dict().values(), strict=True):
            assert torch.equal(x, y), f"{name}.{k} differs"
