"""The text-conditioned DDPM: MiniLM caption states, training, sampling, save/load."""

import pytest
import torch

from trustmap.diffusion import DDPMConfig, fm_images, load_ddpm, sample, save_ddpm
from trustmap.diffusion.text import HIDDEN, MAX_TOKENS, TextDDPM, caption, encode_captions, train_text_ddpm
from trustmap.errors import TrustmapError


def test_text_ddpm_trains_samples_and_round_trips(tmp_path):
    assert caption(7) == "a photo of a sneaker"
    cond = encode_captions([caption(7), caption(1, 2)])
    assert cond.shape == (2, MAX_TOKENS, HIDDEN + 1) and set(cond[..., -1].unique().tolist()) == {0.0, 1.0}
    x, y = fm_images(14, n=64)
    model = train_text_ddpm(x, y, DDPMConfig(channels=(8, 16), steps=2, batch_size=8, n_train=64))
    out = sample(model, n=2, steps=3, sampler="dpm++", labels=cond, seed=1)
    assert out.shape == (2, 1, 14, 14)
    again = load_ddpm(save_ddpm(model, tmp_path / "t"))
    assert isinstance(again, TextDDPM)
    assert torch.equal(out, sample(again, n=2, steps=3, sampler="dpm++", labels=cond, seed=1))
    with pytest.raises(TrustmapError, match="encoded captions"):
        sample(model, n=2, steps=2)
    with pytest.raises(TrustmapError, match="captions, not class labels"):
        TextDDPM.build(DDPMConfig(conditional=True))
