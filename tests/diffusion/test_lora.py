"""LoRA and full fine-tuning of the text-conditioned DDPM, merging and the adapter file."""

import pytest
import torch

from trustmap.diffusion import DDPMConfig, fm_images, sample
from trustmap.diffusion.lora import (
    AdaptConfig,
    adapt_text_ddpm,
    is_lora,
    load_lora,
    merge_lora,
    save_lora,
    trainable_parameters,
)
from trustmap.diffusion.text import encode_captions, guided, train_text_ddpm
from trustmap.errors import ModelError, TrustmapError


def test_lora_trains_only_the_adapter_and_merges_to_the_same_model(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    x, y = fm_images(14, n=32)
    base = train_text_ddpm(x, y, DDPMConfig(channels=(8, 16), steps=2, batch_size=8, n_train=32))
    before = {k: v.clone() for k, v in base.unet.state_dict().items()}
    conds = encode_captions(["a negative photo of a bag"]).expand(len(x), -1, -1)
    lora = adapt_text_ddpm(base, 1.0 - x, conds, AdaptConfig(method="lora", steps=3, batch_size=8, lr=0.05))
    full = adapt_text_ddpm(base, 1.0 - x, conds, AdaptConfig(method="full", steps=3, batch_size=8))
    assert all(torch.equal(v, base.unet.state_dict()[k]) for k, v in before.items())  # base untouched
    n_lora, n_full = trainable_parameters(lora), trainable_parameters(full)
    assert is_lora(lora) and not is_lora(full) and n_full == sum(v.numel() for v in before.values())
    assert 0 < n_lora < 0.2 * n_full
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in lora.unet.state_dict().items())  # B moved off 0
    cond = conds[:4]
    out = sample(guided(lora, 2.0), n=4, steps=3, sampler="ddim", labels=cond, seed=3)
    merged = merge_lora(lora)
    assert not is_lora(merged) and trainable_parameters(merged) == n_full
    assert torch.allclose(
        out, sample(guided(merged, 2.0), n=4, steps=3, sampler="ddim", labels=cond, seed=3), atol=1e-4
    )
    assert not torch.allclose(out, sample(guided(base, 2.0), n=4, steps=3, sampler="ddim", labels=cond, seed=3))
    again = load_lora(base, save_lora(lora, tmp_path / "a.safetensors"))
    assert torch.allclose(out, sample(guided(again, 2.0), n=4, steps=3, sampler="ddim", labels=cond, seed=3), atol=1e-5)
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(ModelError):
        load_lora(base, tmp_path / "bad.safetensors")
    with pytest.raises(TrustmapError):
        merge_lora(full)
    with pytest.raises(TrustmapError):
        AdaptConfig(method="dora")
