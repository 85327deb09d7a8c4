"""An on-disk cache of trained DDPMs and of the classifier behind the quality metrics, so that repros,
benchmarks and the CLI train each once. Folder: ``$TRUSTMAP_CACHE`` if set, else the user cache folder
(``platformdirs.user_cache_dir("trustmap")``), then ``diffusion/``. A DDPM lives in
``ddpm-<config key>/`` (a text-conditioned one in ``text-ddpm-<caption set>-<config key>/``) (:func:`trustmap.diffusion.io.save_ddpm`); a cached file that fails to load is
trained again and replaced.

>>> model = cached_ddpm(DDPMConfig(image_size=14, conditional=True))
>>> text = cached_text_ddpm(DDPMConfig(image_size=14))  # the text-conditioned variant
>>> clf = cached_classifier(14)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from trustmap.diffusion.config import DDPMConfig
from trustmap.diffusion.data import fm_images
from trustmap.diffusion.io import load_ddpm, save_ddpm
from trustmap.diffusion.model import DDPM
from trustmap.diffusion.train import train_ddpm
from trustmap.errors import ModelError
from trustmap.utils.files import atomic_write

if TYPE_CHECKING:
    from trustmap.diffusion.text import TextDDPM


def cache_root() -> Path:
    env = os.environ.get("TRUSTMAP_CACHE")
    if env:
        return Path(env) / "diffusion"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("trustmap", appauthor=False)) / "diffusion"


def cached_ddpm(config: DDPMConfig, *, progress: bool | None = None) -> DDPM:
    """The DDPM trained with ``config`` on the Fashion-MNIST training set: loaded, or trained and saved."""
    folder = cache_root() / f"ddpm-{config.key()}"
    if folder.exists():
        try:
            return load_ddpm(folder)
        except ModelError:
            pass  # a corrupt cache entry is retrained below
    x, y = fm_images(config.image_size, split="train", n=config.n_train)
    model = train_ddpm(x, y, config, progress=progress)
    save_ddpm(model, folder)
    return model


def cached_text_ddpm(config: DDPMConfig, *, progress: bool | None = None) -> TextDDPM:
    """The text-conditioned DDPM (:mod:`trustmap.diffusion.text`) trained with ``config``: loaded, or trained
    and saved in ``text-ddpm-<caption set>-<config key>/``."""
    from trustmap.diffusion.text import CAPTION_SET, TextDDPM, train_text_ddpm

    folder = cache_root() / f"text-ddpm-{CAPTION_SET}-{config.key()}"
    if folder.exists():
        try:
            model = load_ddpm(folder)
            if isinstance(model, TextDDPM):
                return model
        except ModelError:
            pass  # a corrupt cache entry is retrained below
    x, y = fm_images(config.image_size, split="train", n=config.n_train)
    model = train_text_ddpm(x, y, config, progress=progress)
    save_ddpm(model, folder)
    return model


def cached_classifier(image_size: int, *, seed: int = 0, epochs: int = 3, n_train: int = 60000) -> nn.Sequential:
    """A CNN-S trained on Fashion-MNIST at ``image_size`` (the metrics' classifier and feature network)."""
    from trustmap.data.dataset import Split
    from trustmap.models import TrainConfig, build_model, fit

    model = build_model("cnn-s", input_shape=(1, image_size, image_size), num_classes=10, seed=seed)
    path = cache_root() / f"classifier-cnn-s-{image_size}-{seed}-{epochs}-{n_train}.safetensors"
    if path.is_file():
        try:
            model.load_state_dict(load_file(str(path)), strict=True)
            return model.eval()
        except (SafetensorError, OSError, RuntimeError, ValueError):
            model = build_model("cnn-s", input_shape=(1, image_size, image_size), num_classes=10, seed=seed)
    x, y = fm_images(image_size, split="train", n=n_train)
    fit(model, Split(x, y), config=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3), seed=seed, progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    return model.eval()
