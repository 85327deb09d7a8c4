"""Dataset registry: names map to loader functions; user files are recognised by extension."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trustmap.data.dataset import Dataset
from trustmap.errors import DataError

Loader = Callable[[], Dataset]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    summary: str
    install: str
    loader: Loader


_REGISTRY: dict[str, DatasetInfo] = {}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def register_dataset(name: str, *, kind: str, summary: str, install: str) -> Callable[[Loader], Loader]:
    """Decorator that registers a loader under ``name``; refuses bad or duplicate names."""
    if not _NAME.match(name):
        raise ValueError(f"dataset name {name!r} must be lower-case letters, digits and dashes")
    if kind not in ("image", "table", "text"):
        raise ValueError(f"dataset kind must be image, table or text, not {kind!r}")

    def deco(fn: Loader) -> Loader:
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} is already registered")
        _REGISTRY[name] = DatasetInfo(name, kind, summary, install, fn)
        return fn

    return deco


def dataset_names() -> list[str]:
    _ensure_builtins()
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(_REGISTRY))} "
            "or give a .npz/.csv/.parquet file (see `trustmap data list`)"
        ) from None


_CACHE: dict[str, Dataset] = {}


def load_dataset(name: str, *, label: str | None = None, sensitive: list[str] | None = None) -> Dataset:
    """Load a registered dataset by name, or a user file (``.npz`` with ``x``/``y``, CSV or Parquet).

    >>> ds = load_dataset("digits")
    >>> ds.train.x.shape[1:]
    (1, 8, 8)
    """
    from trustmap.data import user

    if user.looks_like_file(name):
        return user.load_user_file(name, label=label, sensitive=sensitive or [])
    info = dataset_info(name)
    if name not in _CACHE:
        _CACHE[name] = info.loader()
    return _CACHE[name]


def _ensure_builtins() -> None:
    from trustmap.data import images, tables, text  # noqa: F401  (registration side effect)


def package_dir(package: str, install: str) -> Path:
    """Folder of an installed package that is read by path, never imported."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the data package {package!r} is not installed; run: {install}")
    return Path(list(spec.submodule_search_locations)[0])
