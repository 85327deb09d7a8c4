"""Known answers of the quality metrics."""

import numpy as np
import pytest
import torch

from trustmap.diffusion import features, frechet_distance, mmd_rbf, precision_recall
from trustmap.diffusion.metrics import classifier_accuracy
from trustmap.errors import DataError


def test_frechet_distance_known_answers():
    a = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(a, a) < 1e-6
    shift = np.zeros(8)
    shift[0] = 3.0
    assert frechet_distance(a, a + shift) == pytest.approx(9.0, abs=1e-6)
    # N(0, I) vs N(0, 4I) in 8-d: trace term 8 * (1 + 4 - 2 * 2) = 8 (from the sample covariances)
    b = np.random.default_rng(1).normal(size=(20000, 8))
    assert frechet_distance(b, 2 * b) == pytest.approx(8.0, rel=0.05)
    with pytest.raises(DataError):
        frechet_distance(a, a[:, :4])


def test_precision_recall_known_answers():
    a = np.random.default_rng(0).normal(size=(200, 5))
    assert precision_recall(a, a, k=3) == (1.0, 1.0)
    far = a + 100.0
    assert precision_recall(a, far, k=3) == (0.0, 0.0)
    # generated samples collapsed onto 10 real points: all precise, low recall
    prec, rec = precision_recall(a, np.repeat(a[:10], 20, axis=0), k=3)
    assert prec == 1.0 and rec < 0.5


def test_mmd_known_answers():
    a = np.random.default_rng(0).normal(size=(300, 4))
    b = np.random.default_rng(1).normal(size=(300, 4))
    assert mmd_rbf(a, a) == pytest.approx(0.0, abs=1e-12)
    assert mmd_rbf(a, b) < 0.02 < mmd_rbf(a, b + 2.0)
    with pytest.raises(DataError):
        mmd_rbf(a, np.full((3, 4), np.nan))


def test_features_and_accuracy_of_a_sequential_classifier():
    clf = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(196, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    x = np.random.default_rng(0).random((7, 1, 14, 14)).astype(np.float32)
    assert features(clf, x).shape == (7, 16)
    pred = clf(torch.from_numpy(x)).argmax(1).numpy()
    assert classifier_accuracy(clf, x, pred) == 1.0
    with pytest.raises(DataError):
        features(torch.nn.Linear(3, 3), x)
