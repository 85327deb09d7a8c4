"""A PNG grid of samples: ``(N, 1, S, S)`` pixels in [0, 1] tiled ``nrow`` per row, written with Pillow.

>>> save_grid(to_pixels(samples.numpy()), "samples.png", nrow=10, scale=2)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trustmap.errors import DataError
from trustmap.utils.files import atomic_write


def tile(pixels: np.ndarray, *, nrow: int = 10, pad: int = 1) -> np.ndarray:
    """``(N, 1, S, S)`` → one ``(H, W)`` uint8 image, ``nrow`` tiles per row, ``pad`` black pixels apart."""
    if pixels.ndim != 4 or pixels.shape[1] != 1 or len(pixels) == 0:
        raise DataError(f"a sample grid needs (N, 1, S, S) grey images, got shape {pixels.shape}")
    n, _, h, w = pixels.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.uint8)
    img = (np.clip(pixels[:, 0], 0, 1) * 255).round().astype(np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img[i]
    return out


def save_grid(pixels: np.ndarray, path: str | Path, *, nrow: int = 10, scale: int = 2) -> Path:
    """Write :func:`tile` of ``pixels`` as a PNG, each pixel enlarged ``scale`` times."""
    from PIL import Image

    img = Image.fromarray(np.kron(tile(pixels, nrow=nrow), np.ones((scale, scale), dtype=np.uint8)))
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)
