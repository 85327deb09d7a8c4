"""Attention-controlled editing: the source branch is untouched, control changes the edit, same prompts agree."""

import pytest
import torch

from trustmap.diffusion import DDPMConfig, fm_images, initial_noise
from trustmap.diffusion.edit import edit
from trustmap.diffusion.text import encode_captions, guided, train_text_ddpm
from trustmap.errors import TrustmapError


def test_edit_modes(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    x, y = fm_images(14, n=64)
    model = guided(train_text_ddpm(x, y, DDPMConfig(channels=(8, 16), steps=3, batch_size=8, n_train=64)), 2.0)
    noise = initial_noise(3, (1, 14, 14), seed=0)
    src = encode_captions(["a photo of a sneaker"] * 3)
    tgt = encode_captions(["a photo of a bag"] * 3)
    s0, e0 = edit(model, noise, src, tgt, mode="none", steps=4)
    s1, e1 = edit(model, noise, src, tgt, mode="self", tau=1.0, steps=4)
    s2, e2 = edit(model, noise, src, tgt, mode="cross", tau=1.0, steps=4)
    assert torch.allclose(s0, s1, atol=1e-5) and torch.allclose(s0, s2, atol=1e-5)  # the source never changes
    assert not torch.allclose(e0, e1) and not torch.allclose(e0, e2)
    _, same = edit(model, noise, src, src, mode="self", tau=1.0, steps=4)
    assert torch.allclose(same, s0, atol=1e-5)
    _, zero_tau = edit(model, noise, src, tgt, mode="cross", tau=0.0, steps=4)
    assert torch.allclose(zero_tau, e0, atol=1e-5)
    names = {type(p).__name__ for p in model.unet.attn_processors.values()}
    assert "InjectProcessor" not in names  # processors restored
    with pytest.raises(TrustmapError):
        edit(model, noise, src, tgt, mode="both")
