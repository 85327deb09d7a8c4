"""SF-UIDA and its baselines: views, InfoNCE, what each adaptation may change, determinism, bad input."""

import pytest
import torch

from trustmap.errors import DataError
from trustmap.models.eeg.sf_uida import SFUIDAConfig, info_nce, sf_uida, view_noise_scale, view_shift_bandstop
from trustmap.models.eeg.sfda_baselines import shot, tent
from trustmap.models.eeg.sleepnet import SleepNet
from trustmap.utils.seed import torch_generator


def _model():
    torch.manual_seed(0)
    return SleepNet(channels=2, hidden=8).eval()


def test_views_keep_shape_and_the_band_stop_removes_a_band():
    x = torch.randn(3, 4, 2, 500)
    assert view_noise_scale(x, torch_generator(0)).shape == x.shape
    v = view_shift_bandstop(x, torch_generator(0), sfreq=50.0)
    assert v.shape == x.shape
    spec = torch.fft.rfft(v.permute(0, 2, 1, 3).reshape(3, 2, -1), dim=-1).abs().mean((0, 1))
    freqs = torch.fft.rfftfreq(2000, 1 / 50)
    assert (spec < 1e-3).sum() > 0.05 * len(freqs)  # a 2-Hz band of 25 is gone
    assert spec[(freqs > 0.5) & (freqs < 1.0)].min() > 0.1


def test_info_nce_rewards_matching_pairs():
    z = torch.eye(8)
    assert info_nce(z, z, 0.1) < 0.01
    assert info_nce(z, z.roll(1, 0), 0.1) > 5


def test_adaptations_are_seeded_and_leave_the_source_model_alone():
    model, x = _model(), torch.randn(4, 3, 2, 1500)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = SFUIDAConfig(scc_epochs=1, st_epochs=1, threshold=0.0)
    a, b = sf_uida(model, x, config=cfg, seed=0), sf_uida(model, x, config=cfg, seed=0)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    torch.testing.assert_close(a.model(x), b.model(x))
    assert not torch.allclose(a.model(x), model(x)) and a.cpu_seconds > 0 and len(a.losses) == 2


def test_tent_changes_only_batchnorm_and_shot_keeps_the_classifier():
    model, x = _model(), torch.randn(4, 3, 2, 1500)
    t = tent(model, x, epochs=1, seed=0).model
    for (name, p), p0 in zip(t.named_parameters(), model.parameters(), strict=True):
        is_bn = name.startswith("encoder.") and p.dim() == 1 and "encoder.0." not in name
        assert torch.equal(p, p0) or is_bn, name
    s = shot(model, x, epochs=1, seed=0).model
    torch.testing.assert_close(s.classifier.weight, model.classifier.weight)
    assert not torch.equal(s.encoder[0].weight, model.encoder[0].weight)


def test_bad_target_data_raises():
    with pytest.raises(DataError, match="sequences"):
        sf_uida(_model(), torch.randn(3, 2, 1500))
