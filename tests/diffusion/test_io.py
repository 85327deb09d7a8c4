"""Save/load round trip, refusal of corrupt files, samplers, grids."""

import json

import numpy as np
import pytest
import torch

from trustmap.diffusion import (
    DDPMConfig,
    initial_noise,
    load_ddpm,
    sample,
    save_ddpm,
    save_grid,
    teacher_path,
)
from trustmap.errors import DataError, ModelError, TrustmapError


def test_roundtrip_gives_identical_samples_for_a_seed(tiny_models, tmp_path):
    model = tiny_models[True]
    save_ddpm(model, tmp_path / "m")
    again = load_ddpm(tmp_path / "m")
    assert again.config == model.config
    labels = torch.arange(6)
    for sampler in ("ddim", "dpm++", "ddpm"):
        a = sample(model, n=6, steps=4, sampler=sampler, seed=3, labels=labels)
        b = sample(again, n=6, steps=4, sampler=sampler, seed=3, labels=labels)
        assert torch.equal(a, b) and a.shape == (6, 1, 14, 14)
    assert not torch.equal(a, sample(model, n=6, steps=4, sampler="ddpm", seed=4, labels=labels))
    assert float(a.min()) >= -1 and float(a.max()) <= 1


def test_corrupt_or_altered_files_are_refused(tiny_models, tmp_path):
    folder = save_ddpm(tiny_models[False], tmp_path / "m")
    weights = folder / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-5] ^= 0xFF  # a changed byte inside a tensor: still valid safetensors, wrong checksum
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="checksum"):
        load_ddpm(folder)
    weights.write_bytes(b"not a safetensors file")
    meta = json.loads((folder / "config.json").read_text())
    import hashlib

    meta["weights_sha256"] = hashlib.sha256(b"not a safetensors file").hexdigest()
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="safetensors"):
        load_ddpm(folder)
    (folder / "config.json").write_text("{truncated")
    with pytest.raises(ModelError, match="corrupt"):
        load_ddpm(folder)
    meta["config"]["evil"] = 1
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError):
        load_ddpm(folder)
    with pytest.raises(ModelError, match="not a trustmap DDPM folder"):
        load_ddpm(tmp_path / "missing")


def test_bad_inputs_raise_trustmap_errors(tiny_models):
    with pytest.raises(TrustmapError, match="class-conditional"):
        sample(tiny_models[True], n=2, steps=2)
    with pytest.raises(TrustmapError, match="unconditional"):
        sample(tiny_models[False], n=2, steps=2, labels=torch.zeros(2))
    with pytest.raises(TrustmapError, match="unknown sampler"):
        sample(tiny_models[False], n=2, steps=2, sampler="euler")
    with pytest.raises(TrustmapError, match="labels"):
        sample(tiny_models[True], n=2, steps=2, labels=torch.tensor([0, 12]))
    with pytest.raises(TrustmapError, match="image size"):
        DDPMConfig(image_size=32)
    with pytest.raises(DataError, match="shape"):
        from trustmap.diffusion import train_ddpm

        train_ddpm(np.zeros((4, 1, 28, 28), np.float32), None, DDPMConfig(steps=1))


def test_teacher_path_is_the_ddim_trajectory(tiny_models):
    model = tiny_models[False]
    noise = initial_noise(5, model.config.shape, seed=0)
    path = teacher_path(model, noise, steps=10)
    assert path.x.shape == (11, 5, 1, 14, 14) and path.eps.shape == (10, 5, 1, 14, 14)
    assert torch.equal(path.x[0], noise) and int(path.timesteps[0]) == 999
    end = sample(model, noise=noise, steps=10, sampler="ddim")
    assert torch.allclose(path.x[-1].clamp(-1, 1), end, atol=1e-6)


def test_grid_png_has_the_tiled_size(tmp_path):
    from PIL import Image

    pix = np.random.default_rng(0).random((12, 1, 14, 14)).astype(np.float32)
    out = save_grid(pix, tmp_path / "g.png", nrow=5, scale=2)
    with Image.open(out) as img:
        assert img.size == (2 * (5 * 15 + 1), 2 * (3 * 15 + 1))
    with pytest.raises(DataError):
        save_grid(np.zeros((2, 3, 14, 14)), tmp_path / "h.png")
