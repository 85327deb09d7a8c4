"""Filter surgery: shapes stay consistent, the pruned model equals the original with channels zeroed, FLOP
budgets are met and equal across criteria, unstructured masks meet their sparse budget."""

import copy

import pytest
import torch

from trustmap.errors import ModelError
from trustmap.models import build_model
from trustmap.models.pruning.filters import (
    find_units,
    l1_scores,
    magnitude_masks,
    prune_filters,
    random_scores,
    select_to_budget,
)
from trustmap.models.pruning.flops import count_flops

SHAPE = (1, 28, 28)


@pytest.fixture
def cnn():
    return build_model("cnn", input_shape=SHAPE, num_classes=5, width=8, seed=0).eval()


def test_pruned_model_runs_and_equals_the_original_with_dropped_channels_zeroed(cnn):
    keep = {u.conv: torch.arange(0, cnn[u.conv].out_channels, 2) for u in find_units(cnn)}  # every other filter
    small = prune_filters(cnn, keep).eval()
    zeroed = copy.deepcopy(cnn)
    for u in find_units(zeroed):
        drop = torch.ones(zeroed[u.conv].out_channels, dtype=torch.bool)
        drop[keep[u.conv]] = False
        zeroed[u.scale].weight.data[drop] = 0
        zeroed[u.scale].bias.data[drop] = 0
    x = torch.rand(3, *SHAPE)
    assert torch.allclose(small(x), zeroed(x), atol=1e-5)
    assert [small[u.conv].out_channels for u in find_units(small)] == [4, 4, 8, 8]
    assert count_flops(small, SHAPE).params < count_flops(cnn, SHAPE).params


def test_budgets_are_met_and_equal_across_criteria(cnn):
    base = count_flops(cnn, SHAPE).macs
    kept = {}
    for name, scores in (
        ("l1", l1_scores(cnn)),
        ("random", random_scores(cnn, generator=torch.Generator().manual_seed(0))),
    ):
        small = prune_filters(cnn, select_to_budget(cnn, scores, budget=0.7 * base, input_shape=SHAPE))
        kept[name] = count_flops(small, SHAPE).macs / base
        assert small(torch.rand(2, *SHAPE)).shape == (2, 5)
    assert all(0.66 <= v <= 0.70 for v in kept.values()), kept  # within a filter's cost of the budget


def test_impossible_budget_and_non_sequential_models_raise(cnn):
    with pytest.raises(ModelError, match="FLOP budget"):
        select_to_budget(cnn, l1_scores(cnn), budget=1.0, input_shape=SHAPE)
    with pytest.raises(ModelError, match="Sequential"):
        find_units(torch.nn.ModuleList([torch.nn.Conv2d(1, 2, 3)]))


def test_magnitude_masks_meet_the_sparse_budget(cnn):
    base = count_flops(cnn, SHAPE).macs
    masks = magnitude_masks(cnn, budget=0.5 * base, input_shape=SHAPE)
    sparse = copy.deepcopy(cnn)
    for name, m in sparse.named_modules():
        if name in masks:
            m.weight.data *= masks[name]
    assert 0.49 <= count_flops(sparse, SHAPE, nonzero=True).macs / base <= 0.5
