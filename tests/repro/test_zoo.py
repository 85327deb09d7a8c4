"""The model-reuse zoo of ``trustmap repro modeldiff`` (:mod:`trustmap.repro._zoo`)."""

from __future__ import annotations

import torch

from trustmap.data import load_dataset
from trustmap.repro._zoo import build_zoo


def test_the_zoo_is_fixed_by_its_seed_even_with_dropout():
    """CNN-4 has dropout: two zoos from one seed must hold bit-identical models."""
    fm, mn = load_dataset("fashion-mnist"), load_dataset("mnist-5k")
    torch.manual_seed(123)  # the global state must not matter
    a = build_zoo(fm, mn, roots=(("cnn", "a"),), epochs=1, scale=0.02, seed=0)
    torch.manual_seed(456)
    b = build_zoo(fm, mn, roots=(("cnn", "a"),), epochs=1, scale=0.02, seed=0)
    assert a.models.keys() == b.models.keys()
    for name in a.models:
        for (k, x), y in zip(a.models[name].state_dict().items(), b.models[name].state_dict().values(), strict=True):
            assert torch.equal(x, y), f"{name}.{k} differs"


def test_pairs_follow_the_roots():
    """Reused pairs share a root, independent ones do not; same-recipe retrains are their own group."""
    fm, mn = load_dataset("fashion-mnist"), load_dataset("mnist-5k")
    zoo = build_zoo(fm, mn, roots=(("mlp", "a"), ("mlp", "b")), epochs=1, scale=0.02, seed=0)
    groups = {g: [p for p in zoo.pairs if p.group == g] for g in ("reused", "independent", "hard")}
    assert all(zoo.root[p.a] == zoo.root[p.b] for p in groups["reused"]) and len(groups["reused"]) == 24
    assert all(zoo.root[p.a] != zoo.root[p.b] for p in groups["independent"]) and len(groups["independent"]) == 13
    assert [p.b for p in groups["hard"]][:1] == ["mlp"] and all(p.a == "mlp~retrain" for p in groups["hard"])
    assert {p.kind for p in groups["independent"]} == {"other-data"}
    assert any(zoo.cross_task(p) for p in groups["reused"]) and zoo.task["mlp/transfer"] == "mnist"
