"""The enclave boundary and its bookkeeping: FLOPs inside + outside = total for every scheme, and the
attacker sees exactly the non-shielded weights."""

import pytest
import torch

from trustmap.errors import TrustmapError
from trustmap.models import build_model
from trustmap.tee import (
    FlopsSplit,
    enclave_partition,
    layer_flops,
    layer_units,
    scheme_names,
    shield,
    tee_latency,
)
from trustmap.tee.teeslice import SlicedModel

SHAPE = (1, 28, 28)


@pytest.fixture(scope="module")
def cnn4():
    return build_model("cnn", input_shape=SHAPE, num_classes=5, seed=0).eval()


def test_flop_counter_matches_hand_count(cnn4):
    flops = layer_flops(cnn4, input_shape=SHAPE)
    # conv 1->32 and 32->32 at 28x28, 32->64 and 64->64 at 14x14 (3x3), FC 3136->128, 128->5; 2 FLOPs per MAC
    expected = 2 * (9 * 1 * 32 * 784 + 9 * 32 * 32 * 784 + 9 * 32 * 64 * 196 + 9 * 64 * 64 * 196 + 3136 * 128 + 128 * 5)
    assert sum(flops.values()) == expected
    assert [u.name for u in layer_units(cnn4)] == list(flops)


def test_flop_counter_agrees_with_torch_flop_counter(cnn4):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        cnn4(torch.zeros(1, *SHAPE))
    assert sum(layer_flops(cnn4, input_shape=SHAPE).values()) == counter.get_total_flops()


@pytest.mark.parametrize("scheme", ["none", "shallow", "deep", "magnitude", "intermediate", "whole"])
def test_inside_plus_outside_is_total_for_every_scheme(cnn4, scheme):
    total = sum(layer_flops(cnn4, input_shape=SHAPE).values())
    split = shield(cnn4, scheme).flops(cnn4, input_shape=SHAPE)
    assert split.inside + split.outside == pytest.approx(total, rel=1e-12)
    assert 0.0 <= split.fraction_inside <= 1.0


def test_scheme_fractions(cnn4):
    frac = {s: shield(cnn4, s).flops(cnn4, input_shape=SHAPE).fraction_inside for s in scheme_names()}
    assert frac["none"] == 0.0 and frac["whole"] == 1.0
    assert frac["magnitude"] == pytest.approx(0.1, abs=1e-3)
    assert 0 < frac["shallow"] < frac["deep"] < frac["intermediate"] <= 0.2


def test_teeslice_inside_plus_outside_is_total():
    sliced = SlicedModel(
        build_model("cnn", input_shape=SHAPE, num_classes=5, seed=0), num_classes=5, input_shape=SHAPE, seed=0
    )
    total = sum(layer_flops(sliced, input_shape=SHAPE).values())
    split = enclave_partition(sliced).flops(sliced, input_shape=SHAPE)
    assert split.total == pytest.approx(total, rel=1e-12)
    backbone = sum(f for n, f in layer_flops(sliced, input_shape=SHAPE).items() if n.startswith("blocks."))
    assert split.outside == backbone and split.inside > 0


@pytest.mark.parametrize("scheme", ["none", "shallow", "deep", "magnitude", "intermediate", "whole"])
def test_exposed_weights_are_exactly_the_unshielded_ones(cnn4, scheme):
    part = shield(cnn4, scheme)
    state = cnn4.state_dict()
    exposed = part.exposed(cnn4)
    for name, t in state.items():
        mask = part.shielded.get(name, torch.zeros_like(t, dtype=torch.bool))
        if mask.all():
            assert name not in exposed.values  # an entirely shielded tensor is not visible at all
            continue
        seen = exposed.visible[name]
        assert torch.equal(seen, ~mask)
        assert torch.equal(exposed.values[name][seen], t[seen])  # visible: the real values
        assert not exposed.values[name][~seen].any()  # hidden: nothing leaks
    assert exposed.values.keys() == {n for n, t in state.items() if not part.shielded.get(n, torch.zeros(1)).all()}


def test_layer_schemes_shield_whole_units_with_their_batchnorm(cnn4):
    deep = shield(cnn4, "deep")
    assert set(deep.shielded) == {"16.weight", "16.bias", "19.weight", "19.bias"}
    shallow = shield(cnn4, "shallow")
    assert {"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"} <= set(shallow.shielded)
    assert shallow.shielded_parameters(cnn4) == 32 * 9 + 2 * 32


def test_magnitude_scheme_hides_the_largest_weights(cnn4):
    part = shield(cnn4, "magnitude")
    w, mask = cnn4.get_submodule("3").weight.detach(), part.shielded["3.weight"]
    assert w.abs()[mask].min() >= w.abs()[~mask].max()


def test_teeslice_exposes_only_the_backbone():
    backbone = build_model("cnn", input_shape=SHAPE, num_classes=5, seed=0)
    sliced = SlicedModel(backbone, num_classes=5, input_shape=SHAPE, seed=0)
    exposed = enclave_partition(sliced).exposed(sliced)
    assert exposed.values and all(k.startswith("blocks.") for k in exposed.values)
    assert all(not k.startswith("blocks.") for k in enclave_partition(sliced).shielded)


def test_unknown_scheme_and_latency_model(cnn4):
    with pytest.raises(TrustmapError, match="unknown shielding scheme"):
        shield(cnn4, "everything")
    split = FlopsSplit(inside=1e6, outside=9e6)
    assert tee_latency(split, flops_per_second=1e9, slowdown=10) == pytest.approx(0.019)
    with pytest.raises(ValueError):
        tee_latency(split, flops_per_second=0)
