"""Processors: word-to-piece alignment for tags and spans, dropped rows, and registry validation."""

from __future__ import annotations

import numpy as np
import pytest

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.text.processors import IGNORE, PROCESSORS, Processor, processor, register_processor

TEXTS = np.array(["It isn't a good film, unfortunately.", "Zzz", "A tedious, pointless mess."], dtype=object)
SPLIT = Split(TEXTS, np.array([0, 1, 0]))


def test_tags_sit_on_each_words_first_piece():
    from trustmap.data.opinion_tags import opinion_lexicon, split_words, tag_words
    from trustmap.models.text import load_tokenizer

    enc = processor("opinion-tags")(SPLIT, max_len=32)
    tok = load_tokenizer()
    assert enc.ids.shape == enc.targets.shape == (3, 32)
    for row, i in enumerate(enc.keep):
        words = split_words(TEXTS[i])
        scored = enc.targets[row] != IGNORE
        assert scored.sum() == len(words)  # one scored position per word, none on later pieces or padding
        assert enc.targets[row][scored].tolist() == tag_words(words, opinion_lexicon())
        first_pieces = tok.convert_ids_to_tokens(enc.ids[row][scored].tolist())
        assert all(not p.startswith("##") for p in first_pieces)
    tags = enc.targets[list(enc.keep).index(2)]
    assert (tags[tags != IGNORE] == 2).sum() >= 2  # tedious, pointless, mess: rotten words


def test_span_points_at_the_strongest_word_and_drops_rows_without_one():
    from trustmap.data.opinion_tags import opinion_lexicon, split_words, strongest_word
    from trustmap.models.text import load_tokenizer

    enc = processor("opinion-span")(SPLIT, max_len=32)
    assert 1 not in enc.keep.tolist()  # "Zzz" has no lexicon word
    tok = load_tokenizer()
    for row, i in enumerate(enc.keep):
        words = split_words(TEXTS[i])
        start, end = enc.targets[row]
        assert start <= end
        piece_text = tok.convert_tokens_to_string(tok.convert_ids_to_tokens(enc.ids[row][start : end + 1].tolist()))
        assert piece_text.replace(" ", "") == words[strongest_word(words, opinion_lexicon())]


def test_span_cut_off_by_max_len_is_dropped():
    long = Split(np.array(["filler " * 40 + "a tedious film"], dtype=object), np.array([0]))
    assert len(processor("opinion-span")(long, max_len=16)) == 0


def test_label_processor_keeps_labels_and_pads():
    enc = processor("label")(SPLIT, max_len=16)
    assert enc.targets.tolist() == [0, 1, 0] and enc.ids.shape == (3, 16) and enc.ids.dtype == np.int64


def test_registry_refuses_bad_processors():
    with pytest.raises(TrustmapError, match="unknown processor 'nope'; choose from .*opinion-tags"):
        processor("nope")
    with pytest.raises(TypeError, match="Processor subclass"):
        PROCESSORS.add("not-a-class", object)  # type: ignore[arg-type]

    class NoTarget(Processor):
        head = "tagging"

    with pytest.raises(ValueError, match="override target"):
        register_processor("no-target")(NoTarget)

    class BadHead(Processor):
        head = "generation"

        def target(self, text, words, label):
            return 0

    with pytest.raises(ValueError, match="head 'generation'"):
        register_processor("bad-head")(BadHead)
    with pytest.raises(ValueError, match="lower-case"):
        register_processor("Bad_Name")


def test_a_new_processor_is_one_class():
    class Length(Processor):
        """Short or long snippet."""

        head = "classification"
        labels = ("short", "long")

        def target(self, text, words, label):
            return int(len(words) > 4)

    with PROCESSORS.scoped():
        register_processor("length")(Length)
        assert processor("length")(SPLIT, max_len=8).targets.tolist() == [1, 0, 0]
    assert "length" not in PROCESSORS
