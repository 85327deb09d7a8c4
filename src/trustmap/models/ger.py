"""Generative error correction (GER) of N-best lists, with RobustGER's language-space noise embedding.

After Chen et al., "Large Language Models are Efficient Learners of Noise-Robust Speech Recognition"
(ICLR 2024, arXiv 2401.10446; code github.com/YUCHEN005/RobustGER, read, not copied). There a LLaMA adapter
reads the N-best list, and a noise embedding built from the list's diversity is projected and subtracted,
gated, from the adapter's prompt ("denoising"); MINE mutual-information distillation ties it to an audio
noise embedding. Here, at CPU scale *(ours)*:

- :func:`language_noise_embedding`: per utterance ``[mean_j (e_1 - e_j), mean_{i<j} |e_i - e_j|]`` over
  sentence embeddings ``e`` (384-d, MiniLM) of the hypotheses, plus mean substitution, deletion and
  insertion rates of hypotheses 2..N against the 1-best and its length / 6: ``(772,)``.
- :class:`GERModel`: the concatenated N-best (words, ``<sep>`` between) -> BiGRU encoder; ``prefix``
  learned key vectors, from which ``tanh(gate) * W z`` is subtracted when a noise embedding ``z`` is given;
  a GRU decoder attends over ``[prefix; encoder states]`` and mixes generation with copying from the N-best
  (pointer-generator, See et al. 2017). About 0.4M parameters.
- :class:`Mine`: a statistics network ``T(z, a)``; ``mi_lower_bound`` is the Donsker-Varadhan bound
  ``E_joint T - log E_marginal exp T`` (Belghazi et al. 2018), maximised to distil the audio noise vector.

Shapes: N-best ids ``(B, L)`` (0 pad); noise embedding ``(B, 772)``; targets ``(B, W)`` -> logits
``(B, W, V + 2)`` (0 pad, 1 end, 2.. words).

>>> model = GERModel(n_words=100, noise_dim=772)
>>> train_ger(model, src, tgt, noise=emb, epochs=15, seed=0)
>>> model.generate(src, noise=emb)                      # list of word-id lists
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.errors import DataError
from trustmap.utils.seed import seeded_generator, seeded_global_rng

PAD, END, SEP = 0, 1, 2  # target side uses PAD and END; source side adds SEP; words are 3.. on both


def edit_counts(ref: Sequence[object], hyp: Sequence[object]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of ``hyp`` against ``ref`` on a minimum-edit alignment."""
    n, m = len(ref), len(hyp)
    d = [[(0, 0, 0, 0)] * (m + 1) for _ in range(n + 1)]  # (cost, sub, del, ins)
    for i in range(1, n + 1):
        d[i][0] = (i, 0, i, 0)
    for j in range(1, m + 1):
        d[0][j] = (j, 0, 0, j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c, s, de, ins = d[i - 1][j - 1]
            diag = (c + (ref[i - 1] != hyp[j - 1]), s + (ref[i - 1] != hyp[j - 1]), de, ins)
            up = (d[i - 1][j][0] + 1, d[i - 1][j][1], d[i - 1][j][2] + 1, d[i - 1][j][3])
            left = (d[i][j - 1][0] + 1, d[i][j - 1][1], d[i][j - 1][2], d[i][j - 1][3] + 1)
            d[i][j] = min(diag, up, left)
    return d[n][m][1], d[n][m][2], d[n][m][3]


def language_noise_embedding(emb: torch.Tensor, nbest: Sequence[Sequence[Sequence[int]]]) -> torch.Tensor:
    """``(U, 772)`` embeddings from hypothesis sentence embeddings ``emb`` ``(U, N, 384)`` and the word lists."""
    if emb.ndim != 3 or emb.shape[0] != len(nbest):
        raise DataError(f"need (U, N, D) embeddings for {len(nbest)} N-best lists, got {tuple(emb.shape)}")
    n = emb.shape[1]
    first = (emb[:, :1] - emb[:, 1:]).mean(1)
    i, j = torch.triu_indices(n, n, 1)
    pair = (emb[:, i] - emb[:, j]).abs().mean(1)
    stats = []
    for hyps in nbest:
        best = list(hyps[0])
        counts = torch.tensor([edit_counts(best, list(h)) for h in hyps[1:]], dtype=torch.float32)
        stats.append(torch.cat([counts.mean(0) / max(len(best), 1), torch.tensor([len(best) / 6.0])]))
    return torch.cat([first, pair, torch.stack(stats)], 1)


class GERModel(nn.Module):
    """N-best ids ``(B, L)`` (+ noise ``(B, noise_dim)``) and targets ``(B, W)`` -> logits ``(B, W, V + 2)``."""

    def __init__(self, n_words: int, *, noise_dim: int = 0, d: int = 128, emb: int = 64, prefix: int = 4) -> None:
        super().__init__()
        self.n_words = n_words
        self.src_emb = nn.Embedding(n_words + 3, emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(n_words + 3, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, d // 2, batch_first=True, bidirectional=True)
        self.prefix = nn.Parameter(0.02 * torch.randn(prefix, d))
        self.noise = nn.Sequential(nn.Linear(noise_dim, d), nn.Tanh()) if noise_dim else None
        self.denoise = nn.Linear(d, prefix * d) if noise_dim else None
        self.gate = nn.Parameter(torch.zeros(prefix, d))
        self.decoder = nn.GRUCell(emb + d, d)
        self.out = nn.Linear(2 * d, n_words + 2)
        self.p_gen = nn.Linear(2 * d + emb, 1)

    def noise_code(self, noise: torch.Tensor) -> torch.Tensor:
        """The projected noise embedding ``(B, d)`` (what MINE distils and the probes read)."""
        if self.noise is None:
            raise DataError("this GER model was built without a noise embedding (noise_dim=0)")
        return self.noise(noise)

    def _memory(self, src: torch.Tensor, noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.encoder(self.src_emb(src))
        prefix = self.prefix.expand(len(src), -1, -1)
        if self.noise is not None and self.denoise is not None and noise is not None:
            z = self.denoise(self.noise_code(noise)).view_as(prefix)
            prefix = prefix - torch.tanh(self.gate) * z  # gated subtraction: "denoise" the prompt
        mask = torch.cat([torch.ones(len(src), prefix.shape[1], dtype=torch.bool), src != PAD], 1)
        return torch.cat([prefix, h], 1), mask

    def _step(
        self, y: torch.Tensor, state: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor, src: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.tgt_emb(y)
        att = (memory @ state[:, :, None]).squeeze(-1).masked_fill(~mask, -torch.inf).softmax(-1)
        ctx = (att[:, :, None] * memory).sum(1)
        state = self.decoder(torch.cat([e, ctx], -1), state)
        att = (memory @ state[:, :, None]).squeeze(-1).masked_fill(~mask, -torch.inf).softmax(-1)
        ctx = (att[:, :, None] * memory).sum(1)
        gen = self.out(torch.cat([state, ctx], -1)).softmax(-1)
        p = torch.sigmoid(self.p_gen(torch.cat([state, ctx, e], -1)))
        k = memory.shape[1] - src.shape[1]
        copy = torch.zeros_like(gen).scatter_add(1, (src - 1).clamp(min=0), att[:, k:] * (src > SEP))
        return torch.log(p * gen + (1 - p) * copy + 1e-9), state

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        memory, mask = self._memory(src, noise)
        state = memory[:, memory.shape[1] - src.shape[1] :].mean(1)
        y = torch.full((len(src),), END)  # the end token doubles as start-of-sentence
        out = []
        for t in range(tgt.shape[1]):
            logp, state = self._step(y, state, memory, mask, src)
            out.append(logp)
            y = tgt[:, t] + 1  # target ids (1 = end, 2.. words) -> shared token ids (words are 3..)
        return torch.stack(out, 1)

    @torch.no_grad()
    def generate(self, src: torch.Tensor, noise: torch.Tensor | None = None, *, max_words: int = 8) -> list[list[int]]:
        """Greedy corrected transcripts: word ids ``1..n_words`` per utterance."""
        memory, mask = self._memory(src, noise)
        state = memory[:, memory.shape[1] - src.shape[1] :].mean(1)
        y = torch.full((len(src),), END)
        words: list[list[int]] = [[] for _ in range(len(src))]
        done = torch.zeros(len(src), dtype=torch.bool)
        for _ in range(max_words + 1):
            logp, state = self._step(y, state, memory, mask, src)
            logp[:, 0] = -torch.inf
            nxt = logp.argmax(-1)
            for i in torch.nonzero(~done & (nxt > 1)).flatten().tolist():
                words[i].append(int(nxt[i]) - 1)
            done |= nxt == 1
            if bool(done.all()):
                break
            y = nxt + 1
        return words


class Mine(nn.Module):
    """Statistics network ``T(z, a)`` for the Donsker-Varadhan mutual-information lower bound."""

    def __init__(self, z_dim: int, a_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim + a_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def mi_lower_bound(self, z: torch.Tensor, a: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        joint = self.net(torch.cat([z, a], 1)).mean()
        shuffled = a[torch.randperm(len(a), generator=generator)]
        marginal = self.net(torch.cat([z, shuffled], 1)).squeeze(1)
        return joint - (torch.logsumexp(marginal, 0) - torch.log(torch.tensor(float(len(a)))))


def train_ger(
    model: GERModel,
    src: torch.Tensor,
    tgt: torch.Tensor,
    *,
    noise: torch.Tensor | None = None,
    audio: torch.Tensor | None = None,
    mine_weight: float = 0.0,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> GERModel:
    """Teacher-forced cross-entropy; with ``audio`` and ``mine_weight > 0`` also maximise MINE's bound on
    I(noise code; audio noise vector)."""
    if len(src) != len(tgt) or (noise is not None and len(noise) != len(src)):
        raise DataError("train_ger needs as many targets and noise embeddings as N-best lists")
    mine = Mine(model.prefix.shape[1], audio.shape[1]) if audio is not None and mine_weight > 0 else None
    params = list(model.parameters()) + (list(mine.parameters()) if mine is not None else [])
    opt = torch.optim.Adam(params, lr=lr)
    order, shuffle = seeded_generator(seed, 41), seeded_generator(seed, 42)
    model.train()
    with seeded_global_rng(seed):
        for _ in range(epochs):
            perm = torch.randperm(len(src), generator=order)
            for idx in perm.split(batch_size):
                nz = noise[idx] if noise is not None else None
                logp = model(src[idx], tgt[idx], nz)
                loss = F.nll_loss(logp.reshape(-1, logp.shape[-1]), tgt[idx].reshape(-1), ignore_index=PAD)
                if mine is not None and nz is not None and audio is not None:
                    loss = loss - mine_weight * mine.mi_lower_bound(model.noise_code(nz), audio[idx], shuffle)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
    return model.eval()


__all__ = ["GERModel", "Mine", "edit_counts", "language_noise_embedding", "train_ger"]
