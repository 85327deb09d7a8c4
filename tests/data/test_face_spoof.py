"""Synthetic face spoofs (repro lda-fas): seeded views, identity bookkeeping, attack artefacts, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.face_spoof import ATTACKS, face_views, lfw_faces, spoof
from trustmap.errors import DataError


def test_views_are_seeded_labelled_and_keep_their_face_ids():
    faces = lfw_faces()
    assert faces.shape == (100, 25, 25) and 0.0 <= faces.min() and faces.max() <= 1.0
    v = face_views(faces[:6], live_per_face=2, spoof_per_face=1, attacks=ATTACKS, seed=3, face_ids=np.arange(10, 16))
    again = face_views(faces[:6], live_per_face=2, spoof_per_face=1, attacks=ATTACKS, seed=3)
    assert np.array_equal(v.x, again.x) and not np.array_equal(
        v.x, face_views(faces[:6], live_per_face=2, spoof_per_face=1, attacks=ATTACKS, seed=4).x
    )
    assert v.x.shape == (6 * 6, 1, 25, 25) and v.x.dtype == np.float32
    assert int(v.y.sum()) == 6 * 4 and np.all((v.attack == -1) == (v.y == 0))
    assert sorted(set(v.face.tolist())) == list(range(10, 16))
    assert np.bincount(v.attack[v.y == 1]).tolist() == [6, 6, 6, 6]


def test_each_attack_leaves_its_own_artefact():
    face = lfw_faces()[0]
    rng = np.random.default_rng(0)
    out = {a: spoof(face, a, rng) for a in ATTACKS}
    hf = lambda im: float(np.abs(np.diff(im, axis=1)).mean())
    assert out["print"].max() < face.max() and out["print"].min() > face.min()  # squeezed dynamic range
    assert hf(out["mask"]) < 0.6 * hf(face)  # fine texture smoothed away
    assert np.abs(out["replay"] - face).mean() > 0.05
    band = np.all(out["cutout"] == face, axis=1)  # the cut-out eye band shows the live face
    assert 4 <= band.sum() <= 6


def test_bad_input_is_one_line_data_error():
    faces = lfw_faces()[:2]
    with pytest.raises(DataError, match="unknown spoof attack"):
        face_views(faces, live_per_face=1, spoof_per_face=1, attacks=("deepfake",), seed=0)
    with pytest.raises(DataError, match="faces must be"):
        face_views(faces[:, :20], live_per_face=1, spoof_per_face=1, attacks=("print",), seed=0)
