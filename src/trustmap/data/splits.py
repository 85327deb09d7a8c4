"""Seeded, stratified index splits (no global random state)."""

from __future__ import annotations

import numpy as np


def stratified_indices(y: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a stratified subset of ``n`` examples (random state ``seed``), sorted."""
    if n >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(idx)


def stratified_two_way(y: np.ndarray, n_second: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (first, second) with ``n_second`` stratified examples in the second part."""
    from sklearn.model_selection import train_test_split

    first, second = train_test_split(np.arange(len(y)), test_size=n_second, stratify=y, random_state=seed)
    return np.sort(first), np.sort(second)
