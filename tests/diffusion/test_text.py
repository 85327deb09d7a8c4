"""The text-conditioned DDPM: MiniLM caption states, attribute captions, guidance, training, save/load."""

import numpy as np
import pytest
import torch

from trustmap.diffusion import DDPMConfig, cached_text_ddpm, fm_images, load_ddpm, sample, save_ddpm
from trustmap.diffusion.text import (
    HIDDEN,
    MAX_TOKENS,
    TextDDPM,
    caption,
    caption_ids,
    caption_set,
    caption_table,
    class_caption_ids,
    encode_captions,
    guided,
    train_text_ddpm,
)
from trustmap.errors import TrustmapError


def test_caption_set_indexes_attribute_and_class_captions(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "text-diffusion-cache"  # shared with the text repro tests
    monkeypatch.setenv("TRUSTMAP_CACHE", str(cache))
    caption_table.cache_clear()
    texts = caption_set()
    assert len(texts) == 1380 and texts[int(class_caption_ids(np.array([7]))[0])] == caption(7)
    assert (
        texts[int(caption_ids(np.array([[7, 2, 0, 1]]), 0)[0])]
        == "a heavy narrow sneaker, sitting centred in the frame"
    )
    table = caption_table()
    assert table.shape == (1380, MAX_TOKENS, HIDDEN + 1) and len(list(cache.glob("diffusion/captions-*"))) == 1
    assert torch.allclose(table[1350 + 21], encode_captions([caption(7)])[0], atol=1e-5)
    caption_table.cache_clear()
    assert torch.equal(caption_table(), table)  # read back from the disk cache


def test_text_ddpm_trains_samples_and_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))
    assert caption(7) == "a photo of a sneaker"
    cond = encode_captions([caption(7), caption(1, 2)])
    assert cond.shape == (2, MAX_TOKENS, HIDDEN + 1) and set(cond[..., -1].unique().tolist()) == {0.0, 1.0}
    x, y = fm_images(14, n=64)
    model = train_text_ddpm(x, y, DDPMConfig(channels=(8, 16), steps=2, batch_size=8, n_train=64))
    out = sample(model, n=2, steps=3, sampler="dpm++", labels=cond, seed=1)
    assert out.shape == (2, 1, 14, 14)
    assert not torch.equal(out, sample(guided(model, 3.0), n=2, steps=3, sampler="dpm++", labels=cond, seed=1))
    again = load_ddpm(save_ddpm(model, tmp_path / "t"))
    assert isinstance(again, TextDDPM)
    assert torch.equal(out, sample(again, n=2, steps=3, sampler="dpm++", labels=cond, seed=1))
    with pytest.raises(TrustmapError, match="encoded captions"):
        sample(model, n=2, steps=2)
    with pytest.raises(TrustmapError, match="captions, not class labels"):
        TextDDPM.build(DDPMConfig(conditional=True))
    with pytest.raises(TrustmapError, match="guidance"):
        guided(model, 0.0)
    cfg = DDPMConfig(channels=(8, 16), steps=2, batch_size=8, n_train=64)
    cached = cached_text_ddpm(cfg)
    assert isinstance(cached, TextDDPM) and len(list((tmp_path / "cache" / "diffusion").glob("text-ddpm-*"))) == 1
    assert all(torch.equal(a, b) for a, b in zip(cached.unet.parameters(), cached_text_ddpm(cfg).unet.parameters()))
