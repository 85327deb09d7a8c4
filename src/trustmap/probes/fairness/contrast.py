"""Colour-contrast scores and the low- versus high-contrast accuracy gap, after DDI-CoCo (Chiu et al.,
"DDI-CoCo: A Dataset for Understanding the Effect of Color Contrast in Machine-Assisted Skin Disease
Detection", ICASSP 2024, arXiv 2401.13280).

DDI-CoCo scores each image by the contrast between the lesion and the normal skin around it: a labeller
picks 3 random lesion points and 3 normal-skin points, averages each set's RGB, and the score is the WCAG
contrast ratio ``(L_max + 0.05) / (L_min + 0.05)`` of the two relative luminances (sRGB linearised:
``c <= 0.03928 -> c / 12.92``, else ``((c + 0.055) / 1.055) ** 2.4``; ``L = 0.2126 R + 0.7152 G +
0.0722 B``). The paper then compares a classifier between low- and high-contrast images.

Here the "labeller" is automatic so it works on any image dataset: an image's luminance is split in two
by Otsu's threshold, and the part that holds most of the image's border is the background ("normal
skin"); the other part is the foreground ("lesion") *(ours)*. A caller who knows the lesion masks passes
them instead. Points are drawn with a seeded generator; ``relabels`` repeated draws give the per-image
coefficient of variation of the score (the paper's relabelling check).

The gap is measured within each class *(ours)*: images of a class are ranked by score and cut at the
class median, so the low and high halves have the same class mix and a class that is simply darker
cannot fake a contrast gap. ``gap = high-half accuracy - low-half accuracy`` (class-size weighted; > 0:
low contrast is worse), with a bootstrap interval (resampling within each half of each class; a
Bernoulli mean's bootstrap is ``Binomial(m, p) / m``, drawn directly).

Shapes: ``x`` ``(N, C, H, W)``, ``C`` 1 (grey, replicated to RGB) or 3 (RGB), values in ``value_range``;
``masks`` ``(N, H, W)`` bool (True = foreground); scores ``(N,)`` >= 1.

>>> s = score_images(x, value_range=(0.0, 1.0), seed=0)
>>> g = contrast_gap(s.score, correct, strata=y, seed=0)
>>> g.gap, g.ci_low, g.ci_high
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trustmap.errors import DataError

RGB_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB values in [0, 1]; ``rgb`` ``(..., 3)`` -> ``(...)``."""
    c = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ RGB_WEIGHTS


def wcag_contrast(l1: np.ndarray | float, l2: np.ndarray | float) -> np.ndarray:
    """The WCAG contrast ratio ``(L_max + 0.05) / (L_min + 0.05)``, in [1, 21]."""
    a, b = np.asarray(l1, dtype=np.float64), np.asarray(l2, dtype=np.float64)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def to_rgb01(x: np.ndarray, value_range: tuple[float, float] | None = (0.0, 1.0)) -> np.ndarray:
    """``(N, C, H, W)`` images (C 1 or 3) in ``value_range`` -> ``(N, H, W, 3)`` float64 in [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"colour contrast needs images of shape (N, 1 or 3, H, W), got {x.shape}")
    lo, hi = value_range or (0.0, 1.0)
    x = np.clip((x - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    return x.transpose(0, 2, 3, 1)


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold of ``values`` in [0, 1]: the cut that maximises the between-class variance."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * mids)
    w1 = 1 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 - m0) ** 2 / (w0 * w1)
    between = np.nan_to_num(between[:-1], nan=-1.0)
    return float(edges[1 + int(np.argmax(between))])


def foreground_masks(rgb01: np.ndarray) -> np.ndarray:
    """Per image, the Otsu part of its luminance that does *not* hold most of the border ``(N, H, W)``."""
    lum = relative_luminance(rgb01)
    n, h, w = lum.shape
    border = np.zeros((h, w), bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        above = lum[i] > otsu_threshold(lum[i])
        masks[i] = ~above if above[border].mean() > 0.5 else above
    return masks


@dataclass(frozen=True)
class ContrastScores:
    """``score`` ``(N,)``: the first labelling's WCAG ratio; ``cv`` ``(N,)``: std/mean over ``relabels``
    labellings; ``masks`` ``(N, H, W)``: the foreground used."""

    score: np.ndarray
    cv: np.ndarray
    masks: np.ndarray = field(repr=False)


def score_images(
    x: np.ndarray,
    *,
    value_range: tuple[float, float] | None = (0.0, 1.0),
    masks: np.ndarray | None = None,
    background: np.ndarray | None = None,
    points: int = 3,
    relabels: int = 5,
    seed: int = 0,
) -> ContrastScores:
    """DDI-CoCo scores of ``x`` ``(N, C, H, W)``: ``points`` foreground and background pixels per labelling.

    ``background`` ``(N, H, W)`` bool: where normal-skin points may be drawn (default: outside ``masks``;
    the paper's labeller avoids ambiguous pixels). An image without a foreground or background (a flat
    image) scores 1 (no contrast)."""
    if points < 1 or relabels < 1:
        raise DataError(f"points and relabels must be >= 1, got {points} and {relabels}")
    rgb = to_rgb01(x, value_range)
    if masks is None:
        masks = foreground_masks(rgb)
    masks = np.asarray(masks, bool)
    if masks.shape != rgb.shape[:3]:
        raise DataError(f"masks must have shape {rgb.shape[:3]} (N, H, W), got {masks.shape}")
    back = ~masks if background is None else np.asarray(background, bool)
    if back.shape != masks.shape:
        raise DataError(f"background must have shape {masks.shape} (N, H, W), got {back.shape}")
    back = back & ~masks
    rng = np.random.default_rng(seed)
    n = len(rgb)
    scores = np.ones((relabels, n))
    flat = rgb.reshape(n, -1, 3)
    for i in range(n):
        fg, bg = np.flatnonzero(masks[i].ravel()), np.flatnonzero(back[i].ravel())
        if len(fg) == 0 or len(bg) == 0:
            continue
        pf = fg[rng.integers(0, len(fg), (relabels, points))] if len(fg) < points else _draw(rng, fg, relabels, points)
        pb = bg[rng.integers(0, len(bg), (relabels, points))] if len(bg) < points else _draw(rng, bg, relabels, points)
        lf = relative_luminance(flat[i, pf].mean(1))
        lb = relative_luminance(flat[i, pb].mean(1))
        scores[:, i] = wcag_contrast(lf, lb)
    cv = scores.std(0) / scores.mean(0) if relabels > 1 else np.zeros(n)
    return ContrastScores(score=scores[0], cv=cv, masks=masks)


def _draw(rng: np.random.Generator, pool: np.ndarray, relabels: int, points: int) -> np.ndarray:
    """``relabels`` draws of ``points`` distinct members of ``pool`` ``(relabels, points)``."""
    return np.stack([pool[rng.choice(len(pool), size=points, replace=False)] for _ in range(relabels)])


def contrast_halves(scores: np.ndarray, strata: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """``(N,)`` bool, True for the high-contrast half of each stratum (ranked by score, ties broken by a
    seeded random key; an odd stratum's middle image goes to the high half)."""
    scores, strata = np.asarray(scores, float), np.asarray(strata)
    if scores.shape != strata.shape:
        raise DataError(f"scores {scores.shape} and strata {strata.shape} must have the same length")
    key = np.random.default_rng(seed).random(len(scores))
    high = np.zeros(len(scores), bool)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        order = idx[np.lexsort((key[idx], scores[idx]))]
        high[order[len(order) // 2 :]] = True
    return high


@dataclass(frozen=True)
class ContrastGap:
    """High- minus low-contrast accuracy within strata, with its bootstrap interval and per-stratum rows."""

    low_accuracy: float
    high_accuracy: float
    gap: float
    ci_low: float
    ci_high: float
    n_low: int
    n_high: int
    rows: list[dict[str, Any]]


def contrast_gap(
    scores: np.ndarray,
    correct: np.ndarray,
    *,
    strata: np.ndarray,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> ContrastGap:
    """The accuracy gap between each stratum's high- and low-contrast halves (strata: usually the labels)."""
    correct = np.asarray(correct, float)
    if len(correct) != len(scores):
        raise DataError(f"{len(scores)} scores but {len(correct)} correctness values; they must match")
    high = contrast_halves(scores, strata, seed=seed)
    strata = np.asarray(strata)
    rng = np.random.default_rng(seed + 1)
    gaps, boots, weights, rows = [], [], [], []
    for s in np.unique(strata):
        in_s = strata == s
        lo, hi = correct[in_s & ~high], correct[in_s & high]
        if len(lo) == 0 or len(hi) == 0:
            continue
        pl, ph = lo.mean(), hi.mean()
        gaps.append(ph - pl)
        weights.append(in_s.sum())
        boots.append(rng.binomial(len(hi), ph, n_boot) / len(hi) - rng.binomial(len(lo), pl, n_boot) / len(lo))
        rows.append(
            {"stratum": str(s), "n": int(in_s.sum()), "low": float(pl), "high": float(ph), "gap": float(ph - pl)}
        )
    if not gaps:
        raise DataError("the contrast gap needs at least one class with two or more images")
    w = np.asarray(weights, float) / np.sum(weights)
    gap = float(np.dot(w, gaps))
    boot = w @ np.asarray(boots)
    a = (1 - level) / 2
    return ContrastGap(
        low_accuracy=float(correct[~high].mean()),
        high_accuracy=float(correct[high].mean()),
        gap=gap,
        ci_low=float(np.quantile(boot, a)),
        ci_high=float(np.quantile(boot, 1 - a)),
        n_low=int((~high).sum()),
        n_high=int(high.sum()),
        rows=rows,
    )


def reduce_contrast(x: np.ndarray, factor: float, *, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """``m + factor * (x - m)`` with ``m`` each image's mean: the contrast shift the demos plant ``(N, ...)``."""
    if not 0.0 <= factor <= 1.0:
        raise DataError(f"contrast factor must lie in [0, 1], got {factor}")
    axes = tuple(range(1, np.ndim(x)))
    m = np.mean(x, axis=axes, keepdims=True)
    return np.clip(m + factor * (x - m), *value_range).astype(np.float32)
