"""Synthetic "skin lesion" composites for the DDI-CoCo replication (``trustmap repro ddi-coco``).

**Synthetic data.** No dermatology images ship offline (DDI is gated), so the lesion *shapes* are real
Fashion-MNIST garments and the colours are synthetic: each 28x28 image becomes an RGB patch of skin in one
of six tones (rough Fitzpatrick I-VI approximations *(ours)*), with the garment as a "lesion" darkened by
a contrast factor ``c`` and shifted toward brown, plus Gaussian pixel noise. The "malignant" class is
Shirt and "benign" is T-shirt (a real fine-grained shape cue), so how well a classifier sees the cue
depends on ``c``. Deterministic: the same images, ``c`` and seed give the same composites.

Pixel ``p`` with garment intensity ``v`` in [0, 1]: ``rgb = skin * (1 - c * v * BROWN) + N(0, noise)``,
clipped to [0, 1]; ``BROWN = (0.75, 1.0, 1.2)`` darkens blue and green more than red *(ours)*.

Shapes: ``garments`` ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` in [0, 1] -> ``x`` ``(N, 3, 28, 28)`` float32.

>>> comp = skin_composites(fm.x, c=0.35, seed=0)
>>> comp.x.shape, comp.tone[:3], comp.lesion.shape
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError

# sRGB in [0, 1], Fitzpatrick I..VI approximations (ours)
SKIN_TONES = np.array(
    [
        [0.96, 0.84, 0.74],
        [0.91, 0.75, 0.62],
        [0.80, 0.62, 0.48],
        [0.64, 0.46, 0.33],
        [0.45, 0.31, 0.21],
        [0.29, 0.20, 0.14],
    ]
)
TONE_NAMES = ("I", "II", "III", "IV", "V", "VI")
BROWN = np.array([0.75, 1.0, 1.2])


@dataclass(frozen=True)
class Composites:
    """``x`` ``(N, 3, H, W)``; ``tone`` ``(N,)`` index into :data:`SKIN_TONES`; ``c`` ``(N,)`` contrast
    factors; ``lesion`` / ``skin`` ``(N, H, W)`` bool: where the 3+3-point labeller may pick its points."""

    x: np.ndarray
    tone: np.ndarray
    c: np.ndarray
    lesion: np.ndarray
    skin: np.ndarray


def skin_composites(
    garments: np.ndarray,
    *,
    c: float | tuple[float, float] = (0.05, 0.6),
    noise: float = 0.03,
    seed: int = 0,
) -> Composites:
    """Composite ``garments`` onto random skin tones; ``c`` a fixed factor or a ``(low, high)`` uniform range."""
    g = np.asarray(garments, dtype=np.float64)
    if g.ndim == 4 and g.shape[1] == 1:
        g = g[:, 0]
    if g.ndim != 3 or len(g) == 0:
        raise DataError(f"garments must be (N, H, W) or (N, 1, H, W) grey images, got shape {np.shape(garments)}")
    if g.min() < 0 or g.max() > 1:
        raise DataError("garment intensities must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    n = len(g)
    tone = rng.integers(0, len(SKIN_TONES), n)
    if isinstance(c, tuple):
        lo, hi = c
        if not 0 <= lo <= hi <= 1:
            raise DataError(f"contrast range must satisfy 0 <= low <= high <= 1, got {c}")
        cs = rng.uniform(lo, hi, n)
    else:
        if not 0 <= c <= 1:
            raise DataError(f"contrast factor must lie in [0, 1], got {c}")
        cs = np.full(n, float(c))
    skin = SKIN_TONES[tone][:, None, None, :]  # (N, 1, 1, 3)
    dark = cs[:, None, None, None] * g[..., None] * BROWN  # (N, H, W, 3)
    rgb = skin * (1 - dark) + rng.normal(0.0, noise, (*g.shape, 3))
    x = np.clip(rgb, 0.0, 1.0).transpose(0, 3, 1, 2).astype(np.float32)
    return Composites(x=x, tone=tone, c=cs, lesion=g > 0.5, skin=g < 0.05)
