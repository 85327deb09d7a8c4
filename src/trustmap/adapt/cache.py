"""Layer caching: run MiniLM's frozen lower layers once and train only the top ones (ours, for CPU budgets).

``cache_lower(model, ids, keep_top=1)`` returns ``(N, L, d + 1)`` float32: the hidden states after the
embeddings and the lowest ``layers - keep_top`` transformer layers, with the attention mask (1 real,
0 pad) as the last channel, so a cached split is an ordinary numeric :class:`Split`.
``TopLayers(model, keep_top=1)`` consumes it: the top layers (shared with ``model``, so LoRA applied to
``model`` is seen here), mean pooling over real tokens and ``model.head``.

>>> feats = cache_lower(model, encode_split(model, ds.train).x, keep_top=1)
>>> top = TopLayers(model, keep_top=1); top(torch.from_numpy(feats[:16]))     # logits (16, 2)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _additive(mask: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` 1/0 mask -> additive ``(B, 1, 1, L)``, accepted by eager and SDPA BERT attention."""
    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


@torch.no_grad()
def cache_lower(model: nn.Module, ids: np.ndarray, *, keep_top: int = 1, batch_size: int = 128) -> np.ndarray:
    """Hidden states below the top ``keep_top`` layers, plus the mask channel; ``(N, L, d + 1)`` float32."""
    enc = model.encoder
    layers = enc.encoder.layer
    if not 1 <= keep_top <= len(layers):
        raise ValueError(f"keep_top must be between 1 and {len(layers)}, got {keep_top}")
    was_training = model.training
    model.eval()
    out = []
    t = torch.from_numpy(np.ascontiguousarray(ids))
    for i in range(0, len(t), batch_size):
        b = t[i : i + batch_size]
        mask = (b != model.pad_id).long()
        h = enc.embeddings(input_ids=b)
        for layer in layers[: len(layers) - keep_top]:
            h = layer(h, _additive(mask))
        out.append(torch.cat([h, mask.unsqueeze(-1).float()], dim=-1))
    model.train(was_training)
    return torch.cat(out).numpy()


class TopLayers(nn.Module):
    """The top ``keep_top`` layers of a MiniLM classifier + mean pooling + its head, on cached inputs."""

    def __init__(self, model: nn.Module, *, keep_top: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(list(model.encoder.encoder.layer[-keep_top:]))
        self.dropout = model.dropout
        self.head = model.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x[..., -1]
        length = int(torch.nonzero(mask.any(0)).max()) + 1 if mask.any() else 1
        h, mask = x[:, :length, :-1], mask[:, :length]
        for layer in self.layers:
            h = layer(h, _additive(mask))
        m = mask.unsqueeze(-1)
        return self.head(self.dropout((h * m).sum(1) / m.sum(1).clamp(min=1.0)))


__all__ = ["TopLayers", "cache_lower"]
