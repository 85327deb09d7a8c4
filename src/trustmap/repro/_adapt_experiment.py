"""Shared pieces of the adaptation experiments (``trustmap repro lora-sp|apt|deft|zo-bench``, the benchmark).

The model every method starts from is :func:`trustmap.adapt.minilm.fresh_minilm` (library code, also used
by ``trustmap adapt``).

* :func:`rt_splits`: stratified RT subsets (train from the training pool, test from the test split),
  tokenized to ids; method and baselines of one run share them.
* :func:`probe_accuracy`: k-fold logistic-regression accuracy on frozen mean-pooled embeddings;
  :func:`frozen_probe_accuracy`: the same classifier fitted on a train split and scored on a test split
  (the trivial baseline a trained adapter must beat).
* :func:`summarise`: per-method mean over runs, for ``ReproResult.rows``; :func:`row` picks one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from trustmap.adapt.minilm import encode
from trustmap.adapt.textdata import stratified_subset
from trustmap.data.dataset import Split


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


def frozen_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Test accuracy of a standardised logistic regression on frozen embeddings: the trivial baseline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)).fit(train_x, train_y)
    return float(clf.score(test_x, test_y))


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


__all__ = ["embeddings", "frozen_probe_accuracy", "probe_accuracy", "row", "rt_splits", "summarise"]
