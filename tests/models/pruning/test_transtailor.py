"""TransTailor on a tiny transfer problem: budget reached, alpha folding is exact, deterministic, bad input."""

import copy

import numpy as np
import pytest
import torch

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.models import build_model
from trustmap.models.pruning.filters import find_units
from trustmap.models.pruning.flops import count_flops
from trustmap.models.pruning.transtailor import (
    PruneConfig,
    _scale_hooks,
    fold_scaling,
    prune_iteratively,
    taylor_importance,
    train_scaling_factors,
    transtailor,
)

SHAPE = (1, 12, 12)
FAST = PruneConfig(flops_ratio=0.7, step=0.15, alpha_epochs=2, finetune_epochs=1, final_epochs=1)


@pytest.fixture
def task():
    rng = np.random.default_rng(0)
    x = rng.random((40, *SHAPE), dtype=np.float32)
    y = (x[:, 0, :6].mean((1, 2)) > x[:, 0, 6:].mean((1, 2))).astype(np.int64)
    return build_model("cnn", input_shape=SHAPE, num_classes=2, width=4, seed=0).eval(), Split(x, y)


def test_transtailor_reaches_the_budget_and_runs(task):
    model, data = task
    out = transtailor(model, data, input_shape=SHAPE, config=FAST, seed=0)
    assert out.macs <= 0.7 * out.base_macs and out.macs == count_flops(out.model, SHAPE).macs
    assert out.model(torch.rand(3, *SHAPE)).shape == (3, 2)
    assert set(out.first_scores) == {u.conv for u in find_units(model)} and len(out.history) >= 2
    assert all((s >= 0).all() for s in out.first_scores.values())


def test_folding_alpha_gives_the_same_outputs_as_the_hooks(task):
    model, data = task
    alphas = train_scaling_factors(model, data, epochs=2, lr=0.05, seed=0)
    assert any(not torch.allclose(a, torch.ones_like(a)) for a in alphas.values())
    x = torch.rand(4, *SHAPE)
    hooks = _scale_hooks(model, alphas)
    with torch.no_grad():
        hooked = model(x)
    for h in hooks:
        h.remove()
    folded = copy.deepcopy(model)
    fold_scaling(folded, alphas)
    with torch.no_grad():
        assert torch.allclose(folded(x), hooked, atol=1e-5)
    scores = taylor_importance(model, alphas, data)
    assert {k: v.shape for k, v in scores.items()} == {k: v.shape for k, v in alphas.items()}


def test_same_seed_same_model_and_criteria_share_the_budget(task):
    model, data = task
    a = prune_iteratively(model, data, input_shape=SHAPE, criterion="l1", config=FAST, seed=3)
    b = prune_iteratively(model, data, input_shape=SHAPE, criterion="l1", config=FAST, seed=3)
    x = torch.rand(2, *SHAPE)
    assert torch.equal(a.model(x), b.model(x))
    r = prune_iteratively(model, data, input_shape=SHAPE, criterion="random", config=FAST, seed=3)
    assert abs(a.macs - r.macs) / a.base_macs < 0.05


def test_bad_options_raise_clear_errors(task):
    model, data = task
    with pytest.raises(TrustmapError, match="criterion"):
        prune_iteratively(model, data, input_shape=SHAPE, criterion="taylor")
    with pytest.raises(TrustmapError, match="flops_ratio"):
        PruneConfig(flops_ratio=1.5)
