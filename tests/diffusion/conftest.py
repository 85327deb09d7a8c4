"""Tiny DDPMs (a few training steps on a few hundred FM14 images): seconds, not minutes."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_models():
    from trustmap.diffusion import DDPMConfig, fm_images, train_ddpm

    x, y = fm_images(14, n=256)
    out = {}
    for cond in (False, True):
        cfg = DDPMConfig(conditional=cond, channels=(8, 16), steps=4, batch_size=16, n_train=256)
        out[cond] = train_ddpm(x, y, cfg, progress=False)
    return out
