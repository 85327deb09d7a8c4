"""A small closed-vocabulary speech recogniser: word-level CTC acoustic model and a fused beam search.

Acoustic model *(ours)*: per-utterance normalised log-mel ``(T, 40)`` -> 3-frame stacking (30 ms steps)
-> two 1-D convolutions (kernel 5, 128 channels, GELU) -> one bidirectional GRU (96 per direction) ->
``V + 1`` outputs (index 0 = CTC blank, ``1..V`` = words), trained with CTC (Graves et al., ICML 2006).

Decoding is token-synchronous beam search over words (as in joint CTC/attention decoding, Watanabe et al.
2017): the acoustic model's next-word distribution ``p_AM(c | g)`` is the ratio of CTC prefix
probabilities ``psi(g + c) / psi(g)`` (index 0 = end of sentence, with ``psi`` = the full-sequence
probability), computed for every word at once with cumulative log-sum-exp over frames. A ``fuse``
callback turns it and the prefixes into the scores that extend each beam, which is where a language model
enters (shallow, static or uncertainty-aware fusion: :func:`shallow_fusion`, :func:`linear_fusion`,
:func:`uadf_fusion`). Without a callback the search is plain CTC prefix search and yields N-best lists.

Shapes: features ``list[(T_i, 40)]``; :func:`ctc_logprobs` -> ``(N, T, V + 1)`` and lengths ``(N,)``;
:func:`beam_search` -> per utterance a list of ``(word ids, score)`` best first (ids ``1..V``).

>>> am = train_ctc(feats, labels, n_words=100, epochs=12, seed=0)
>>> logp, lens = ctc_logprobs(am, test_feats)
>>> nbest = beam_search(logp, lens, beam=5)                  # acoustic-only N-best lists
>>> word_error_rate(["a b c"], ["a c"])                     # 1/3
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from trustmap.errors import DataError
from trustmap.utils.seed import seeded_generator, seeded_global_rng

STACK = 3
PADDED_FRAME = -1e4  # log-probability of a word on frames past an utterance's end (finite: no inf - inf)

Fuse = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


class CTCWordModel(nn.Module):
    """Log-mel ``(B, T, n_mels)`` and lengths ``(B,)`` -> log-probabilities ``(B, T // 3, n_words + 1)``."""

    def __init__(self, n_words: int, *, n_mels: int = 40, hidden: int = 128, rnn: int = 96) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(STACK * n_mels, hidden, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=2),
            nn.GELU(),
        )
        self.rnn = nn.GRU(hidden, rnn, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * rnn, n_words + 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        b, t, m = x.shape
        t3 = t // STACK
        h = self.conv(x[:, : t3 * STACK].reshape(b, t3, STACK * m).transpose(1, 2)).transpose(1, 2)
        steps = (lengths // STACK).clamp(min=1, max=t3)
        packed = pack_padded_sequence(h, steps.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=t3)
        return F.log_softmax(self.out(h), -1)


def _batch(feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    norm = [(f - f.mean(0)) / f.std(0).clamp_min(1e-3) for f in feats]  # per-utterance mean/variance norm
    return pad_sequence(norm, batch_first=True), torch.tensor([len(f) for f in feats])


def train_ctc(
    feats: Sequence[torch.Tensor],
    labels: Sequence[Sequence[int]],
    *,
    n_words: int,
    epochs: int = 12,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
) -> CTCWordModel:
    """Train a :class:`CTCWordModel` on log-mel features and word-id labels (``1..n_words``) with CTC."""
    if len(feats) != len(labels) or not feats:
        raise DataError(f"train_ctc needs as many label lists as feature arrays (got {len(feats)}, {len(labels)})")
    if any(not lab or min(lab) < 1 or max(lab) > n_words for lab in labels):
        raise DataError(f"labels must be non-empty lists of word ids in 1..{n_words}")
    with seeded_global_rng(seed):
        model = CTCWordModel(n_words)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * ((len(feats) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    order = seeded_generator(seed, 31)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(feats), generator=order).tolist()
        for i in range(0, len(perm), batch_size):
            idx = perm[i : i + batch_size]
            x, lens = _batch([feats[j] for j in idx])
            logp = model(x, lens)
            targets = torch.cat([torch.tensor(labels[j]) for j in idx])
            tlens = torch.tensor([len(labels[j]) for j in idx])
            olens = (lens // STACK).clamp(max=logp.shape[1])
            loss = F.ctc_loss(logp.transpose(0, 1), targets, olens, tlens, blank=0, zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def ctc_logprobs(model: CTCWordModel, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame log-probabilities ``(N, T, V + 1)`` (float64) and output lengths ``(N,)``."""
    x, lens = _batch(feats)
    logp = model.eval()(x, lens).double()
    return logp, (lens // STACK).clamp(min=1, max=logp.shape[1])


def _prefix_scores(
    x: torch.Tensor, rn: torch.Tensor, rb: torch.Tensor, last: torch.Tensor, empty: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC prefix log-probabilities ``psi(g + c)`` ``(N, B, V)`` of every word ``c`` and ``Phi`` ``(N, B, V, T)``."""
    v1 = x.shape[2]
    words = torch.arange(1, v1)
    xc = x[:, None, :, 1:].transpose(2, 3)  # (N, 1, V, T)
    rn_g = torch.where(last[..., None, None] == words[None, None, :, None], -torch.inf, rn[:, :, None, :])
    prev = torch.logaddexp(rb[:, :, None, :], rn_g)  # Phi_t from g's states at t
    start = torch.where(empty, 0.0, -torch.inf)[..., None, None].expand(-1, -1, v1 - 1, 1)
    phi = torch.cat([start, prev[..., :-1]], -1)  # Phi' at t: (N, B, V, T)
    return torch.logsumexp(phi + xc, -1), phi


def _extend(x: torch.Tensor, phi: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """States ``r_n, r_b`` ``(N, B, T)`` of ``g + c`` from ``Phi'`` ``(N, B, T)`` and words ``c`` ``(N, B)``."""
    xc = torch.gather(x[:, None].expand(-1, c.shape[1], -1, -1), 3, c[..., None, None].expand(-1, -1, x.shape[1], 1))
    cum = torch.cumsum(xc[..., 0], -1)
    rn = torch.logcumsumexp(phi - torch.nn.functional.pad(cum, (1, 0))[..., :-1], -1) + cum
    blank = torch.cumsum(x[:, None, :, 0], -1)
    rb = torch.logcumsumexp(rn - blank, -1)[..., :-1] + blank[..., 1:]
    return rn, torch.cat([torch.full_like(rn[..., :1], -torch.inf), rb], -1)


@torch.no_grad()
def beam_search(
    logp: torch.Tensor,
    lengths: torch.Tensor,
    *,
    beam: int = 5,
    max_words: int = 8,
    fuse: Fuse | None = None,
) -> list[list[tuple[list[int], float]]]:
    """Word beam search over CTC outputs ``(N, T, V + 1)``; ``fuse(am, prefixes, step)`` maps the acoustic
    next-word log-probabilities ``(N, B, V + 1)`` (index 0 = end) and the prefixes ``(N, B, step)`` to scores."""
    n, t, v1 = logp.shape
    frames = torch.arange(t)[None, :, None] >= lengths[:, None, None]
    x = torch.where(frames, torch.tensor([0.0] + [PADDED_FRAME] * (v1 - 1), dtype=logp.dtype), logp)
    rn = torch.full((n, beam, t), -torch.inf, dtype=x.dtype)
    rb = torch.cumsum(x[:, None, :, 0], -1).expand(-1, beam, -1).clone()
    last = torch.zeros(n, beam, dtype=torch.long)
    psi = torch.zeros(n, beam, dtype=x.dtype)
    score = torch.full((n, beam), -torch.inf, dtype=x.dtype)
    score[:, 0] = 0.0
    done = torch.zeros(n, beam, dtype=torch.bool)
    toks = torch.zeros(n, beam, 0, dtype=torch.long)
    for step in range(max_words + 1):
        empty = torch.full((n, beam), step == 0)
        psi_c, phi = _prefix_scores(x, rn, rb, last, empty)
        end = torch.logaddexp(rn[..., -1], rb[..., -1])
        am = torch.log_softmax(torch.cat([end[..., None], psi_c], -1) - psi[..., None], -1)
        if step == 0:  # no empty transcript (not renormalised: scores stay exact sequence log-probabilities)
            am[..., 0] = -torch.inf
        if step == max_words:  # forced end, likewise not renormalised
            am[..., 1:] = -torch.inf
        s = fuse(am, toks, step) if fuse is not None else am
        s = torch.where(done[..., None], torch.tensor([0.0] + [-torch.inf] * (v1 - 1), dtype=s.dtype), s)
        total = (score[..., None] + s).reshape(n, -1)
        score, flat = total.topk(beam, -1)
        parent, c = flat // v1, flat % v1
        toks = torch.cat([torch.gather(toks, 1, parent[..., None].expand(-1, -1, toks.shape[2])), c[..., None]], -1)
        done = torch.gather(done, 1, parent) | (c == 0)
        phi_sel = torch.gather(phi, 1, parent[..., None, None].expand(-1, -1, v1 - 1, t))
        phi_sel = torch.gather(phi_sel, 2, (c - 1).clamp(min=0)[..., None, None].expand(-1, -1, 1, t))[:, :, 0]
        rn, rb = _extend(x, phi_sel, (c - 1).clamp(min=0) + 1)
        psi = torch.gather(psi_c, 1, parent[..., None].expand(-1, -1, v1 - 1)).gather(
            2, (c - 1).clamp(min=0)[..., None]
        )
        psi, last = psi[..., 0], c
        if bool(done.all()):
            break
    out = []
    for i in range(n):
        hyps = [([int(w) for w in toks[i, b] if w > 0], float(score[i, b])) for b in range(beam)]
        out.append([h for h in hyps if h[1] > -torch.inf] or hyps[:1])
    return out


def normalised_entropy(logp: torch.Tensor) -> torch.Tensor:
    """Entropy of each distribution over the last axis divided by log(size): values in [0, 1]."""
    p = logp.exp()
    return -(p * torch.where(p > 0, logp, 0.0)).sum(-1) / torch.log(torch.tensor(float(logp.shape[-1])))


def shallow_fusion(am: torch.Tensor, lm: torch.Tensor, *, weight: float) -> torch.Tensor:
    """Log-linear fusion ``log p_AM + weight * log p_LM`` (Gulcehre et al. 2015)."""
    return am + weight * lm


def linear_fusion(am: torch.Tensor, lm: torch.Tensor, *, beta: float | torch.Tensor) -> torch.Tensor:
    """``log((1 - beta) p_LM + beta p_AM)``; ``beta`` a number or a tensor broadcast over the words."""
    b = torch.as_tensor(beta, dtype=am.dtype)
    return torch.logaddexp(torch.log1p(-b.clamp(max=1 - 1e-12)) + lm, torch.log(b.clamp(min=1e-12)) + am)


def uadf_fusion(am: torch.Tensor, lm: torch.Tensor, *, h0: float, kappa: float) -> torch.Tensor:
    """Uncertainty-aware dynamic fusion: ``beta = 0`` where the (calibrated) LM's normalised entropy is at most
    ``h0``, else ``min(1, kappa (H - h0))``; then :func:`linear_fusion` with that per-token ``beta``."""
    h = normalised_entropy(lm)
    beta = torch.where(h <= h0, 0.0, (kappa * (h - h0)).clamp(max=1.0))[..., None]
    return linear_fusion(am, lm, beta=beta)


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word edit distance summed over utterances divided by the number of reference words."""
    if len(refs) != len(hyps) or not refs:
        raise DataError(f"word_error_rate needs as many hypotheses as references (got {len(hyps)}, {len(refs)})")
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, h = ref.split(), hyp.split()
        row = list(range(len(h) + 1))
        for i, rw in enumerate(r, 1):
            prev, row[0] = row[0], i
            for j, hw in enumerate(h, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
        errors, words = errors + row[-1], words + len(r)
    return errors / max(words, 1)


__all__ = [
    "CTCWordModel",
    "beam_search",
    "ctc_logprobs",
    "linear_fusion",
    "normalised_entropy",
    "shallow_fusion",
    "train_ctc",
    "uadf_fusion",
    "word_error_rate",
]
