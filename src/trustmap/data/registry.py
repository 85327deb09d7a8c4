"""Dataset registry: names map to loader functions; user files are recognised by extension."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trustmap.data.dataset import Dataset
from trustmap.errors import DataError
from trustmap.registry import Registry, check_id

Loader = Callable[[], Dataset]
KINDS = ("image", "table", "text", "graph")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    summary: str
    install: str
    loader: Loader


def _check(name: str, info: DatasetInfo) -> None:
    if info.kind not in KINDS:
        raise ValueError(f"dataset kind must be one of {', '.join(KINDS)}, not {info.kind!r}")


DATASETS: Registry[DatasetInfo] = Registry(
    "dataset",
    builtins=("trustmap.data.images", "trustmap.data.tables", "trustmap.data.text", "trustmap.data.graph_dataset"),
    check=_check,
    error=DataError,
    hint="Or give a .npz/.csv/.parquet file (see `trustmap data list`).",
    summary=lambda info: info.summary,
)


def register_dataset(name: str, *, kind: str, summary: str, install: str) -> Callable[[Loader], Loader]:
    """Decorator that registers a loader under ``name`` in :data:`DATASETS`."""
    check_id(DATASETS.kind, name)

    def deco(fn: Loader) -> Loader:
        DATASETS.add(name, DatasetInfo(name, kind, summary, install, fn))
        return fn

    return deco


def dataset_names(kind: str | None = None) -> list[str]:
    """The registered dataset names (of ``kind`` if given), sorted."""
    return sorted(DATASETS.ids(where=None if kind is None else lambda info: info.kind == kind))


def dataset_info(name: str) -> DatasetInfo:
    return DATASETS.get(name)


_CACHE: dict[str, Dataset] = {}


def load_dataset(name: str, *, label: str | None = None, sensitive: list[str] | None = None) -> Dataset:
    """Load a registered dataset by name, or a user file (``.npz`` with ``x``/``y``, or a graph ``.npz``
    with ``x``/``y``/``edge_index``; CSV or Parquet).

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


def package_dir(package: str, install: str) -> Path:
    """Folder of an installed package that is read by path, never imported."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the data package {package!r} is not installed; run: {install}")
    return Path(list(spec.submodule_search_locations)[0])
