"""Conditional-modelling video summarisation, after "Conditional Modeling Based Automatic Video
Summarization" (arXiv 2311.12159; it extends Causalainer, arXiv 2305.00455), and its baselines.

The paper casts summarisation as conditional generation: a latent variable stands in for the unobserved
confounder behind what people find important, learned CEVAE-style with a probabilistic encoder and
decoder; *helper distributions* (auxiliary predictors of variables observed in training but not at test
time) stand in for them at inference; a *conditional attention* module lets extra (text) input help
without hurting; frame importance feeds a knapsack summary of 15% of the video. The exact variable graph
and losses are not published in recoverable form, so this is a low-fidelity version *(ours)*:

- :class:`ConditionalSummariser`: frame encoder (linear + one self-attention layer, residual) ``h_t``;
  helper ``q(s_t | h_t)`` predicts the annotator score; posterior ``q(z_t | h_t, s_t)`` uses the true score in
  training and the helper's prediction at test; conditional prior ``p(z_t | h_t)``; decoders ``p(x_t | z_t)``
  (reconstruction) and ``p(s_t | z_t, h_t)`` (the score); hidden width 55 matches the baseline's
  parameter count. Loss: score MSE + helper MSE + ``beta`` KL +
  ``gamma`` reconstruction MSE. The text vector enters through a gate ``g = sigmoid(w . [mean_t h_t,
  W text])`` that scales its projection before it is added to ``h`` (the conditional attention).
- :class:`AttentionRegressor` (baseline, methods.md): the same frame encoder and a score head, with the
  text vector concatenated to every frame when given.
- :func:`uniform_summary` and :func:`cluster_summary`: untrained baselines (evenly spaced windows; the
  shots holding the k-means medoids).

Shapes: ``x`` ``(B, T, D)``, ``text`` ``(B, 16)``, scores ``(B, T)`` in [0, 1].

>>> model = ConditionalSummariser(dim=64)
>>> loss = model.loss(x, scores, text)
>>> model.predict(x, text).shape  # (B, T)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trustmap.data.videos import knapsack, summary_mask
from trustmap.errors import TrustmapError

TEXT_DIM = 16


class _Encoder(nn.Module):
    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.inp = nn.Linear(d_in, hidden)
        self.att = nn.MultiheadAttention(hidden, 1, batch_first=True)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        return self.norm(h + self.att(h, h, h, need_weights=False)[0])


class AttentionRegressor(nn.Module):
    """Baseline: attention frame encoder + score head; ``use_text`` concatenates the text vector."""

    def __init__(self, *, dim: int = 64, hidden: int = 64, use_text: bool = False) -> None:
        super().__init__()
        self.use_text = use_text
        self.enc = _Encoder(dim + (TEXT_DIM if use_text else 0), hidden)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        if self.use_text:
            if text is None:
                raise TrustmapError("this regressor was built with use_text=True: pass the text vectors")
            x = torch.cat([x, text[:, None].expand(-1, x.shape[1], -1)], dim=2)
        return torch.sigmoid(self.head(self.enc(x))).squeeze(-1)

    def loss(self, x: torch.Tensor, s: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        return torch.mean((self(x, text) - s) ** 2)

    def predict(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        return self(x, text)


class ConditionalSummariser(nn.Module):
    """CEVAE-style latent-variable summariser with a helper score predictor and gated text input."""

    def __init__(
        self,
        *,
        dim: int = 64,
        hidden: int = 55,
        z_dim: int = 8,
        use_text: bool = False,
        beta: float = 0.1,
        gamma: float = 0.1,
    ) -> None:
        super().__init__()
        self.use_text, self.beta, self.gamma = use_text, beta, gamma
        self.enc = _Encoder(dim, hidden)
        self.helper = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.post = nn.Linear(hidden + 1, 2 * z_dim)
        self.prior = nn.Linear(hidden, 2 * z_dim)
        self.dec_x = nn.Linear(z_dim, dim)
        self.dec_s = nn.Sequential(nn.Linear(z_dim + hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        if use_text:
            self.text_proj = nn.Linear(TEXT_DIM, hidden)
            self.gate = nn.Linear(2 * hidden, 1)

    def _hidden(self, x: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        h = self.enc(x)
        if self.use_text:
            if text is None:
                raise TrustmapError("this summariser was built with use_text=True: pass the text vectors")
            t = self.text_proj(text)
            g = torch.sigmoid(self.gate(torch.cat([h.mean(1), t], dim=1)))  # (B, 1)
            h = h + (g * t)[:, None]
        return h

    def _score(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec_s(torch.cat([z, h], dim=2))).squeeze(-1)

    def loss(self, x: torch.Tensor, s: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        h = self._hidden(x, text)
        s_help = torch.sigmoid(self.helper(h)).squeeze(-1)
        mu, logvar = self.post(torch.cat([h, s[..., None]], dim=2)).chunk(2, dim=2)
        pmu, plogvar = self.prior(h).chunk(2, dim=2)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        kl = 0.5 * (plogvar - logvar + (logvar.exp() + (mu - pmu) ** 2) / plogvar.exp() - 1).sum(-1).mean()
        recon = torch.mean((self.dec_x(z) - x) ** 2)
        return (
            torch.mean((self._score(z, h) - s) ** 2)
            + torch.mean((s_help - s) ** 2)
            + self.beta * kl
            + self.gamma * recon
        )

    def predict(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """Scores at test time: the helper's score stands in for the unobserved one; z = posterior mean."""
        h = self._hidden(x, text)
        s_help = torch.sigmoid(self.helper(h))
        mu, _ = self.post(torch.cat([h, s_help], dim=2)).chunk(2, dim=2)
        return self._score(mu, h)


def train_summariser(
    model: nn.Module,
    x: np.ndarray,
    s: np.ndarray,
    text: np.ndarray | None,
    *,
    epochs: int,
    seed: int,
    lr: float = 2e-3,
    batch: int = 16,
) -> nn.Module:
    """Adam on ``model.loss`` over shuffled video batches (seeded)."""
    g = torch.Generator().manual_seed(seed)
    xt, st = torch.from_numpy(x), torch.from_numpy(s)
    tt = torch.from_numpy(text) if text is not None else None
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for _ in range(epochs):
            for idx in torch.randperm(len(xt), generator=g).split(batch):
                opt.zero_grad()
                model.loss(xt[idx], st[idx], tt[idx] if tt is not None else None).backward()
                opt.step()
    return model.eval()


def predict_scores(model: nn.Module, x: np.ndarray, text: np.ndarray | None = None) -> np.ndarray:
    with torch.no_grad():
        return model.predict(torch.from_numpy(x), torch.from_numpy(text) if text is not None else None).numpy()


def uniform_summary(shot: np.ndarray, *, budget: float = 0.15, windows: int = 6) -> np.ndarray:
    """``windows`` evenly spaced windows covering ``budget`` of the frames ``(T,)``."""
    t = len(shot)
    width = max(1, int(budget * t) // windows)
    mask = np.zeros(t, bool)
    for c in np.linspace(0, t, windows + 2)[1:-1].astype(int):
        mask[max(0, c - width // 2) : max(0, c - width // 2) + width] = True
    return mask


def kmeans(x: np.ndarray, k: int, *, iters: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding (numpy, seeded): ``(labels (N,), centres (k, D))``."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))])
    c = np.asarray(centres, dtype=np.float64)
    for _ in range(iters):
        labels = ((x[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.stack([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
    return ((x[:, None] - c[None]) ** 2).sum(-1).argmin(1), c


def cluster_summary(x: np.ndarray, shot: np.ndarray, *, k: int = 5, budget: float = 0.15, seed: int = 0) -> np.ndarray:
    """Shots holding the medoid frame of each k-means cluster, valued by cluster size, knapsack to ``budget``."""
    labels, centres = kmeans(np.asarray(x, np.float64), k, seed=seed)
    ids = np.unique(shot)
    value = np.zeros(len(ids))
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            continue
        medoid = members[np.argmin(np.linalg.norm(x[members] - centres[c], axis=1))]
        value[np.searchsorted(ids, shot[medoid])] += len(members)
    lengths = np.array([np.sum(shot == s) for s in ids])
    return np.isin(shot, ids[knapsack(value, lengths, int(budget * len(shot)))])


__all__ = [
    "AttentionRegressor",
    "ConditionalSummariser",
    "cluster_summary",
    "kmeans",
    "predict_scores",
    "summary_mask",
    "train_summariser",
    "uniform_summary",
]
