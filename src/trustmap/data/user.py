"""User data files: ``.npz`` with arrays ``x`` and ``y`` (optionally ``x_test``/``y_test``), CSV or
Parquet tables with a ``--label`` column and optional ``--sensitive`` columns, and image folders: a
directory of images (PNG, JPEG, ...) with a ``labels.csv`` index whose ``file`` column names each image
(relative to the folder), a label column (``label`` unless ``--label`` says otherwise) and optional group
columns (``--sensitive``), carried as the split's sensitive attributes for the fairness probes.

An ``.npz`` that also holds ``edge_index`` is a graph for node classification
(:mod:`trustmap.data.graph_dataset`). A file without a test split is split 80/20 (stratified, random state 0). Pickled object arrays in
``.npz`` files are refused (``allow_pickle=False``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from trustmap.data.dataset import Dataset, Split, validate_split
from trustmap.data.splits import stratified_two_way
from trustmap.errors import DataError

SUFFIXES = (".npz", ".csv", ".parquet", ".pq")


def looks_like_file(name: str) -> bool:
    return name.lower().endswith(SUFFIXES) or "/" in name or Path(name).exists()


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` from an ``.npz`` file, with one-line errors for every problem."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file {p} does not exist")
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = {"x", "y"} - set(z.files)
            if missing:
                raise DataError(f"{p} must hold arrays 'x' and 'y' (missing {', '.join(sorted(missing))})")
            return z["x"], z["y"]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read {p} as an .npz of numeric arrays x and y ({exc})") from exc


def _npz_dataset(p: Path) -> Dataset:
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read {p} as an .npz of numeric arrays x and y ({exc})") from exc
    if not {"x", "y"} <= set(arrays):
        raise DataError(f"{p} must hold arrays 'x' and 'y' (it has: {', '.join(sorted(arrays)) or 'nothing'})")
    if "edge_index" in arrays:  # a graph for node classification
        from trustmap.data.graph_dataset import npz_graph_dataset

        return npz_graph_dataset(p, arrays)
    x, y = arrays["x"], arrays["y"]
    validate_split(x, y, num_classes=None, what=str(p))
    x, y = x.astype(np.float32), y.astype(np.int64)
    if "x_test" in arrays and "y_test" in arrays:
        validate_split(arrays["x_test"], arrays["y_test"], num_classes=None, what=f"{p} (test)")
        train, test = Split(x, y), Split(arrays["x_test"].astype(np.float32), arrays["y_test"].astype(np.int64))
    else:
        # a user file is evaluated as given: train and test both hold every example
        train = test = Split(x, y)
    n_classes = int(max(train.y.max(), test.y.max())) + 1
    kind = "image" if x.ndim >= 3 else "table"
    if x.ndim == 3:  # (N, H, W) -> (N, 1, H, W)
        train, test = Split(train.x[:, None], train.y), Split(test.x[:, None], test.y)
    lo, hi = float(min(train.x.min(), test.x.min())), float(max(train.x.max(), test.x.max()))
    return Dataset(
        name=p.name,
        kind=kind,
        train=train,
        test=test,
        classes=tuple(str(i) for i in range(n_classes)),
        value_range=(min(lo, 0.0), max(hi, 1.0)) if kind == "image" else None,
        source=str(p.resolve()),
    )


INDEX = "labels.csv"


def _read_image(path: Path, folder: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataError(f"image {path.name} listed in {folder / INDEX} does not exist in {folder}")
    try:
        with Image.open(path) as im:
            rgb = im.mode not in ("1", "L", "I", "I;16", "F")
            return np.asarray(im.convert("RGB" if rgb else "L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read {path} as an image ({type(exc).__name__}); give PNG or JPEG files") from exc


def _image_folder(p: Path, *, label: str | None, sensitive: list[str]) -> Dataset:
    """A folder of images indexed by ``labels.csv`` (columns ``file``, the label, optional group columns)."""
    index = p / INDEX
    if not index.is_file():
        raise DataError(
            f"image folder {p} needs a {INDEX} with a 'file' column, a label column and optional group columns"
        )
    try:
        df = pd.read_csv(index)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise DataError(f"cannot read {index} as a CSV table ({type(exc).__name__})") from exc
    label = label or "label"
    cols = ", ".join(map(str, df.columns))
    if df.empty:
        raise DataError(f"{index} is empty; list at least one image")
    for col, what in (("file", "file"), (label, "label")):
        if col not in df.columns:
            raise DataError(f"{what} column {col!r} not in {index}; columns: {cols}")
    for col in sensitive:
        if col not in df.columns:
            raise DataError(f"group column {col!r} not in {index}; columns: {cols}")
    if df[["file", label, *sensitive]].isna().any().any():
        raise DataError(f"{index} has empty cells in its file, label or group columns; fill them in")
    images = [_read_image(p / str(f), p) for f in df["file"]]
    shapes = {im.shape[:2] for im in images}
    if len(shapes) > 1:
        raise DataError(f"images in {p} have different sizes {sorted(shapes)[:3]}; resize them to one size first")
    rgb = any(im.ndim == 3 for im in images)
    x = np.stack([(np.repeat(im[..., None], 3, 2) if rgb and im.ndim == 2 else im) for im in images])
    x = x.transpose(0, 3, 1, 2) if rgb else x[:, None]
    raw = df[label].astype(str).str.strip().to_numpy()
    if all(v.isdigit() for v in raw):  # class indices, as in an .npz: class k is index k
        y = raw.astype(np.int64)
        classes = np.arange(int(y.max()) + 1).astype(str)
    else:
        classes, y = np.unique(raw, return_inverse=True)
    groups = {c: df[c].astype(str).to_numpy() for c in sensitive}
    split = Split(np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64), groups)
    return Dataset(
        name=p.name,
        kind="image",
        train=split,
        test=split,  # evaluated as given, like an .npz without a test split
        classes=tuple(str(c) for c in classes),
        value_range=(0.0, 1.0),
        source=str(p.resolve()),
    )


def load_user_file(name: str, *, label: str | None, sensitive: list[str]) -> Dataset:
    p = Path(name)
    if not p.exists():
        raise DataError(f"data file {p} does not exist; give a dataset name (`trustmap data list`) or a file path")
    if p.is_dir():
        return _image_folder(p, label=label, sensitive=sensitive)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return _npz_dataset(p)
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(
            f"unsupported data file {p.name}; use .npz (arrays x, y), .csv, .parquet or an image folder with {INDEX}"
        )
    if not label:
        raise DataError(f"{p.name} is a table: name its label column with --label (and --sensitive COLUMN)")
    try:
        df = pd.read_csv(p) if suffix == ".csv" else pd.read_parquet(p)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise DataError(f"cannot read {p} as a {suffix[1:]} table ({type(exc).__name__})") from exc
    if df.empty:
        raise DataError(f"{p} is empty; give at least one row")
    if label not in df.columns:
        raise DataError(f"label column {label!r} not in {p.name}; columns: {', '.join(map(str, df.columns))}")
    if df.drop(columns=[label]).select_dtypes("number").isna().any().any() or df[label].isna().any():
        raise DataError(f"{p.name} contains missing values (NaN); clean or impute them first")
    y_codes = pd.factorize(df[label].astype(str), sort=True)[0]
    if len(df) >= 10 and np.bincount(y_codes).min() >= 2:
        tr, te = stratified_two_way(y_codes, max(1, len(df) // 5), seed=0)
    else:
        tr = te = np.arange(len(df))
    from trustmap.data.tables import encode_table

    return encode_table(
        df.iloc[tr].reset_index(drop=True),
        df.iloc[te].reset_index(drop=True),
        name=p.name,
        label=label,
        positive=None,
        sensitive=sensitive,
        source=str(p.resolve()),
    )
