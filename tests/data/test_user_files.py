"""User data: .npz with x/y, CSV and Parquet tables, and the checks that guard them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trustmap.data import load_dataset, validate_split
from trustmap.errors import DataError


def test_npz_images(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "imgs.npz"
    np.savez(path, x=rng.random((20, 28, 28), dtype=np.float32), y=np.arange(20) % 4)
    ds = load_dataset(str(path))
    assert ds.kind == "image" and ds.input_shape == (1, 28, 28) and ds.num_classes == 4


def test_npz_with_nan_is_refused(tmp_path):
    x = np.zeros((5, 3), np.float32)
    x[2, 1] = np.nan
    path = tmp_path / "bad.npz"
    np.savez(path, x=x, y=np.zeros(5, int))
    with pytest.raises(DataError, match="1 NaN or Inf"):
        load_dataset(str(path))


def test_npz_missing_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, features=np.zeros((5, 3)))
    with pytest.raises(DataError, match="must hold arrays 'x' and 'y'"):
        load_dataset(str(path))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}] * 3, dtype=object), y=np.zeros(3, int))
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(str(path))


def test_empty_npz(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x=np.zeros((0, 3), np.float32), y=np.zeros(0, int))
    with pytest.raises(DataError, match="empty"):
        load_dataset(str(path))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_with_label_and_sensitive(tmp_path, fmt):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 100),
            "city": rng.choice(["a", "b", "c"], 100),
            "gender": rng.choice(["f", "m"], 100),
            "approved": rng.choice(["no", "yes"], 100),
        }
    )
    path = tmp_path / f"t.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    ds = load_dataset(str(path), label="approved", sensitive=["gender"])
    assert ds.kind == "table" and ds.classes == ("no", "yes")
    assert len(ds.train) + len(ds.test) == 100 and len(ds.test) == 20
    assert set(ds.train.sensitive["gender"]) == {"f", "m"}
    assert np.isfinite(ds.train.x).all()


def test_table_without_label_option(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2], "b": [0, 1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="--label"):
        load_dataset(str(path))
    with pytest.raises(DataError, match="label column 'y' not in"):
        load_dataset(str(path), label="y")


def test_labels_outside_the_model_classes():
    with pytest.raises(DataError, match=r"labels in \[0, 12\].*10 classes"):
        validate_split(np.zeros((3, 2)), np.array([0, 5, 12]), num_classes=10, what="data")
