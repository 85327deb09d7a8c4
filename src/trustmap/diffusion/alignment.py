"""Fine-grained image-text alignment of generated Fashion-MNIST images, element by element, after EvalMuse
(arXiv 2412.18150): a caption is split into its elements (class, ink, width, height; the tuples of
:mod:`trustmap.data.captions`) and each element is scored on the image on its own; the caption's score is
the mean of its element scores. EvalMuse's FGA-BLIP2 learns the element heads; here *(ours)* the class
element is a trained classifier's probability of the caption's class and each attribute element a soft
membership of the image's measured attribute in the caption's bin (tertile edges of the caption's class):
1 inside the bin, ``exp(-d / w)`` at distance ``d`` outside it, ``w`` the width of the class's middle bin.

Shapes: ``pixels`` ``(N, 1, S, S)`` in [0, 1]; ``tuples`` ``(N, 4)`` int (class, ink, width, height bins);
:func:`element_scores` returns ``(N, 4)`` in [0, 1].

>>> bins = AttributeBins.fit(x_train, y_train)
>>> scores = element_scores(classifier, bins, pixels, tuples)   # (N, 4)
>>> overall = scores.mean(1); matched = element_matches(classifier, bins, pixels, tuples)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trustmap.data.captions import AttributeBins, attributes
from trustmap.diffusion.metrics import logits
from trustmap.errors import DataError

ELEMENTS = ("class", "ink", "width", "height")


def _check(pixels: np.ndarray, tuples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels, tuples = np.asarray(pixels, np.float32), np.asarray(tuples, np.int64)
    if pixels.ndim != 4 or tuples.shape != (len(pixels), 4):
        raise DataError(f"need (N, 1, S, S) pixels and (N, 4) tuples, got {pixels.shape} and {tuples.shape}")
    if tuples.min(initial=0) < 0 or tuples[:, 0].max(initial=0) > 9 or tuples[:, 1:].max(initial=0) > 2:
        raise DataError("tuples hold a class 0-9 and three bins 0-2")
    return pixels, tuples


def element_scores(classifier: nn.Module, bins: AttributeBins, pixels: np.ndarray, tuples: np.ndarray) -> np.ndarray:
    """``(N, 4)``: the classifier's probability of each caption's class, then the soft bin membership of the
    measured ink, width and height."""
    pixels, tuples = _check(pixels, tuples)
    prob = torch.softmax(logits(classifier, pixels), 1).numpy()
    out = np.empty((len(pixels), 4), np.float64)
    out[:, 0] = prob[np.arange(len(pixels)), tuples[:, 0]]
    measured = attributes(pixels)  # (N, 3)
    edges = bins.edges[tuples[:, 0]].astype(np.float64)  # (N, 3, 2)
    lo = np.concatenate([np.full((len(pixels), 3, 1), -np.inf), edges], 2)  # bin b spans (lo[b], hi[b]]
    hi = np.concatenate([edges, np.full((len(pixels), 3, 1), np.inf)], 2)
    b = tuples[:, 1:, None]
    lo_b, hi_b = np.take_along_axis(lo, b, 2)[..., 0], np.take_along_axis(hi, b, 2)[..., 0]
    dist = np.maximum(lo_b - measured, 0) + np.maximum(measured - hi_b, 0)
    width = np.maximum(edges[..., 1] - edges[..., 0], 1e-3)
    out[:, 1:] = np.exp(-dist / width)
    return out


def element_matches(classifier: nn.Module, bins: AttributeBins, pixels: np.ndarray, tuples: np.ndarray) -> np.ndarray:
    """``(N, 4)`` bool: the image shows the element (classifier's top class; measured bin equals the caption's)."""
    pixels, tuples = _check(pixels, tuples)
    pred = logits(classifier, pixels).argmax(1).numpy()
    measured = bins.tuples(pixels, tuples[:, 0])  # bins of the caption's class
    return np.concatenate([(pred == tuples[:, 0])[:, None], measured[:, 1:] == tuples[:, 1:]], 1)


def alignment_score(classifier: nn.Module, bins: AttributeBins, pixels: np.ndarray, tuples: np.ndarray) -> np.ndarray:
    """``(N,)``: the mean of the element scores (the fine-grained caption score)."""
    return element_scores(classifier, bins, pixels, tuples).mean(1)
