"""The MAC counter: hand-computed answers for conv and linear layers, sparse counting, bad input."""

import pytest
import torch
from torch import nn

from trustmap.errors import ModelError
from trustmap.models import build_model
from trustmap.models.pruning.flops import count_flops


def test_known_answers_for_conv_and_linear():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5)
    )
    fc = count_flops(model, (3, 8, 8))
    assert fc.per_layer == {"0": 8 * 8 * 8 * 3 * 9, "2": 3 * 3 * 4 * 8 * 9, "4": 36 * 5}
    assert fc.macs == sum(fc.per_layer.values())
    assert fc.params == sum(p.numel() for p in model.parameters())


def test_cnn_s_matches_the_formula_and_sparse_counting_sees_zeros():
    model = build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10, seed=0)
    fc = count_flops(model, (1, 28, 28))
    assert fc.macs == 28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 1568 * 128 + 1280
    with torch.no_grad():
        model[0].weight[:8] = 0  # half the first conv's filters
    sparse = count_flops(model, (1, 28, 28), nonzero=True)
    assert fc.macs - sparse.macs == 28 * 28 * 8 * 9


def test_wrong_input_shape_raises_a_model_error():
    with pytest.raises(ModelError, match="input"):
        count_flops(build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10), (3, 28, 28))


def test_agrees_with_the_tee_flop_count():
    from trustmap.tee.partition import layer_flops

    model = build_model("cnn", input_shape=(1, 28, 28), num_classes=10, width=8, seed=0)
    fc = count_flops(model, (1, 28, 28))
    assert {k: 2 * v for k, v in fc.per_layer.items()} == layer_flops(model, input_shape=(1, 28, 28))
