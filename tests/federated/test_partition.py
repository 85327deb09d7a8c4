import numpy as np
import pytest

from trustmap.errors import TrustmapError
from trustmap.federated.partition import apply_shift, dirichlet_partition, iid_partition, parse_partition


def _labels(n=3000, classes=10, seed=0):
    return np.random.default_rng(seed).integers(0, classes, size=n)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 100.0])
def test_dirichlet_assigns_every_sample_exactly_once(alpha):
    y = _labels()
    parts = dirichlet_partition(y, num_clients=20, alpha=alpha, seed=1)
    allidx = np.concatenate(parts)
    assert len(parts) == 20
    assert len(allidx) == len(y) and len(np.unique(allidx)) == len(y)  # disjoint and complete
    assert min(len(p) for p in parts) >= 1


def test_iid_assigns_every_sample_exactly_once_and_balanced():
    idx = np.arange(1000, 2003)
    parts = iid_partition(idx, num_clients=7, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == idx.tolist()
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def _mean_entropy(y, parts):
    ent = []
    for p in parts:
        h = np.bincount(y[p], minlength=10) / len(p)
        h = h[h > 0]
        ent.append(-(h * np.log(h)).sum())
    return float(np.mean(ent))


def test_small_alpha_skews_labels_large_alpha_is_near_iid():
    y = _labels(6000)
    e_small = _mean_entropy(y, dirichlet_partition(y, num_clients=20, alpha=0.1, seed=0))
    e_mid = _mean_entropy(y, dirichlet_partition(y, num_clients=20, alpha=1.0, seed=0))
    e_big = _mean_entropy(y, dirichlet_partition(y, num_clients=20, alpha=1000.0, seed=0))
    assert e_small < e_mid < e_big
    assert e_big > 0.97 * np.log(10)  # near uniform
    assert e_small < 0.6 * np.log(10)  # few classes per client


def test_partition_is_seeded():
    y = _labels()
    a = dirichlet_partition(y, num_clients=5, alpha=0.3, seed=3)
    b = dirichlet_partition(y, num_clients=5, alpha=0.3, seed=3)
    c = dirichlet_partition(y, num_clients=5, alpha=0.3, seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan")])
def test_bad_alpha_is_a_user_error(alpha):
    with pytest.raises(TrustmapError, match="alpha"):
        dirichlet_partition(_labels(100), num_clients=3, alpha=alpha, seed=0)


def test_more_clients_than_samples_is_a_user_error():
    with pytest.raises(TrustmapError, match="clients"):
        iid_partition(np.arange(5), num_clients=6, seed=0)
    with pytest.raises(TrustmapError, match="clients"):
        dirichlet_partition(_labels(5), num_clients=6, alpha=1.0, seed=0)


def test_parse_partition():
    assert parse_partition("dirichlet:0.1").alpha == 0.1
    assert parse_partition("iid").kind == "iid"
    assert parse_partition("shift:invert,rot90").shifts == ("invert", "rot90")
    for bad in ("dirichlet:0", "dirichlet:x", "shift:blur", "zipf"):
        with pytest.raises(TrustmapError):
            parse_partition(bad)


def test_feature_shifts():
    x = np.random.default_rng(0).random((3, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(apply_shift(x, "invert"), 1 - x)
    np.testing.assert_allclose(apply_shift(x, "rot90")[0, 0], np.rot90(x[0, 0]))
    noisy = apply_shift(x, "noise", seed=0)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.allclose(noisy, x)
    grey = apply_shift(np.zeros((1, 1, 4, 4), np.float32), "grey")
    assert np.allclose(grey, 0.4)
