"""Fashion-MNIST images for the diffusion models: ``(N, 1, S, S)`` float32 in [0, 1], ``S`` = 28 or 14
(FM14: 2×2 average pooling), with labels ``(N,)`` int64. Real data (ships offline), nothing synthetic.

>>> x, y = fm_images(14, split="test", n=1000)
>>> x.shape, float(x.min()) >= 0.0
((1000, 1, 14, 14), True)
"""

from __future__ import annotations

import numpy as np

from trustmap.data import load_dataset
from trustmap.errors import TrustmapError


def pool2(x: np.ndarray) -> np.ndarray:
    """2×2 average pooling of ``(N, C, H, W)`` → ``(N, C, H/2, W/2)``."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)).astype(np.float32)


def fm_images(image_size: int, *, split: str = "train", n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of a Fashion-MNIST split (all when ``n`` is None) at ``image_size``."""
    if image_size not in (14, 28):
        raise TrustmapError(f"image size must be 14 (FM14) or 28, got {image_size}")
    if split not in ("train", "test"):
        raise TrustmapError(f"split must be 'train' or 'test', got {split!r}")
    ds = load_dataset("fashion-mnist")
    part = ds.train if split == "train" else ds.test
    x, y = part.x[:n], part.y[:n]
    x = x if image_size == 28 else pool2(x)
    return np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


def to_model_range(x: np.ndarray) -> np.ndarray:
    """[0, 1] pixels → the model's [-1, 1]."""
    return (x * 2.0 - 1.0).astype(np.float32)


def to_pixels(x: np.ndarray) -> np.ndarray:
    """The model's [-1, 1] → [0, 1] pixels (clipped)."""
    return np.clip((x + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
