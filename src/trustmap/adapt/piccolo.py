"""Piccolo2's multi-task hybrid loss with Matryoshka representation learning (Huang et al., arXiv 2405.06932).

Each batch holds one task and gets the loss that matches it (``piccolo/criteria.py`` in the authors'
repository, read, not copied):

* retrieval -> :func:`infonce`: query vs its positive, the other queries' positives and mined hard
  negatives, scale ``1/tau`` (tau = 0.05, *ours*);
* graded pairs (STS) -> :func:`cosent`: ``log(1 + sum_{s_ij > s_kl} exp(lam (cos_kl - cos_ij)))``, lam = 20,
  which keeps the grades instead of a positive/negative split;
* classification -> :func:`label_loss`: each text against its own label text and the task's other label
  texts only (no in-batch negatives, so no false negatives from same-label neighbours).

:func:`matryoshka` applies a loss to L2-normalised prefixes of the embedding (e.g. dims 32, 64, 128, 384)
and averages them, so that truncated vectors stay usable. :class:`TopEncoder` is the trainable part:
MiniLM's top layers on hidden states cached below them (:func:`trustmap.adapt.cache.cache_lower`).

Shapes: embeddings ``(B, D)``; ``cosent(a, b, grades (B,))``; ``label_loss(x (B, D), labels_emb (C, D),
y (B,))``; ``infonce(q (B, D), p (B, D), negatives (M, D) | None)``.

>>> loss = matryoshka(lambda d: cosent(a[:, :d], b[:, :d], grades), dims=(32, 64, 128, 384))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.adapt.cache import _additive

TAU = 0.05
COSENT_LAMBDA = 20.0
MRL_DIMS = (32, 64, 128, 384)


def _norm(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)


def infonce(
    q: torch.Tensor, p: torch.Tensor, negatives: torch.Tensor | None = None, *, tau: float = TAU
) -> torch.Tensor:
    """In-batch InfoNCE: row ``i`` of ``q`` should match row ``i`` of ``p`` among all of ``p`` and ``negatives``."""
    cands = p if negatives is None or len(negatives) == 0 else torch.cat([p, negatives])
    logits = _norm(q) @ _norm(cands).T / tau
    return F.cross_entropy(logits, torch.arange(len(q)))


def cosent(a: torch.Tensor, b: torch.Tensor, grades: torch.Tensor, *, lam: float = COSENT_LAMBDA) -> torch.Tensor:
    """CoSENT over pairs ``(a_i, b_i)`` with graded labels: every pair graded higher should have the
    higher cosine."""
    cos = (_norm(a) * _norm(b)).sum(-1) * lam
    diff = cos[None, :] - cos[:, None]  # [i, j] = cos_j - cos_i, penalised when grade_i > grade_j
    valid = grades[:, None] > grades[None, :]
    diff = diff.masked_fill(~valid, -1e12)
    return torch.logsumexp(torch.cat([torch.zeros(1), diff.flatten()]), 0)


def label_loss(x: torch.Tensor, label_emb: torch.Tensor, y: torch.Tensor, *, tau: float = TAU) -> torch.Tensor:
    """Classification as retrieval of the own label text among the task's label texts only."""
    return F.cross_entropy(_norm(x) @ _norm(label_emb).T / tau, y)


def matryoshka(loss: Callable[[int], torch.Tensor], *, dims: Sequence[int] = MRL_DIMS) -> torch.Tensor:
    """The mean of ``loss(d)`` over nested prefix sizes ``dims`` (``loss`` slices its embeddings to ``d``)."""
    return torch.stack([loss(int(d)) for d in dims]).mean()


class TopEncoder(nn.Module):
    """MiniLM's top ``keep_top`` layers + mean pooling on cached inputs ``(B, L, d + 1)`` -> ``(B, d)``."""

    def __init__(self, encoder: nn.Module, *, keep_top: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(list(encoder.encoder.layer[-keep_top:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x[..., -1]
        length = int(torch.nonzero(mask.any(0)).max()) + 1 if mask.any() else 1
        h, mask = x[:, :length, :-1].float(), mask[:, :length]
        for layer in self.layers:
            h = layer(h, _additive(mask))
            h = h[0] if isinstance(h, tuple) else h
        m = mask.unsqueeze(-1)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


__all__ = ["COSENT_LAMBDA", "MRL_DIMS", "TAU", "TopEncoder", "cosent", "infonce", "label_loss", "matryoshka"]
