"""Deep prefix tuning in the P-Tuning v2 style (Liu et al., arXiv 2110.07602), the baseline of APT.

Every self-attention layer ``i`` gets ``p`` trainable key and value pseudo-tokens ``P_k^i, P_v^i (p, d)``
that are prepended to the layer's keys and values; queries are unchanged, so the output keeps the input
length. The pretrained model stays frozen; only prefixes (and the task head) train.

Shapes, per layer: hidden ``h (B, L, d)``, queries ``(B, heads, L, d/heads)``, keys and values
``(B, heads, p + L, d/heads)``; the attention mask gains ``p`` always-visible columns on the left.

We wrap the self-attention modules directly instead of passing ``past_key_values`` (whose behaviour in
BERT encoders changed across transformers versions). Any BERT-family self-attention works: a module
with ``query``/``key``/``value`` ``nn.Linear`` children and ``num_attention_heads``. Masks may arrive
as ``None``, boolean (True = attend, SDPA) or additive float (eager); all three are handled.

Prefix entries start as N(0, 1), like P-Tuning v2's ``nn.Embedding`` (no reparameterisation MLP).

>>> apply_prefix(model.encoder, length=8, seed=0)     # 2 * 8 * 384 * 6 = 36,864 parameters on MiniLM
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.adapt.lora import replace_module
from trustmap.utils.seed import torch_generator


def is_self_attention(module: nn.Module) -> bool:
    return all(isinstance(getattr(module, k, None), nn.Linear) for k in ("query", "key", "value")) and hasattr(
        module, "num_attention_heads"
    )


def additive_mask(mask: torch.Tensor | None, batch: int, length: int, dtype: torch.dtype) -> torch.Tensor:
    """Any incoming mask as an additive float mask ``(B, 1, Lq or 1, Lk)`` (0 attend, -inf-like ignore)."""
    if mask is None:
        return torch.zeros(batch, 1, 1, length, dtype=dtype)
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, torch.finfo(dtype).min)
    return mask.to(dtype)


def key_padding(mask: torch.Tensor | None, batch: int, length: int) -> torch.Tensor:
    """A ``(B, L)`` float mask of real (1) versus padded (0) key positions, read from any mask format."""
    if mask is None:
        return torch.ones(batch, length)
    row = mask[:, 0, 0, :]
    return row.float() if mask.dtype == torch.bool else (row > torch.finfo(row.dtype).min / 2).float()


class PrefixSelfAttention(nn.Module):
    """A frozen self-attention module with ``length`` trainable key/value prefix tokens."""

    def __init__(
        self, attn: nn.Module, *, length: int = 8, generator: torch.Generator | None = None, init_std: float = 1.0
    ) -> None:
        super().__init__()
        if not is_self_attention(attn):
            raise ValueError(f"{type(attn).__name__} is not a BERT-style self-attention (query/key/value)")
        if length < 1:
            raise ValueError(f"prefix length must be >= 1, got {length}")
        self.attn = attn
        for p in attn.parameters():
            p.requires_grad_(False)
        self.heads = int(attn.num_attention_heads)
        d = attn.query.out_features
        self.head_dim = d // self.heads
        self.length = int(length)
        self.prefix_key = nn.Parameter(torch.randn(length, d, generator=generator) * init_std)
        self.prefix_value = nn.Parameter(torch.randn(length, d, generator=generator) * init_std)

    def prefix(self, hidden: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Effective prefixes ``(B, p, d)`` for keys and values; APT overrides this."""
        b = hidden.shape[0]
        return self.prefix_key.expand(b, -1, -1), self.prefix_value.expand(b, -1, -1)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, None]:
        b, n, _ = hidden_states.shape
        valid = key_padding(attention_mask, b, n)
        pk, pv = self.prefix(hidden_states, valid)
        q = self._split(self.attn.query(hidden_states))
        k = self._split(torch.cat([pk, self.attn.key(hidden_states)], dim=1))
        v = self._split(torch.cat([pv, self.attn.value(hidden_states)], dim=1))
        mask = additive_mask(attention_mask, b, n, q.dtype)
        mask = torch.cat([torch.zeros(*mask.shape[:3], self.length, dtype=mask.dtype), mask], dim=-1)
        p_drop = self.attn.dropout.p if self.training and hasattr(self.attn, "dropout") else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p_drop)
        return out.transpose(1, 2).reshape(b, n, -1), None


def apply_prefix_modules(
    model: nn.Module, factory: Callable[[nn.Module, torch.Generator], nn.Module], *, seed: int
) -> list[str]:
    names = [n for n, m in model.named_modules() if is_self_attention(m)]
    if not names:
        raise ValueError(f"no BERT-style self-attention module found in {type(model).__name__}")
    gen = torch_generator(seed)
    for name in names:
        replace_module(model, name, factory(model.get_submodule(name), gen))
    return names


def apply_prefix(model: nn.Module, *, length: int = 8, seed: int = 0, init_std: float = 1.0) -> list[str]:
    """Give every self-attention layer of ``model`` a P-Tuning v2 deep prefix; return the wrapped names."""
    return apply_prefix_modules(
        model, lambda attn, gen: PrefixSelfAttention(attn, length=length, generator=gen, init_std=init_std), seed=seed
    )


def prefix_modules(model: nn.Module) -> list[PrefixSelfAttention]:
    return [m for m in model.modules() if isinstance(m, PrefixSelfAttention)]


__all__ = ["PrefixSelfAttention", "additive_mask", "apply_prefix", "is_self_attention", "key_padding", "prefix_modules"]
