"""DDI-CoCo colour-contrast scores and the within-class contrast gap: known answers and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.errors import DataError
from trustmap.probes.fairness.contrast import (
    contrast_gap,
    contrast_halves,
    foreground_masks,
    reduce_contrast,
    relative_luminance,
    score_images,
    to_rgb01,
    wcag_contrast,
)


def _patch_images(levels, *, skin=(0.9, 0.75, 0.6), n=1, noise=0.0, seed=0):
    """RGB 16x16 'skin' with a central 6x6 'lesion' darkened by each factor in ``levels``."""
    rng = np.random.default_rng(seed)
    out = []
    for c in levels:
        img = np.ones((3, 16, 16)) * np.array(skin)[:, None, None]
        img[:, 5:11, 5:11] *= 1 - c
        out.append(np.clip(img + rng.normal(0, noise, img.shape), 0, 1))
    return np.repeat(np.asarray(out, np.float32), n, axis=0)


def test_wcag_known_answers():
    assert relative_luminance(np.array([1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert relative_luminance(np.array([0.0, 0.0, 0.0])) == pytest.approx(0.0)
    assert float(wcag_contrast(1.0, 0.0)) == pytest.approx(21.0)
    assert float(wcag_contrast(0.3, 0.3)) == pytest.approx(1.0)
    # mid grey 0.5 -> linear 0.2140 (the WCAG formula), symmetric in its arguments
    assert relative_luminance(np.array([0.5, 0.5, 0.5])) == pytest.approx(0.21404, abs=1e-4)
    assert float(wcag_contrast(0.1, 0.6)) == float(wcag_contrast(0.6, 0.1))


def test_foreground_is_the_part_off_the_border_dark_or_bright():
    dark_lesion = to_rgb01(_patch_images([0.5]))
    bright_object = to_rgb01(1 - _patch_images([0.5]))
    for rgb in (dark_lesion, bright_object):
        m = foreground_masks(rgb)[0]
        assert m[5:11, 5:11].all() and m.sum() == 36


def test_scores_rise_with_contrast_and_are_stable_under_relabelling():
    x = _patch_images([0.05, 0.2, 0.4, 0.6], noise=0.01)
    s = score_images(x, relabels=5, seed=0)
    assert np.all(np.diff(s.score) > 0) and s.score[0] < 1.2 and s.score[-1] > 3
    assert np.median(s.cv) < 0.05  # the paper: relabelling varies little
    again = score_images(x, relabels=5, seed=0)
    assert np.array_equal(s.score, again.score)


def test_flat_image_scores_one_and_bad_input_is_refused():
    flat = np.full((2, 1, 8, 8), 0.4, np.float32)
    assert np.allclose(score_images(flat).score, 1.0)
    with pytest.raises(DataError, match="1 or 3"):
        score_images(np.zeros((2, 2, 8, 8), np.float32))
    with pytest.raises(DataError, match="masks must have shape"):
        score_images(flat, masks=np.ones((2, 4, 4), bool))
    with pytest.raises(DataError, match="must match"):
        contrast_gap(np.ones(4), np.ones(3), strata=np.zeros(4))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        reduce_contrast(flat, 1.5)


def test_halves_are_within_class_and_gap_has_a_known_answer():
    y = np.repeat([0, 1], 10)
    scores = np.concatenate([np.arange(10), np.arange(10) + 100.0])  # class 1 is brighter overall
    high = contrast_halves(scores, y)
    assert high.sum() == 10 and high[y == 0].sum() == 5 and high[5:10].all()
    correct = np.concatenate([[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1, 1, 1, 1, 1]])
    g = contrast_gap(scores, correct, strata=y, seed=0)
    assert g.gap == pytest.approx(0.5 * 1.0 + 0.5 * 0.4)
    assert g.ci_low <= g.gap <= g.ci_high and g.n_low == g.n_high == 10
    # a class-level difference alone is not a contrast gap
    no_gap = contrast_gap(scores, (y == 1).astype(float), strata=y, seed=0)
    assert no_gap.gap == 0.0 and no_gap.ci_low == no_gap.ci_high == 0.0
