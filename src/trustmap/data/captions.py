"""Fashion-MNIST captions (ours): text-image pairs for retrieval experiments (``conaclip``), since no
captioned image set installs offline.

Each image gets a caption tuple ``(class, ink, width, height)``: the class name and three measured
attributes, each in 3 bins by tertiles computed per class on the training images (so every bin is about
a third of each class): ink mass (sum of pixels: light / medium / heavy), width (columns whose brightest
pixel exceeds 0.25: narrow / regular / wide) and vertical centroid (mass-weighted mean row: high /
centred / low). 10 x 3 x 3 x 3 = 270 tuples, written through one of 5 sentence templates (1,350
distinct captions).

>>> bins = AttributeBins.fit(x_train, y_train)        # x: (N, 28, 28), (N, 1, 28, 28) or FM14 in [0, 1]
>>> tuples = bins.tuples(x_test, y_test)             # (N, 4) int64: class, ink, width, height bins
>>> caption(tuples[0], template=2)                   # 'a picture of a wide trouser; ...'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
INK = ("light", "medium", "heavy")
WIDTH = ("narrow", "regular", "wide")
HEIGHT = ("high", "centred", "low")
TEMPLATES = (
    "a {ink} {width} {name}, sitting {pos} in the frame",
    "{name} drawn with {ink} ink, {width} in shape, placed {pos}",
    "a picture of a {width} {name}; the ink is {ink} and it sits {pos}",
    "{pos} placed {width} {name} in {ink} ink",
    "a {name} that is {width}, {ink} and {pos}",
)


def attributes(x: np.ndarray) -> np.ndarray:
    """``(N, 3)`` float: ink mass, width in columns, vertical centroid (rows) of square images in [0, 1]
    (28×28, or any ``S``×``S`` such as FM14; fit :class:`AttributeBins` at the size you measure)."""
    x = np.asarray(x, np.float32)
    side = math.isqrt(x[0].size) if len(x) else 28
    img = x.reshape(len(x), side, side)
    mass = img.sum((1, 2))
    width = (img.max(1) > 0.25).sum(1).astype(np.float32)
    rows = np.arange(side, dtype=np.float32)
    centroid = (img.sum(2) * rows).sum(1) / np.maximum(mass, 1e-6)
    return np.stack([mass, width, centroid], 1)


@dataclass(frozen=True)
class AttributeBins:
    """Per-class tertile edges ``(10, 3, 2)`` of the three attributes."""

    edges: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> AttributeBins:
        a = attributes(x)
        edges = np.zeros((len(CLASS_NAMES), 3, 2), np.float32)
        for c in range(len(CLASS_NAMES)):
            sel = a[np.asarray(y) == c]
            if len(sel):
                edges[c] = np.quantile(sel, [1 / 3, 2 / 3], axis=0).T
        return cls(edges)

    def tuples(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(N, 4)`` int64: class, then the bin (0-2) of each attribute."""
        a = attributes(x)
        y = np.asarray(y, np.int64)
        e = self.edges[y]  # (N, 3, 2)
        bins = (a[:, :, None] > e).sum(-1)
        return np.concatenate([y[:, None], bins], 1).astype(np.int64)


def caption(t: np.ndarray, *, template: int = 0) -> str:
    """The caption of one tuple ``(class, ink, width, height)`` through template ``template`` (0-4)."""
    c, i, w, h = (int(v) for v in t)
    return TEMPLATES[template].format(name=CLASS_NAMES[c], ink=INK[i], width=WIDTH[w], pos=HEIGHT[h])


def tuple_id(t: np.ndarray) -> np.ndarray:
    """A single int per tuple (0-269), for matching captions to images."""
    t = np.asarray(t, np.int64)
    return ((t[..., 0] * 3 + t[..., 1]) * 3 + t[..., 2]) * 3 + t[..., 3]


def all_captions() -> list[str]:
    """The 1,350 distinct captions, ordered by ``tuple_id * 5 + template``."""
    out = []
    for tid in range(270):
        t = np.array([tid // 27, tid // 9 % 3, tid // 3 % 3, tid % 3])
        out += [caption(t, template=k) for k in range(len(TEMPLATES))]
    return out


__all__ = ["CLASS_NAMES", "TEMPLATES", "AttributeBins", "all_captions", "attributes", "caption", "tuple_id"]
