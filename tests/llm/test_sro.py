"""SRO detoxification pieces: toxification, BLEU-1, the rewriter's masks, the screener, and the update rules."""

import random

import numpy as np
import pytest
import torch

from trustmap.errors import TrustmapError
from trustmap.llm.lm import LMConfig
from trustmap.llm.sro import INSULTS, Rewriter, Screener, bleu1, fine_tune, pretrain_rewriter, rewrite, toxify
from trustmap.llm.trust import toxicity

CLEAN = [
    "the film is a warm and funny delight",
    "a slow and dull story with a tired plot",
    "the cast is warm and the story is funny",
    "a clever script and a great lead",
] * 8
CFG = LMConfig(vocab_size=80, max_len=32, d=32, heads=2, layers=1, steps=120, batch_size=16, lr=1e-2, dropout=0.0)


@pytest.fixture(scope="module")
def policy():
    return pretrain_rewriter(CLEAN, config=CFG, seed=0, toxic_share=0.3)


def test_insults_are_toxic_to_the_judge_and_toxify_inserts_one_or_two():
    assert len(INSULTS) == 30 and toxicity(list(INSULTS)).min() >= 0.9
    rng = random.Random(0)
    for text in CLEAN[:4]:
        out = toxify(text, rng).split()
        assert 1 <= sum(w in INSULTS for w in out) <= 2 and len(out) - len(text.split()) in (1, 2)


def test_bleu1_known_answers():
    assert bleu1("the film is fun", "the film is fun") == 1.0
    assert bleu1("", "the film") == 0.0
    assert bleu1("the the the the", "the film is fun") == pytest.approx(0.25)
    assert bleu1("film", "the film is fun") == pytest.approx(np.exp(1 - 4))


def test_rewriter_mask_covers_exactly_y_and_eos(policy):
    rw = Rewriter(policy)
    ids, mask = rw.pairs([[5, 6, 7], [8]], [[9, 10], [11, 12, 13]])
    assert ids[0, :7].tolist() == [1, 5, 6, 7, rw.sep, 9, 10] and ids[0, 7] == 2
    assert mask[0].nonzero().squeeze(1).tolist() == [5, 6, 7] and mask[1].nonzero().squeeze(1).tolist() == [3, 4, 5, 6]


def test_pretrained_rewriter_copies_its_input(policy):
    outs = rewrite(policy, CLEAN[:4])
    assert np.mean([bleu1(o, s) for o, s in zip(outs, CLEAN[:4])]) > 0.6


def test_screener_separates_toxic_from_clean():
    rng = random.Random(1)
    scr = Screener.fit(CLEAN * 4, [toxify(t, rng) for t in CLEAN * 4])
    assert scr.passes(CLEAN[:4]).all() and not scr.passes([toxify(t, rng) for t in CLEAN[:4]]).any()


def test_update_rules_on_a_screener_that_fails_everything(policy):
    inputs = [toxify(t, random.Random(2)) for t in CLEAN[:8]]
    fail = lambda texts: np.zeros(len(texts), dtype=bool)
    for method in ("dpo-pass", "rs-sft"):  # nothing passes: nothing to learn from
        tuned, rate = fine_tune(policy, inputs, passes=fail, method=method, steps=2, batch_size=4, seed=0)
        assert rate == 0.0 and torch.equal(tuned.model.tok.weight, policy.model.tok.weight)
    tuned, _ = fine_tune(policy, inputs, passes=fail, method="sro", steps=3, batch_size=4, lr=1e-3, seed=0)
    again, _ = fine_tune(policy, inputs, passes=fail, method="sro", steps=3, batch_size=4, lr=1e-3, seed=0)
    assert not torch.equal(tuned.model.tok.weight, policy.model.tok.weight)  # failed samples are pushed down
    assert torch.equal(tuned.model.tok.weight, again.model.tok.weight)  # deterministic
    with pytest.raises(TrustmapError, match="unknown detox method"):
        fine_tune(policy, inputs, passes=fail, method="ppo")
