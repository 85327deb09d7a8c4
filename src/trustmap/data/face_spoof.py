"""Face anti-spoofing data from scikit-image's bundled LFW subset, with **synthetic** presentation attacks.

No anti-spoofing corpus ships offline, so live faces are the 100 real faces of
``skimage.data.lfw_subset()`` (25x25 grey, values in [0, 1]) and spoofs are made from the same faces by
seeded image transforms that mimic what a camera sees when shown an attack *(ours: every law and
parameter)*:

- ``print``: a grey-level print: contrast squeezed into the printer's range, a paper tint, a halftone dot
  screen, slight defocus;
- ``replay``: a screen held in front of the camera: display gamma, moire (two crossed sinusoidal
  gratings of random frequency and angle), a specular glare gradient;
- ``mask``: a paper or resin mask: fine texture smoothed away (heavy low-pass), plus surface shading from
  a random light direction;
- ``cutout``: a print whose eye band is cut out, so the live eyes show through: print artefacts everywhere
  except a horizontal band around the eyes.

Every view, live or spoof, first gets the same capture jitter (random shift of up to 2 pixels, horizontal
flip, brightness/contrast gain, sensor noise), so an attack is recognisable only by its own artefacts.

Shapes: :func:`face_views` gives ``x`` ``(N, 1, 25, 25)`` float32 in [0, 1], ``y`` ``(N,)`` int64
(0 live, 1 spoof), ``attack`` ``(N,)`` int64 (-1 live, else an index into :data:`ATTACKS`) and
``face`` ``(N,)`` int64 (the source face, for identity-disjoint splits).

>>> faces = lfw_faces()
>>> v = face_views(faces[:10], live_per_face=2, spoof_per_face=1, attacks=("print", "replay"), seed=0)
>>> v.x.shape, int(v.y.sum())
((40, 1, 25, 25), 20)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError

ATTACKS = ("print", "replay", "mask", "cutout")
SIZE = 25


def lfw_faces() -> np.ndarray:
    """The 100 real faces of ``skimage.data.lfw_subset()``, ``(100, 25, 25)`` float32 in [0, 1]."""
    try:
        from skimage.data import lfw_subset
    except ImportError as exc:
        raise DataError("face anti-spoofing data needs scikit-image; run: pip install scikit-image") from exc
    return np.asarray(lfw_subset()[:100], dtype=np.float32)


@dataclass(frozen=True)
class FaceViews:
    x: np.ndarray
    y: np.ndarray
    attack: np.ndarray
    face: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> FaceViews:
        return FaceViews(self.x[idx], self.y[idx], self.attack[idx], self.face[idx])


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(img, sigma, mode="nearest")


def _grid() -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(SIZE, dtype=np.float32), np.arange(SIZE, dtype=np.float32), indexing="ij")


def _print(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo, hi = rng.uniform(0.08, 0.2), rng.uniform(0.72, 0.88)
    out = lo + (hi - lo) * _blur(img, rng.uniform(0.4, 0.8))
    r, c = _grid()
    period = rng.uniform(2.2, 3.2)
    dots = np.cos(2 * np.pi * r / period) * np.cos(2 * np.pi * c / period)
    return out + rng.uniform(0.03, 0.07) * dots + rng.uniform(-0.04, 0.04)


def _replay(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.clip(img, 0, 1) ** rng.uniform(0.55, 0.8)
    r, c = _grid()
    moire = np.zeros_like(img)
    for _ in range(2):
        ang, freq = rng.uniform(0, np.pi), rng.uniform(0.25, 0.45)
        moire += np.sin(2 * np.pi * freq * (r * np.cos(ang) + c * np.sin(ang)) + rng.uniform(0, 2 * np.pi))
    ang = rng.uniform(0, 2 * np.pi)
    glare = (r * np.cos(ang) + c * np.sin(ang)) / SIZE
    return out + rng.uniform(0.03, 0.06) * moire + rng.uniform(0.1, 0.25) * np.clip(glare, 0, None)


def _mask(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    smooth = _blur(img, rng.uniform(1.2, 1.8))
    r, c = _grid()
    ang = rng.uniform(0, 2 * np.pi)
    shade = ((r - 12) * np.cos(ang) + (c - 12) * np.sin(ang)) / SIZE
    return smooth * (1 + rng.uniform(0.2, 0.4) * shade) + rng.uniform(0.0, 0.06)


def _cutout(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    printed = _print(img, rng)
    top = int(rng.integers(7, 10))
    out = printed.copy()
    out[top : top + 5] = img[top : top + 5]
    out[top - 1] = out[top + 5] = 0.05  # the paper's cut edges cast a thin dark line
    return out


TRANSFORMS = {"print": _print, "replay": _replay, "mask": _mask, "cutout": _cutout}


def _capture(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dr, dc = rng.integers(-2, 3, size=2)
    out = np.roll(img, (int(dr), int(dc)), axis=(0, 1))
    if rng.random() < 0.5:
        out = out[:, ::-1]
    out = out * rng.uniform(0.85, 1.15) + rng.uniform(-0.08, 0.08)
    return np.clip(out + rng.normal(0, 0.02, out.shape), 0, 1).astype(np.float32)


def spoof(img: np.ndarray, attack: str, rng: np.random.Generator) -> np.ndarray:
    """One ``attack`` applied to a ``(25, 25)`` face (before capture jitter), clipped to [0, 1]."""
    if attack not in TRANSFORMS:
        raise DataError(f"unknown spoof attack {attack!r}; use {', '.join(ATTACKS)}")
    return np.clip(TRANSFORMS[attack](np.asarray(img, dtype=np.float32), rng), 0, 1).astype(np.float32)


def face_views(
    faces: np.ndarray,
    *,
    live_per_face: int,
    spoof_per_face: int,
    attacks: tuple[str, ...],
    seed: int,
    face_ids: np.ndarray | None = None,
) -> FaceViews:
    """Captured live views and ``spoof_per_face`` views per face for each of ``attacks`` (seeded)."""
    faces = np.asarray(faces, dtype=np.float32)
    if faces.ndim != 3 or faces.shape[1:] != (SIZE, SIZE):
        raise DataError(f"faces must be (N, {SIZE}, {SIZE}), got {faces.shape}")
    if live_per_face < 0 or spoof_per_face < 0:
        raise DataError("views per face must be at least 0")
    for a in attacks:
        if a not in TRANSFORMS:
            raise DataError(f"unknown spoof attack {a!r}; use {', '.join(ATTACKS)}")
    ids = np.arange(len(faces)) if face_ids is None else np.asarray(face_ids)
    rng = np.random.default_rng(seed)
    xs, ys, atk, fid = [], [], [], []
    for i, img in enumerate(faces):
        for _ in range(live_per_face):
            xs.append(_capture(img, rng))
            ys.append(0)
            atk.append(-1)
            fid.append(ids[i])
        for a in attacks:
            for _ in range(spoof_per_face):
                xs.append(_capture(spoof(img, a, rng), rng))
                ys.append(1)
                atk.append(ATTACKS.index(a))
                fid.append(ids[i])
    x = np.stack(xs)[:, None] if xs else np.zeros((0, 1, SIZE, SIZE), np.float32)
    return FaceViews(x.astype(np.float32), np.array(ys, np.int64), np.array(atk, np.int64), np.array(fid, np.int64))
