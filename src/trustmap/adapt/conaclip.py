"""ConaCLIP: distillation over the fully-connected knowledge-interaction graph of a dual encoder
(Wang et al., ACL 2023 Industry, arXiv 2305.17652).

Four nodes: teacher image ``T_i``, teacher text ``T_t``, student image ``S_i``, student text ``S_t``
(L2-normalised ``(B, D)`` embeddings in one space). Every edge carries a loss:

* student <-> student: the contrastive task loss (symmetric CLIP InfoNCE) and the teacher's image-text
  similarity distribution distilled onto the student's (``kl``, the "logit" edge);
* intra-modal teacher -> student: ``S_i`` <- ``T_i`` and ``S_t`` <- ``T_t``;
* cross-modal teacher -> student: ``S_i`` <- ``T_t`` and ``S_t`` <- ``T_i``.

Edge loss types (:data:`EDGE_LOSSES`), for a student node ``s`` and a teacher node ``t``:
``infonce`` (``s_k`` must pick ``t_k`` among the batch's ``t``), ``mse`` (``|s_k - t_k|^2``) and ``kl``
(``KL(softmax(t'_k . t / tau) || softmax(s_k . t / tau))``, with ``t'`` the teacher node of ``s``'s own
modality). The paper keeps the best type per edge; :func:`cona_loss` takes them as options.

Students (:class:`MLPImageEncoder`, :class:`BagOfWordsTextEncoder`) are small enough to precompute an
image index: 784 -> 64 -> D and mean word embeddings (d = 64) -> D.

>>> loss = cona_loss(s_img, s_txt, t_img, t_txt, logit_scale, intra="mse", cross="infonce", logit_kd=True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

EDGE_LOSSES = ("infonce", "mse", "kl")
KD_TAU = 0.05


class MLPImageEncoder(nn.Module):
    """``(B, 1, 28, 28)`` or ``(B, 784)`` -> ``(B, dim)``: Linear 784-64, ReLU, Linear 64-dim."""

    def __init__(self, dim: int = 128, *, hidden: int = 64, in_features: int = 784) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Vocab:
    """Lower-cased word vocabulary; index 0 pads, 1 is unknown."""

    def __init__(self, texts: Sequence[str]) -> None:
        words = sorted({w for t in texts for w in self.split(t)})
        self.index = {w: i + 2 for i, w in enumerate(words)}

    @staticmethod
    def split(text: str) -> list[str]:
        return re.findall(r"[a-z0-9-]+", text.lower())

    def __len__(self) -> int:
        return len(self.index) + 2

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        rows = [[self.index.get(w, 1) for w in self.split(t)] or [1] for t in texts]
        n = max(len(r) for r in rows) if rows else 1
        return torch.tensor([r + [0] * (n - len(r)) for r in rows], dtype=torch.long)


class BagOfWordsTextEncoder(nn.Module):
    """Token ids ``(B, L)`` (0 = pad) -> mean word embedding (d = ``emb``) -> Linear -> ``(B, dim)``."""

    def __init__(self, vocab_size: int, dim: int = 128, *, emb: int = 64) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb, padding_idx=0)
        self.proj = nn.Linear(emb, dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        m = (ids > 0).float().unsqueeze(-1)
        return self.proj((self.emb(ids) * m).sum(1) / m.sum(1).clamp(min=1.0))


def clip_loss(img: torch.Tensor, txt: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric CLIP InfoNCE over normalised ``img``/``txt`` with ``exp(logit_scale)`` as inverse temperature."""
    logits = logit_scale.exp() * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T
    target = torch.arange(len(img))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def edge_loss(kind: str, s: torch.Tensor, t: torch.Tensor, t_own: torch.Tensor, *, tau: float = KD_TAU) -> torch.Tensor:
    """One teacher -> student edge: student node ``s``, teacher node ``t``; ``t_own`` is the teacher node of
    ``s``'s modality (the ``kl`` target). All inputs are normalised here."""
    s, t, t_own = F.normalize(s, dim=-1), F.normalize(t, dim=-1), F.normalize(t_own, dim=-1)
    if kind == "infonce":
        return F.cross_entropy(s @ t.T / tau, torch.arange(len(s)))
    if kind == "mse":
        return ((s - t) ** 2).sum(-1).mean()
    if kind == "kl":
        target = F.log_softmax(t_own @ t.T / tau, -1)
        return F.kl_div(F.log_softmax(s @ t.T / tau, -1), target, log_target=True, reduction="batchmean")
    raise ValueError(f"edge loss must be one of {', '.join(EDGE_LOSSES)}, got {kind!r}")


def logit_kd(
    s_img: torch.Tensor, s_txt: torch.Tensor, t_img: torch.Tensor, t_txt: torch.Tensor, *, tau: float = KD_TAU
) -> torch.Tensor:
    """The student <-> student edge: teacher image-text similarity distributions (both directions) distilled."""
    si, st = F.normalize(s_img, dim=-1), F.normalize(s_txt, dim=-1)
    ti, tt = F.normalize(t_img, dim=-1), F.normalize(t_txt, dim=-1)
    s_logits, t_logits = si @ st.T / tau, ti @ tt.T / tau
    kl = 0.0
    for s_l, t_l in ((s_logits, t_logits), (s_logits.T, t_logits.T)):
        kl = kl + F.kl_div(F.log_softmax(s_l, -1), F.log_softmax(t_l, -1), log_target=True, reduction="batchmean")
    return kl / 2


def cona_loss(
    s_img: torch.Tensor,
    s_txt: torch.Tensor,
    t_img: torch.Tensor,
    t_txt: torch.Tensor,
    logit_scale: torch.Tensor,
    *,
    intra: str | None = None,
    cross: str | None = None,
    logit: bool = False,
) -> torch.Tensor:
    """Task loss plus the chosen edges: ``intra`` (same-modality), ``cross`` (cross-modal) edge types or
    ``None`` for no such edge, and ``logit`` for the student <-> student distribution edge. With every edge
    on this is ConaCLIP; ``intra="mse"`` alone is feature KD; ``logit=True`` alone is logit KD."""
    loss = clip_loss(s_img, s_txt, logit_scale)
    if intra is not None:
        loss = loss + edge_loss(intra, s_img, t_img, t_img) + edge_loss(intra, s_txt, t_txt, t_txt)
    if cross is not None:
        loss = loss + edge_loss(cross, s_img, t_txt, t_img) + edge_loss(cross, s_txt, t_img, t_txt)
    if logit:
        loss = loss + logit_kd(s_img, s_txt, t_img, t_txt)
    return loss


def recall_at(
    txt: torch.Tensor, img: torch.Tensor, txt_key: torch.Tensor, img_key: torch.Tensor, ks: Sequence[int] = (1, 5)
) -> dict[int, float]:
    """Text -> image Recall@k: a hit when any of the top ``k`` images has the caption's key (e.g. tuple id)."""
    sim = F.normalize(txt, dim=-1) @ F.normalize(img, dim=-1).T
    top = sim.topk(max(ks), dim=1).indices
    match = img_key[top] == txt_key[:, None]
    return {k: float(match[:, :k].any(1).float().mean()) for k in ks}


__all__ = [
    "EDGE_LOSSES",
    "BagOfWordsTextEncoder",
    "MLPImageEncoder",
    "Vocab",
    "clip_loss",
    "cona_loss",
    "edge_loss",
    "logit_kd",
    "recall_at",
]
