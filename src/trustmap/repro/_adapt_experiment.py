"""Shared pieces of the adaptation experiments (``trustmap repro lora-sp|apt|deft|zo-bench``, the benchmark).

* :func:`fresh_minilm`: the pretrained MiniLM classifier with a head drawn from ``seed``; the encoder is
  loaded from disk once per process and deep-copied, so every method starts from identical weights.
* :func:`rt_splits`: stratified RT subsets (train from the training pool, test from the test split),
  tokenized to ids; method and baselines of one run share them.
* :func:`probe_accuracy`: k-fold logistic-regression accuracy on frozen mean-pooled embeddings.
* :func:`summarise`: per-method mean over runs, for ``ReproResult.rows``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from trustmap.adapt.textdata import stratified_subset
from trustmap.data.dataset import Split
from trustmap.utils.seed import torch_generator


@functools.lru_cache(maxsize=2)
def _base(max_len: int) -> nn.Module:
    from trustmap.models.architectures import build_model

    return build_model("minilm", input_shape=(), num_classes=2, max_len=max_len)


def fresh_head(*, seed: int, in_features: int = 384, num_classes: int = 2) -> nn.Linear:
    """A linear head initialised like ``nn.Linear`` (uniform +-1/sqrt(in)) from a private generator."""
    gen = torch_generator(seed)
    head = nn.Linear(in_features, num_classes)
    bound = 1.0 / in_features**0.5
    with torch.no_grad():
        head.weight.uniform_(-bound, bound, generator=gen)
        head.bias.uniform_(-bound, bound, generator=gen)
    return head


def fresh_minilm(*, seed: int, max_len: int = 64, num_classes: int = 2) -> nn.Module:
    """A deep copy of the pretrained MiniLM classifier with a new head drawn from ``seed``."""
    model = copy.deepcopy(_base(max_len))
    model.head = fresh_head(seed=seed, in_features=model.head.in_features, num_classes=num_classes)
    for p in model.parameters():
        p.requires_grad_(True)
    return model.train()


def encode(split: Split, *, max_len: int = 64) -> Split:
    from trustmap.models.text import encode_split

    return encode_split(_base(max_len), split)


def rt_splits(*, n_train: int, n_test: int, seed: int, max_len: int = 64) -> tuple[Split, Split, Split]:
    """``(train, dev, test)`` token-id splits: ``n_train`` from RT's pool (random state ``seed``), the 500
    dev snippets and ``n_test`` stratified test snippets (random state 0, the same for every run)."""
    from trustmap.data import load_dataset

    ds = load_dataset("rotten-tomatoes")
    train = stratified_subset(ds.train, n_train, seed=seed)
    test = stratified_subset(ds.test, n_test, seed=0)
    assert ds.dev is not None
    return encode(train, max_len=max_len), encode(ds.dev, max_len=max_len), encode(test, max_len=max_len)


@torch.no_grad()
def embeddings(model: nn.Module, ids: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    model.eval()
    t = torch.from_numpy(ids)
    return torch.cat([model.embed(t[i : i + batch_size]) for i in range(0, len(t), batch_size)]).numpy()


def probe_accuracy(features: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Mean k-fold accuracy of a standardised logistic regression on ``features``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(clf, features, y, cv=cv).mean())


def summarise(runs: Iterable[dict[str, Any]], *, key: str = "method") -> list[dict[str, Any]]:
    """Mean of every numeric field per ``key`` value, in first-appearance order (with ``runs`` counted)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(r[key], []).append(r)
    rows = []
    for name, rs in groups.items():
        row: dict[str, Any] = {key: name}
        for k in rs[0]:
            vals = [r[k] for r in rs if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            if k not in (key, "seed") and len(vals) == len(rs):
                row[k] = float(np.mean(vals))
        row["runs"] = len(rs)
        rows.append(row)
    return rows


def row(rows: list[dict[str, Any]], name: str, key: str = "method") -> dict[str, Any]:
    return next(r for r in rows if r[key] == name)


__all__ = [
    "embeddings", "encode", "fresh_head", "fresh_minilm", "probe_accuracy", "row", "rt_splits", "summarise",
]  # fmt: skip
