"""The :class:`Dataset` every loader returns, and the checks that guard user data.

Shapes:
    images  ``x``: float32 ``(N, C, H, W)`` in ``value_range`` (usually ``[0, 1]``)
    tables  ``x``: float32 ``(N, F)``, one-hot encoded and standardised with the training statistics
    text    ``x``: object array of ``N`` strings
    graph   ``x``: float32 ``(N, F)`` node features of the split's nodes; the graph itself is on
            :class:`trustmap.data.graph_dataset.GraphDataset`
    labels  ``y``: int64 ``(N,)`` in ``[0, len(classes))``
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from trustmap.errors import DataError

Kind = Literal["image", "table", "text", "graph"]


@dataclass(frozen=True, eq=False)
class Split:
    """One split: inputs, labels and, for tables, the sensitive attributes (raw group names)."""

    x: np.ndarray
    y: np.ndarray
    sensitive: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.y))

    def subset(self, idx: np.ndarray) -> "Split":
        return Split(self.x[idx], self.y[idx], {k: v[idx] for k, v in self.sensitive.items()})


@dataclass(frozen=True, eq=False)
class Dataset:
    """A named dataset with train/test splits and the facts probes need."""

    name: str
    kind: Kind
    train: Split
    test: Split
    classes: tuple[str, ...]
    value_range: tuple[float, float] | None = None
    feature_names: tuple[str, ...] | None = None
    source: str = ""
    dev: Split | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example (no batch dimension); ``()`` for text."""
        return tuple(self.train.x.shape[1:]) if self.kind != "text" else ()

    @property
    def sensitive_names(self) -> tuple[str, ...]:
        return tuple(self.train.sensitive)

    def sha256(self) -> str:
        """A content hash of both splits (inputs and labels), stable across runs."""
        h = hashlib.sha256(self.name.encode())
        for split in (self.train, self.test):
            for arr in (split.x, split.y):
                if arr.dtype == object:
                    h.update("\x1f".join(map(str, arr.tolist())).encode())
                else:
                    h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, object]:
        counts = np.bincount(self.train.y, minlength=self.num_classes).tolist()
        return {
            "name": self.name,
            "kind": self.kind,
            "train": len(self.train),
            "test": len(self.test),
            "input_shape": list(self.input_shape),
            "value_range": list(self.value_range) if self.value_range else None,
            "classes": list(self.classes),
            "train_class_counts": counts,
            "sensitive": list(self.sensitive_names),
            "source": self.source,
        }


def validate_split(x: np.ndarray, y: np.ndarray, *, num_classes: int | None, what: str) -> None:
    """Raise a one-line :class:`DataError` for empty data, NaN/Inf, bad label shapes or unknown labels."""
    if len(y) == 0 or len(x) == 0:
        raise DataError(f"{what} is empty; give at least one example")
    if len(x) != len(y):
        raise DataError(f"{what} has {len(x)} inputs but {len(y)} labels; they must match")
    if y.ndim != 1:
        raise DataError(f"{what} labels must be a 1-D array of class indices, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            pass
        else:
            raise DataError(f"{what} labels must be integer class indices, got dtype {y.dtype}")
    if x.dtype != object and np.issubdtype(x.dtype, np.number) and not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise DataError(f"{what} contains {bad} NaN or Inf values; clean or impute them first")
    if num_classes is not None:
        lo, hi = int(np.min(y)), int(np.max(y))
        if lo < 0 or hi >= num_classes:
            raise DataError(
                f"{what} has labels in [{lo}, {hi}] but the model knows {num_classes} classes "
                f"(0..{num_classes - 1}); relabel the data or use a matching model"
            )
