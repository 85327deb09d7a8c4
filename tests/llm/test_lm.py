"""The tiny causal LM: it learns, memorises, is deterministic, and round-trips through safetensors + JSON."""

import json

import pytest
import torch

from trustmap.errors import DataError, ModelError
from trustmap.llm.lm import LMConfig, TinyLM, build_vocab, cached_lm, train_lm, unigram_perplexity, words

CORPUS = [
    "the film is a warm and funny delight .",
    "the plot is a tired mess .",
    "a slow , dull and tired story .",
    "the cast is warm and the story is funny .",
] * 10 + ["the secret code of alice is 3 9 1 4 7 2"] * 8
TINY = LMConfig(vocab_size=60, max_len=16, d=32, heads=2, layers=1, steps=150, batch_size=16, lr=1e-2, dropout=0.0)


@pytest.fixture(scope="module")
def lm():
    return train_lm(CORPUS, config=TINY, seed=0)


def test_words_and_vocab_keep_reserved_words_first():
    assert words("It's GREAT, 3 stars!") == ["it's", "great", ",", "3", "stars", "!"]
    vocab = build_vocab(["b b b a a c"], 6, reserved=["zz"])
    assert vocab == ["<pad>", "<bos>", "<eos>", "<unk>", "zz", "b"]


def test_training_beats_unigram_and_memorises_a_repeated_canary(lm):
    assert lm.perplexity(CORPUS) < 0.5 * unigram_perplexity(CORPUS, CORPUS, lm)
    assert lm.complete(["the secret code of alice is"], max_new_tokens=7)[0].startswith("3 9 1 4 7 2")


def test_batched_left_padded_generation_matches_one_by_one(lm):
    prompts = ["the secret code of alice is", "the", "a slow , dull"]
    together = lm.complete(prompts, max_new_tokens=5)
    assert together == [lm.complete([p], max_new_tokens=5)[0] for p in prompts]
    sampled = lm.complete(prompts, max_new_tokens=5, temperature=1.0, seed=3)
    assert sampled == lm.complete(prompts, max_new_tokens=5, temperature=1.0, seed=3)


def test_same_seed_same_weights_other_seed_differs():
    cfg = LMConfig(vocab_size=60, max_len=16, d=16, heads=2, layers=1, steps=5, batch_size=8)
    a, b, c = (train_lm(CORPUS, config=cfg, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert not torch.equal(a.model.tok.weight, c.model.tok.weight)


def test_save_load_roundtrip_is_exact_and_never_pickled(lm, tmp_path):
    lm.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["lm.json", "model.safetensors"]
    back = TinyLM.load(tmp_path / "m")
    ids = lm.batch(CORPUS[:3])
    assert torch.equal(lm.model(ids), back.model(ids)) and back.vocab == lm.vocab
    assert json.loads((tmp_path / "m" / "lm.json").read_text())["config"]["d"] == 32
    (tmp_path / "m" / "model.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(ModelError, match="not a saved tiny LM"):
        TinyLM.load(tmp_path / "m")


def test_cache_reuses_the_saved_model(tmp_path):
    cfg = LMConfig(vocab_size=40, max_len=16, d=16, heads=2, layers=1, steps=3, batch_size=4)
    first = cached_lm(CORPUS, config=cfg, seed=0, cache_dir=tmp_path)
    (entry,) = list(tmp_path.iterdir())
    second = cached_lm(CORPUS, config=cfg, seed=0, cache_dir=tmp_path)
    assert torch.equal(first.model.tok.weight, second.model.tok.weight)
    cached_lm(CORPUS, config=cfg, seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2 and entry.is_dir()


def test_bad_input_raises_clear_errors(lm):
    with pytest.raises(DataError):
        train_lm([], config=TINY)
    with pytest.raises(DataError):
        lm.perplexity([])
    with pytest.raises(ModelError, match="divisible"):
        train_lm(CORPUS, config=LMConfig(d=30, heads=4, steps=1))
