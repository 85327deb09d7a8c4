"""Task heads on the pretrained MiniLM encoder: token tagging, span pointers and sentence embeddings.

HugNLP's model layer (Wang et al., "HugNLP: A Unified and Comprehensive Library for Natural Language
Processing", arXiv 2302.14286) puts one head per task type on a shared PLM backbone. Here each head is an
ordinary entry of the architecture registry (``trustmap.models.architectures.ARCHS``), tagged with its
``task`` and ``backbone`` so that :mod:`trustmap.text` finds the head for a task; sequence
classification is the existing ``minilm`` entry.

=================== ================= =======================================================
architecture        task              output of ``forward(ids (N, L) int64)``
=================== ================= =======================================================
``minilm``          ``classification`` logits ``(N, classes)`` (:mod:`trustmap.models.text`)
``minilm-tagger``   ``tagging``       logits ``(N, L', tags)`` per word-piece
``minilm-span``     ``span``          start/end logits ``(N, L', 2)``; padding gets -1e4
``minilm-embedder`` ``embedding``     L2-normalised mean-pooled embeddings ``(N, 384)``
=================== ================= =======================================================

``L'`` is the longest real row of the batch (padding columns are trimmed). Every model also accepts
cached hidden states ``(N, L, 384 + 1)`` float32 from :func:`trustmap.adapt.cache.cache_lower` (mask as
the last channel) when its ``cached_top`` attribute says how many top layers remain to run.

>>> tagger = build_model("minilm-tagger", input_shape=(), num_classes=3)
>>> tagger(torch.from_numpy(ids)).shape          # (N, L', 3)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.errors import ModelError
from trustmap.models.architectures import register_arch
from trustmap.models.text import MAX_POSITIONS, MiniLMClassifier, load_encoder, load_tokenizer

NEG = -1e4


def hidden_states(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Last hidden states ``(N, L', d)`` and mask ``(N, L')`` of a MiniLM model for ids or cached states."""
    from trustmap.adapt.cache import _additive

    if x.is_floating_point() and x.ndim == 3:
        keep = int(getattr(model, "cached_top", 0))
        if keep < 1:
            raise ModelError("cached hidden states need model.cached_top (the number of top layers to run)")
        mask = x[..., -1]
        length = int(torch.nonzero(mask.any(0)).max()) + 1 if mask.any() else 1
        h, mask = x[:, :length, :-1], mask[:, :length]
        for layer in model.encoder.encoder.layer[-keep:]:
            h = layer(h, _additive(mask))
            h = h[0] if isinstance(h, tuple) else h
        return h, mask
    if x.ndim != 2 or x.is_floating_point():
        raise ModelError(f"give token ids (N, L) or cached states (N, L, d + 1), got {x.dtype} {tuple(x.shape)}")
    ids = x.long()
    mask = (ids != model.pad_id).long()
    length = int(torch.nonzero(mask.any(0)).max()) + 1 if mask.any() else 1
    ids, mask = ids[:, :length], mask[:, :length]
    return model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask.float()


def mean_pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


class MiniLMTask(nn.Module):
    """MiniLM encoder + one task head (``tagging``, ``span`` or ``embedding``); see the module docstring."""

    TASKS = ("tagging", "span", "embedding")

    def __init__(self, encoder: nn.Module, tokenizer: Any, task: str, num_labels: int, *, dropout: float = 0.1):
        super().__init__()
        if task not in self.TASKS:
            raise ModelError(f"task must be one of {', '.join(self.TASKS)}, got {task!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer  # not a module: never part of the state dict
        self.task = task
        self.pad_id = int(tokenizer.pad_token_id)
        self.cached_top = 0
        self.dropout = nn.Dropout(dropout)
        d = encoder.config.hidden_size
        self.head: nn.Module = (
            nn.Linear(d, 2 if task == "span" else num_labels) if task != "embedding" else nn.Identity()
        )

    def from_hidden(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.task == "embedding":
            return F.normalize(mean_pool(h, mask), dim=-1)
        out = self.head(self.dropout(h))
        if self.task == "span":
            out = out.masked_fill(mask.unsqueeze(-1) == 0, NEG)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_hidden(*hidden_states(self, x))


def _build(task: str, num_classes: int, input_shape: tuple[int, ...], dropout: float, max_len: int) -> MiniLMTask:
    if not 2 <= int(max_len) <= MAX_POSITIONS:
        raise ModelError(f"max_len must be between 2 and {MAX_POSITIONS}, got {max_len}")
    if tuple(input_shape):
        raise ModelError(f"minilm heads need text inputs, got input shape {tuple(input_shape)}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ModelError(f"dropout must be in [0, 1), got {dropout}")
    if task == "tagging" and num_classes < 2:
        raise ModelError(f"a tagger needs at least 2 tags, got {num_classes}")
    return MiniLMTask(load_encoder(), load_tokenizer(), task, int(num_classes), dropout=float(dropout))


@register_arch(
    "minilm-tagger", kinds=("text",), task="tagging", backbone="minilm", summary="MiniLM + per-word-piece tag head"
)
def minilm_tagger(
    *, input_shape: tuple[int, ...] = (), num_classes: int, dropout: float = 0.1, max_len: int = 64
) -> MiniLMTask:
    return _build("tagging", num_classes, input_shape, dropout, max_len)


@register_arch(
    "minilm-span", kinds=("text",), task="span", backbone="minilm", summary="MiniLM + start/end pointer head"
)
def minilm_span(
    *, input_shape: tuple[int, ...] = (), num_classes: int = 2, dropout: float = 0.1, max_len: int = 64
) -> MiniLMTask:
    return _build("span", num_classes, input_shape, dropout, max_len)


@register_arch(
    "minilm-embedder",
    kinds=("text",),
    task="embedding",
    backbone="minilm",
    summary="MiniLM + mean pooling, L2-normalised (retrieval)",
)
def minilm_embedder(
    *, input_shape: tuple[int, ...] = (), num_classes: int = 0, dropout: float = 0.0, max_len: int = 64
) -> MiniLMTask:
    return _build("embedding", num_classes, input_shape, dropout, max_len)


def classifier_from_hidden(model: MiniLMClassifier, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The ``minilm`` classifier's head on hidden states (what its ``forward`` does after the encoder)."""
    return model.head(model.dropout(mean_pool(h, mask)))


__all__ = ["MAX_POSITIONS", "MiniLMTask", "classifier_from_hidden", "hidden_states", "mean_pool"]
