"""GER of N-best lists: edit statistics, the language-space noise embedding, a model that learns to correct."""

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from trustmap.errors import DataError
from trustmap.models import ger


def test_edit_counts():
    assert ger.edit_counts("abc", "abc") == (0, 0, 0)
    assert ger.edit_counts("abc", "axc") == (1, 0, 0)
    assert ger.edit_counts("abc", "ac") == (0, 1, 0)
    assert ger.edit_counts("abc", "abcd") == (0, 0, 1)
    assert ger.edit_counts("", "ab") == (0, 0, 2)


def test_language_noise_embedding_reflects_nbest_diversity():
    same = torch.ones(2, 5, 384)
    nbest = [[[1, 2, 3]] * 5, [[1, 2, 3], [1, 2], [1, 2, 3, 4], [1, 5, 3], [1, 2]]]
    emb = same.clone()
    emb[1, 1:] += 0.5
    out = ger.language_noise_embedding(emb, nbest)
    assert out.shape == (2, 772)
    assert torch.all(out[0, :768] == 0) and out[1, :768].abs().sum() > 0
    assert out[0, 768:771].tolist() == [0, 0, 0] and out[1, 769] > 0 and out[1, 770] > 0  # deletions, insertions
    with pytest.raises(DataError):
        ger.language_noise_embedding(emb[:1], nbest)


def _task(n: int, seed: int):
    """N-best lists of 3 hypotheses; the truth is the first hypothesis with word 7 replaced by word 8."""
    g = torch.Generator().manual_seed(seed)
    src, tgt = [], []
    for _ in range(n):
        ref = torch.randint(1, 9, (4,), generator=g).tolist()
        hyps = [[7 if w == 8 else w for w in ref], ref[:3], ref[1:]]
        src.append(torch.tensor([t for h in hyps for t in [*(w + 2 for w in h), ger.SEP]]))
        tgt.append(torch.tensor([*(w + 1 for w in ref), ger.END]))
    return pad_sequence(src, batch_first=True), pad_sequence(tgt, batch_first=True)


def test_ger_learns_a_correction_and_mine_trains_with_a_noise_code():
    src, tgt = _task(256, 0)
    torch.manual_seed(0)
    model = ger.train_ger(ger.GERModel(8, d=64, emb=32), src, tgt, epochs=30, lr=1e-2, seed=0)
    test_src, test_tgt = _task(32, 1)
    out = model.generate(test_src)
    truth = [[int(t) - 1 for t in row if t > 1] for row in test_tgt]
    assert sum(o == t for o, t in zip(out, truth, strict=True)) >= 24
    noise, audio = torch.randn(256, 10), torch.randn(256, 5)
    noisy = ger.train_ger(
        ger.GERModel(8, noise_dim=10, d=32, emb=16),
        src,
        tgt,
        noise=noise,
        audio=audio,
        mine_weight=0.1,
        epochs=1,
        seed=0,
    )
    assert noisy.noise_code(noise[:3]).shape == (3, 32)
    with pytest.raises(DataError, match="without a noise embedding"):
        model.noise_code(noise[:3])
