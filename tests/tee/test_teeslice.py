"""TEESlice's slices and the attacks: slices train while the public backbone stays bit-identical, pruning
cuts enclave FLOPs, the thief starts from exactly the exposed and public weights, MIA scores losses."""

import numpy as np
import pytest
import torch

from trustmap.data import stratified_indices
from trustmap.data.dataset import Split
from trustmap.models import build_model
from trustmap.models.train import TrainConfig
from trustmap.tee import (
    SlicedModel,
    assemble_from_exposed,
    enclave_partition,
    loss_threshold_mia,
    prune_slices,
    shield,
    steal_teeslice,
    train_slices,
)
from trustmap.tee.teeslice import shrink_slice, split_blocks

SHAPE = (1, 28, 28)


@pytest.fixture(scope="module")
def private(fashion):
    keep = np.flatnonzero(fashion.train.y >= 5)
    idx = keep[stratified_indices(fashion.train.y[keep], 600, seed=0)]
    s = Split(fashion.train.x[idx], (fashion.train.y[idx] - 5).astype(np.int64))
    return s.subset(np.arange(400)), s.subset(np.arange(400, 600))


@pytest.fixture(scope="module")
def backbone():
    return build_model("cnn", input_shape=SHAPE, num_classes=5, seed=0).eval()


def test_split_blocks_of_cnn4(backbone):
    blocks = split_blocks(backbone)
    assert len(blocks) == 6 and isinstance(blocks[4][0], torch.nn.Flatten)
    x = torch.randn(3, *SHAPE)
    with torch.no_grad():
        assert torch.equal(torch.nn.Sequential(*blocks)(x), backbone(x))


def test_untrained_slices_compute_the_backbone_features(backbone):
    sliced = SlicedModel(backbone, num_classes=5, input_shape=SHAPE, seed=0).eval()
    x = torch.randn(4, *SHAPE)
    with torch.no_grad():
        feats = torch.nn.Sequential(*backbone[:-1])(x)
        assert torch.allclose(sliced(x), sliced.head(feats), atol=1e-6)


def test_slices_train_while_the_backbone_stays_bit_identical(backbone, private):
    sliced = SlicedModel(backbone, num_classes=5, input_shape=SHAPE, seed=0)
    blocks_before = {k: v.clone() for k, v in sliced.blocks.state_dict().items()}
    private_before = {k: v.clone() for k, v in sliced.state_dict().items() if not k.startswith("blocks.")}
    train_slices(sliced, private[0], config=TrainConfig(epochs=1, batch_size=64), seed=0)
    after = sliced.state_dict()
    assert all(torch.equal(after[f"blocks.{k}"], v) for k, v in blocks_before.items())  # incl. BN statistics
    assert any(not torch.equal(after[k], v) for k, v in private_before.items() if k.startswith("slices."))
    assert not torch.equal(after["head.weight"], private_before["head.weight"])
    public = backbone.state_dict()  # and they are the public weights themselves
    assert torch.equal(after["blocks.2.0.weight"], public["7.weight"])


def test_shrink_slice_keeping_every_channel_is_the_same_function(backbone):
    sliced = SlicedModel(backbone, num_classes=5, input_shape=SHAPE, seed=0, width=4)
    s = sliced.slices["1"]
    torch.nn.init.normal_(s[-1].weight)
    x = torch.randn(2, 32, 28, 28)
    s.eval()
    shrunk = shrink_slice(s, torch.arange(4)).eval()
    with torch.no_grad():
        assert torch.allclose(shrunk(x), s(x))
        assert shrink_slice(s, torch.tensor([0, 2]))(x).shape == s(x).shape


def test_pruning_reduces_enclave_flops(backbone, private):
    sliced = SlicedModel(backbone, num_classes=5, input_shape=SHAPE, seed=0)
    train_slices(sliced, private[0], config=TrainConfig(epochs=1, batch_size=64), seed=0)
    before = enclave_partition(sliced).flops(sliced, input_shape=SHAPE)
    pruned, result = prune_slices(sliced, private[1], tolerance=0.02, max_fraction=0.03)
    after = enclave_partition(pruned).flops(pruned, input_shape=SHAPE)
    assert after.inside < before.inside and result.fraction_after == pytest.approx(after.fraction_inside)
    assert result.fraction_after <= 0.03 and result.history
    assert len(sliced.slices) == 5 and sliced.slice_widths()["0"] == 8  # the input model is not changed


def test_thief_starts_from_exposed_then_public_weights(backbone):
    victim = build_model("cnn", input_shape=SHAPE, num_classes=5, seed=1)
    public = {k: v for k, v in backbone.state_dict().items() if not k.startswith("19.")}
    for scheme in ("deep", "magnitude"):
        part = shield(victim, scheme)
        thief = assemble_from_exposed(
            build_model("cnn", input_shape=SHAPE, num_classes=5, seed=2), part.exposed(victim), public=public
        )
        fresh = build_model("cnn", input_shape=SHAPE, num_classes=5, seed=2).state_dict()
        for name, t in thief.state_dict().items():
            hidden = part.shielded.get(name, torch.zeros_like(t, dtype=torch.bool))
            assert torch.equal(t[~hidden], victim.state_dict()[name][~hidden])
            source = public[name] if name in public else fresh[name]
            assert torch.equal(t[hidden], source[hidden])


def test_teeslice_thief_keeps_the_public_backbone(backbone, private):
    thief = steal_teeslice(
        backbone, private[1], num_classes=5, input_shape=SHAPE, config=TrainConfig(epochs=1, batch_size=64), seed=0
    )
    assert torch.equal(thief.state_dict()["blocks.0.0.weight"], backbone.state_dict()["0.weight"])


def test_loss_threshold_mia_on_a_memorised_set(private):
    """Random labels can only be memorised: members get low losses, so the AUC is far above 0.5."""
    from trustmap.models.train import fit

    rng = np.random.default_rng(0)
    x = private[0].x[:200]
    members, nonmembers = Split(x[:100], rng.integers(0, 5, 100)), Split(x[100:], rng.integers(0, 5, 100))
    model = build_model("cnn-s", input_shape=SHAPE, num_classes=5, seed=0)
    fit(model, members, config=TrainConfig(epochs=40, batch_size=32, lr=3e-3), seed=0)
    result = loss_threshold_mia(model, members=members, nonmembers=nonmembers)
    assert result.auc > 0.8 and result.member_loss < result.nonmember_loss
    assert 0.0 <= result.nonmember_accuracy <= 1.0
    again = loss_threshold_mia(model, members=members, nonmembers=nonmembers)
    assert again == result


def test_stealing_is_deterministic(private):
    """Same seed, same stolen weights: the batch order and CNN-4's dropout masks both come from ``seed``."""
    from trustmap.tee import steal_from_exposed

    victim = build_model("cnn", input_shape=SHAPE, num_classes=5, seed=1)
    queries = private[1].subset(np.arange(64))
    heads = []
    for _ in range(2):
        torch.manual_seed(len(heads))  # a different global state must not matter
        thief = steal_from_exposed(
            build_model("cnn", input_shape=SHAPE, num_classes=5, seed=2),
            shield(victim, "deep").exposed(victim),
            queries,
            config=TrainConfig(epochs=1, batch_size=32),
            seed=3,
        )
        heads.append(thief.state_dict()["19.weight"])
    assert torch.equal(*heads)
