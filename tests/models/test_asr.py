"""Word-CTC recogniser: prefix-score beam search (exact sequence probabilities), fusion rules, WER."""

import pytest
import torch
import torch.nn.functional as F

from trustmap.errors import DataError
from trustmap.models import asr


def _random_logp(n: int, t: int, v1: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.log_softmax(2 * torch.randn(n, t, v1, generator=g, dtype=torch.float64), -1)


def test_beam_scores_are_exact_ctc_sequence_log_probabilities():
    logp = _random_logp(3, 9, 4)
    lens = torch.tensor([9, 7, 5])
    for nbest, x, n in zip(asr.beam_search(logp, lens, beam=6, max_words=4), logp, lens, strict=True):
        assert len(nbest) == 6 and nbest[0][1] >= nbest[-1][1]
        for words, score in nbest:
            want = -F.ctc_loss(
                x[:n, None], torch.tensor([words]), torch.tensor([n]), torch.tensor([len(words)]), reduction="sum"
            )
            assert score == pytest.approx(float(want), abs=1e-6)


def test_beam_search_reads_a_clear_word_sequence_and_fusion_can_override_it():
    seq = [0, 3, 3, 0, 5, 0, 5, 5, 0, 2, 0]  # words 3, 5, 5, 2 with blanks between the repeated 5s
    logp = torch.log(
        torch.full((1, len(seq), 6), 0.02, dtype=torch.float64).scatter(2, torch.tensor(seq)[None, :, None], 0.9)
    )
    lens = torch.tensor([len(seq)])
    assert asr.beam_search(logp, lens, beam=3)[0][0][0] == [3, 5, 5, 2]
    lm = torch.full((6,), -10.0, dtype=torch.float64)
    lm[4] = 0.0  # an LM sure that every next word is 4

    def fuse(am, toks, step):
        return asr.shallow_fusion(am, lm.expand_as(am), weight=3.0)

    assert asr.beam_search(logp, lens, beam=3, max_words=4, fuse=fuse)[0][0][0] == [4, 4, 4, 4]


def test_linear_and_uncertainty_aware_fusion():
    am = torch.log(torch.tensor([[0.1, 0.8, 0.1]]))
    sure = torch.log(torch.tensor([[0.98, 0.01, 0.01]]))
    unsure = torch.log(torch.tensor([[0.34, 0.33, 0.33]]))
    assert torch.allclose(asr.linear_fusion(am, sure, beta=1.0).exp(), am.exp(), atol=1e-6)
    assert torch.allclose(asr.linear_fusion(am, sure, beta=0.0).exp(), sure.exp(), atol=1e-6)
    assert torch.allclose(asr.uadf_fusion(am, sure, h0=0.5, kappa=2.0), sure, atol=1e-6)  # confident LM kept
    mixed = asr.uadf_fusion(am, unsure, h0=0.5, kappa=2.0).exp()  # H ~ 1 -> beta = min(1, 2 * 0.5) = 1
    assert torch.allclose(mixed, am.exp(), atol=1e-4)
    h = asr.normalised_entropy(torch.cat([sure, unsure]))
    assert 0 < h[0] < 0.2 and 0.99 < h[1] <= 1.0


def test_word_error_rate():
    assert asr.word_error_rate(["a b c"], ["a c"]) == pytest.approx(1 / 3)
    assert asr.word_error_rate(["a b", "c d"], ["a b", "x d e"]) == pytest.approx(2 / 4)
    with pytest.raises(DataError):
        asr.word_error_rate(["a"], [])


def test_ctc_training_learns_and_rejects_bad_labels():
    g = torch.Generator().manual_seed(0)
    protos = torch.randn(4, 40, generator=g) * 3
    feats, labels = [], []
    for i in range(48):
        words = [1 + (i + k) % 4 for k in range(2)]
        feats.append(torch.cat([protos[w - 1].expand(9, 40) + 0.3 * torch.randn(9, 40, generator=g) for w in words]))
        labels.append(words)
    model = asr.train_ctc(feats, labels, n_words=4, epochs=25, lr=1e-2, seed=0)
    logp, lens = asr.ctc_logprobs(model, feats[:8])
    hyps = [n[0][0] for n in asr.beam_search(logp, lens, beam=2, max_words=3)]
    assert sum(h == lab for h, lab in zip(hyps, labels[:8], strict=True)) >= 6
    with pytest.raises(DataError, match="word ids in 1..4"):
        asr.train_ctc(feats[:2], [[0], [5]], n_words=4)
