"""A tiny randomly initialised BERT classifier (2 layers, hidden 32) for fast mechanics tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trustmap.utils.seed import seeded_global_rng, torch_generator


class TinyClassifier(nn.Module):
    """BERT encoder + mean pooling + ``head``, taking token ids ``(N, L)`` with pad id 0 (like MiniLM's)."""

    pad_id = 0

    def __init__(
        self, *, hidden: int = 32, layers: int = 2, attn: str = "sdpa", seed: int = 0, act: str = "gelu"
    ) -> None:
        from transformers import BertConfig, BertModel

        super().__init__()
        cfg = BertConfig(
            vocab_size=60,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=4,
            intermediate_size=2 * hidden,
            max_position_embeddings=32,
            attn_implementation=attn,
            hidden_act=act,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
        with seeded_global_rng(seed):  # initial weights from ``seed``; the caller's RNG is left as it was
            self.encoder = BertModel(cfg, add_pooling_layer=False)
            self.head = nn.Linear(hidden, 2)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != self.pad_id).long()
        h = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))


@pytest.fixture
def tiny() -> TinyClassifier:
    return TinyClassifier()


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch_generator(0)
    ids = torch.randint(1, 60, (8, 10), generator=g)
    ids[0, 6:] = 0
    ids[3, 4:] = 0
    return ids, torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
