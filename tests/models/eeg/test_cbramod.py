"""CBraMod-lite: shapes, criss-cross attention mixes only along its axis, masking, montage-agnostic, seeded."""

import pytest
import torch
from torch import nn

from trustmap.errors import DataError
from trustmap.models.eeg.cbramod import CrissCrossLayer, EEGTransformer, FullLayer, masked_patch_loss, pretrain_masked
from trustmap.models.eeg.eegnet import EEGNet


class _Zero(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


def _changed(layer, c0=1, n0=2):
    torch.manual_seed(0)
    layer.eval()
    x = torch.randn(1, 5, 4, 16)
    y = x.clone()
    y[0, c0, n0] += torch.randn(16)
    with torch.no_grad():
        return (layer(y) - layer(x)).abs()[0] > 1e-6  # (C, N, d): which outputs moved


def test_criss_cross_attention_mixes_only_along_its_axis():
    layer = CrissCrossLayer(16, 4, dropout=0.0)
    layer.ff = _Zero()  # look at the attention outputs alone
    moved = _changed(layer)
    half = 8
    # a token outside the perturbed token's channel row and patch column is untouched
    assert not moved[[0, 2, 3, 4]][:, [0, 1, 3]].any()
    # same patch, other channels: only the spatial half (first d/2 features) moved
    assert moved[[0, 2, 3, 4], 2, :half].all() and not moved[[0, 2, 3, 4], 2, half:].any()
    # same channel, other patches: only the temporal half moved
    assert moved[1, [0, 1, 3], half:].all() and not moved[1, [0, 1, 3], :half].any()
    # with the FFN, still only the perturbed row and column move
    full_moved = _changed(CrissCrossLayer(16, 4, dropout=0.0))
    assert not full_moved[[0, 2, 3, 4]][:, [0, 1, 3]].any()
    # full attention mixes every token
    assert _changed(FullLayer(16, 4, dropout=0.0)).any(-1).all()


def test_shapes_any_montage_and_a_fresh_head():
    torch.manual_seed(0)
    model = EEGTransformer(d_model=16, layers=1, heads=4)
    assert model.features(torch.randn(2, 19, 800)).shape == (2, 19, 4, 16)
    model.set_classifier(channels=12, patches=3, classes=4)
    assert model(torch.randn(3, 12, 600)).shape == (3, 4)
    assert EEGNet(channels=12, samples=800, classes=4)(torch.randn(2, 12, 800)).shape == (2, 4)
    with pytest.raises(DataError, match="multiple of 200"):
        model.features(torch.randn(1, 12, 650))
    with pytest.raises(DataError, match="channels"):
        EEGTransformer(d_model=16, layers=1, heads=4, attention="full").features(torch.randn(1, 20, 400))
    with pytest.raises(DataError):
        EEGTransformer(attention="sparse")
    with pytest.raises(DataError, match="set_classifier"):
        EEGTransformer(d_model=16, layers=1, heads=4)(torch.randn(1, 2, 200))


def test_masked_patches_are_hidden_from_the_encoder():
    torch.manual_seed(0)
    model = EEGTransformer(d_model=16, layers=2, heads=4).eval()
    x = torch.randn(1, 6, 800)
    mask = torch.zeros(1, 6, 4, dtype=torch.bool)
    mask[0, 2, 1] = True
    y = x.clone()
    y[0, 2, 200:400] = 50 * torch.randn(200)  # change only the masked patch
    with torch.no_grad():
        torch.testing.assert_close(model.features(x, mask), model.features(y, mask))
        assert not torch.allclose(model.features(x), model.features(y))
        assert masked_patch_loss(model, y, mask) > masked_patch_loss(model, x, mask)  # the target is the patch


def test_pretraining_is_seeded_and_lowers_the_loss():
    x = torch.randn(16, 4, 400)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = EEGTransformer(d_model=16, layers=1, heads=4)
        runs.append(pretrain_masked(model, x, epochs=4, batch_size=8, lr=3e-3, seed=1))
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]
