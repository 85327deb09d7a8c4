"""The MiniLM classifier that every adaptation starts from (``trustmap adapt`` and the adaptation repros).

* :func:`fresh_minilm`: the pretrained MiniLM classifier with a head drawn from ``seed``; the encoder is
  loaded from disk once per process and deep-copied, so every method starts from identical weights.
* :func:`fresh_head`: a linear head initialised like ``nn.Linear`` from a private generator.
* :func:`encode`: a text split tokenized to MiniLM's ids (``max_len`` tokens).

>>> model = fresh_minilm(seed=0, max_len=64)
>>> train = encode(split, max_len=64)
"""

from __future__ import annotations

import copy
import functools

import torch
from torch import nn

from trustmap.data.dataset import Split
from trustmap.utils.seed import torch_generator


@functools.lru_cache(maxsize=2)
def _base(max_len: int) -> nn.Module:
    from trustmap.models.architectures import build_model

    return build_model("minilm", input_shape=(), num_classes=2, max_len=max_len)


def fresh_head(*, seed: int, in_features: int = 384, num_classes: int = 2) -> nn.Linear:
    """A linear head initialised like ``nn.Linear`` (uniform +-1/sqrt(in)) from a private generator."""
    gen = torch_generator(seed)
    head = nn.Linear(in_features, num_classes)
    bound = 1.0 / in_features**0.5
    with torch.no_grad():
        head.weight.uniform_(-bound, bound, generator=gen)
        head.bias.uniform_(-bound, bound, generator=gen)
    return head


def fresh_minilm(*, seed: int, max_len: int = 64, num_classes: int = 2) -> nn.Module:
    """A deep copy of the pretrained MiniLM classifier with a new head drawn from ``seed``."""
    model = copy.deepcopy(_base(max_len))
    model.head = fresh_head(seed=seed, in_features=model.head.in_features, num_classes=num_classes)
    for p in model.parameters():
        p.requires_grad_(True)
    return model.train()


def encode(split: Split, *, max_len: int = 64) -> Split:
    """``split`` with its texts replaced by MiniLM token ids (``(N, max_len)`` int64)."""
    from trustmap.models.text import encode_split

    return encode_split(_base(max_len), split)


__all__ = ["encode", "fresh_head", "fresh_minilm"]
