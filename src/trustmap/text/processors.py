"""Processors: a text split to model tensors for one task (HugNLP's processor layer, arXiv 2302.14286).

A processor turns the strings of a :class:`~trustmap.data.dataset.Split` into MiniLM token ids and task
targets. Subclasses override one method, :meth:`Processor.target`, which gives a row's target at the
level of text and words; the base class tokenizes and aligns words to word-pieces for its ``head``:

================== ============================ =====================================================
head               ``target(text, words, label)`` ``Encoded.targets``
================== ============================ =====================================================
``classification`` class id                     ``(N,)`` int64
``tagging``        one tag id per word          ``(N, L)`` int64, tag at each word's first piece, -100 else
``span``           ``(first, last)`` word index  ``(N, 2)`` int64 word-piece positions
``embedding``      group id (same group = match) ``(N,)`` int64
================== ============================ =====================================================

A ``None`` target drops the row (``Encoded.keep`` says which rows stayed). Words are lower-cased
``[a-z0-9]+('[a-z]+)?`` tokens (:func:`trustmap.data.opinion_tags.split_words`); classification and
embedding rows are tokenized from the raw text.

>>> enc = processor("opinion-tags")(ds.test, max_len=64)
>>> enc.ids.shape, enc.targets.shape                 # (N, 64), (N, 64)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.data.dataset import Split
from trustmap.models.architectures import ARCH_TASKS
from trustmap.registry import Registry, check_id

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """Token ids ``(N, L)`` int64 (right-padded), targets (see the module table) and kept row indices."""

    ids: np.ndarray
    targets: np.ndarray
    keep: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def split(self) -> Split:
        return Split(self.ids, self.targets)


class Processor:
    """Text -> tensors for one task; override :meth:`target` (and set ``head`` and ``labels``)."""

    head: ClassVar[str] = "classification"
    labels: tuple[str, ...] = ()  # class or tag names; () = the dataset's classes

    def target(self, text: str, words: list[str], label: int) -> Any:
        """The row's target at text/word level (see the module table), or ``None`` to drop the row."""
        raise NotImplementedError

    def __call__(self, split: Split, *, max_len: int = 64) -> Encoded:
        from trustmap.data.opinion_tags import split_words
        from trustmap.models.text import load_tokenizer

        tok = load_tokenizer()
        texts = [str(t) for t in split.x]
        words = [split_words(t) for t in texts]
        raw = [self.target(t, w, int(lab)) for t, w, lab in zip(texts, words, split.y)]
        keep = np.array([i for i, r in enumerate(raw) if r is not None], np.int64)
        if self.head in ("classification", "embedding"):
            ids = _ids(tok, [texts[i] for i in keep], max_len, split_words=False)
            return Encoded(ids, np.array([int(raw[i]) for i in keep], np.int64), keep)
        enc = tok(
            [words[i] or [""] for i in keep],
            is_split_into_words=True,
            truncation=True,
            max_length=max_len,
            padding="max_length",
        )
        ids = np.asarray(enc["input_ids"], np.int64).reshape(len(keep), max_len)
        rows, kept = [], []
        for j, i in enumerate(keep):
            t = self._align(enc.word_ids(j), raw[i], max_len)
            if t is not None:
                rows.append(t)
                kept.append(j)
        shape = (0, max_len) if self.head == "tagging" else (0, 2)
        targets = np.stack(rows).astype(np.int64) if rows else np.zeros(shape, np.int64)
        return Encoded(ids[kept], targets, keep[kept])

    def _align(self, word_ids: list[int | None], raw: Any, max_len: int) -> np.ndarray | None:
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for pos, w in enumerate(word_ids):
            if w is not None:
                first.setdefault(w, pos)
                last[w] = pos
        if self.head == "tagging":
            out = np.full(max_len, IGNORE, np.int64)
            for w, pos in first.items():
                if w < len(raw):
                    out[pos] = int(raw[w])
            return out
        start, end = (int(v) for v in raw)
        if start not in first or end not in last or end < start:
            return None  # the span was cut off by max_len
        return np.array([first[start], last[end]], np.int64)


def _ids(tok: Any, texts: Sequence[str], max_len: int, *, split_words: bool) -> np.ndarray:
    if not texts:
        return np.zeros((0, max_len), np.int64)
    enc = tok(list(texts), truncation=True, max_length=max_len, padding="max_length", return_tensors="np")
    return enc["input_ids"].astype(np.int64)


def _check(name: str, cls: type[Processor]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Processor)):
        raise TypeError(f"processor {name!r} must be a Processor subclass, got {cls!r}")
    if cls.head not in ARCH_TASKS:
        raise ValueError(f"processor {name!r} has head {cls.head!r}; use one of {', '.join(ARCH_TASKS)}")
    if cls.target is Processor.target:
        raise ValueError(f"processor {name!r} must override target()")


PROCESSORS: Registry[type[Processor]] = Registry(
    "processor", check=_check, summary=lambda cls: (cls.__doc__ or "").strip().splitlines()[0]
)


def register_processor(name: str) -> Callable[[type[Processor]], type[Processor]]:
    """Class decorator that registers a :class:`Processor` subclass under ``name`` (validated)."""
    check_id(PROCESSORS.kind, name)

    def deco(cls: type[Processor]) -> type[Processor]:
        PROCESSORS.add(name, cls)
        return cls

    return deco


def processor(name: str) -> Processor:
    """A fresh instance of the processor registered as ``name`` (one-line error naming the valid ones)."""
    return PROCESSORS.get(name)()


@register_processor("label")
class LabelProcessor(Processor):
    """Sequence classification: the dataset's own label."""

    head = "classification"

    def target(self, text: str, words: list[str], label: int) -> int:
        return label


@register_processor("opinion-tags")
class OpinionTagProcessor(Processor):
    """Token tagging: silver POS/NEG/O opinion tags from the RT lexicon (as in sequst)."""

    head = "tagging"
    labels = ("O", "POS", "NEG")

    def target(self, text: str, words: list[str], label: int) -> list[int] | None:
        from trustmap.data.opinion_tags import opinion_lexicon, tag_words

        return tag_words(words, opinion_lexicon()) if words else None


@register_processor("opinion-span")
class OpinionSpanProcessor(Processor):
    """Span extraction: start/end pointers on the snippet's strongest lexicon word (rows without one dropped)."""

    head = "span"

    def target(self, text: str, words: list[str], label: int) -> tuple[int, int] | None:
        from trustmap.data.opinion_tags import opinion_lexicon, strongest_word

        i = strongest_word(words, opinion_lexicon())
        return None if i < 0 else (i, i)


@register_processor("same-label")
class SameLabelProcessor(Processor):
    """Retrieval: texts with the same label are matches (e.g. snippets of the same movie)."""

    head = "embedding"

    def target(self, text: str, words: list[str], label: int) -> int:
        return label


__all__ = [
    "IGNORE",
    "PROCESSORS",
    "Encoded",
    "LabelProcessor",
    "OpinionSpanProcessor",
    "OpinionTagProcessor",
    "Processor",
    "SameLabelProcessor",
    "processor",
    "register_processor",
]
