"""The synthetic skin-lesion composites behind `repro ddi-coco`: seeded, shaped, contrast follows c."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.skin_composites import SKIN_TONES, skin_composites
from trustmap.errors import DataError
from trustmap.probes.fairness.contrast import score_images


def _garments(n=12):
    g = np.zeros((n, 28, 28))
    g[:, 8:20, 6:22] = np.linspace(0.6, 1.0, n)[:, None, None]
    return g


def test_composites_are_seeded_and_shaped():
    a, b = skin_composites(_garments(), seed=3), skin_composites(_garments(), seed=3)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.tone, b.tone) and np.array_equal(a.c, b.c)
    assert not np.array_equal(a.x, skin_composites(_garments(), seed=4).x)
    assert a.x.shape == (12, 3, 28, 28) and a.x.dtype == np.float32 and 0 <= a.x.min() and a.x.max() <= 1
    assert np.all((a.c >= 0.05) & (a.c <= 0.6)) and set(a.tone) <= set(range(len(SKIN_TONES)))
    assert a.lesion[:, 10, 10].all() and a.skin[:, 0, 0].all() and not (a.lesion & a.skin).any()
    # the skin around the lesion is the drawn tone (up to noise)
    corner = a.x[:, :, :4, :4].mean(axis=(2, 3))
    assert np.abs(corner - SKIN_TONES[a.tone]).max() < 0.03


def test_contrast_score_follows_the_darkening_factor():
    g = _garments(40)
    lo = skin_composites(g, c=0.05, seed=0)
    hi = skin_composites(g, c=0.6, seed=0)
    s_lo = score_images(lo.x, masks=lo.lesion, background=lo.skin, seed=0).score
    s_hi = score_images(hi.x, masks=hi.lesion, background=hi.skin, seed=0).score
    assert np.all(s_hi > s_lo) and np.median(s_lo) < 1.2 and np.median(s_hi) > 2


def test_bad_input_is_refused():
    with pytest.raises(DataError, match="grey images"):
        skin_composites(np.zeros((2, 3, 8, 8)))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        skin_composites(_garments(), c=1.5)
    with pytest.raises(DataError, match="low <= high"):
        skin_composites(_garments(), c=(0.6, 0.1))
