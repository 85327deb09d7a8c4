"""APT: Adaptive Prefix Tuning (Zhang et al., ACL 2023, arXiv 2305.15212).

APT adds two controls to P-Tuning v2's deep prefixes ``P^i (p, d)`` (see :mod:`trustmap.adapt.prefix`):

* a **token-level gate** per layer, ``alpha^i = sigmoid(pool(h^{i-1}) W^i)`` with ``W^i (d, p)``, that scores
  each prefix token from the previous layer's hidden states ``h^{i-1} (B, L, d)``. Our reading (the paper
  leaves the pooling open): mean-pool over non-pad tokens, no bias. ``alpha (B, p)``.
* a **layer-level scale** ``lambda^i`` (a learnable scalar, initialised to 1) balancing prefix and input.

Effective prefix for keys and values: ``lambda^i * alpha^i[..., None] * P^i`` -> ``(B, p, d)``.
At ``d = 384``, ``p = 8`` the gates add ``d * p + 1`` parameters per layer: APT-8 has 55,302 prompt
parameters on MiniLM, versus 55,296 for P-Tuning v2 with length 12. ``W`` starts at 0 (gates 0.5).

>>> apply_apt(model.encoder, length=8, seed=0)
>>> layer_scales(model)        # the learned lambda per layer, in layer order
"""

from __future__ import annotations

import torch
from torch import nn

from trustmap.adapt.prefix import PrefixSelfAttention, apply_prefix_modules


class AdaptivePrefixSelfAttention(PrefixSelfAttention):
    """P-Tuning v2 prefix with APT's token gate ``W (d, p)`` and layer scale ``scale ()``."""

    def __init__(
        self, attn: nn.Module, *, length: int = 8, generator: torch.Generator | None = None, init_std: float = 1.0
    ) -> None:
        super().__init__(attn, length=length, generator=generator, init_std=init_std)
        d = self.prefix_key.shape[1]
        self.gate = nn.Parameter(torch.zeros(d, length))
        self.scale = nn.Parameter(torch.ones(()))
        self.last_gate: torch.Tensor | None = None  # (B, p) from the latest forward, for inspection

    def gates(self, hidden: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Token gates ``alpha (B, p)`` from mean-pooled hidden states over the non-pad positions."""
        m = valid.to(hidden.dtype).unsqueeze(-1)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.sigmoid(pooled @ self.gate)

    def prefix(self, hidden: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.gates(hidden, valid)
        self.last_gate = alpha.detach()
        w = (self.scale * alpha).unsqueeze(-1)  # (B, p, 1)
        return w * self.prefix_key, w * self.prefix_value


def apply_apt(model: nn.Module, *, length: int = 8, seed: int = 0, init_std: float = 1.0) -> list[str]:
    """Give every self-attention layer an APT prefix (gated, scaled); return the wrapped module names."""
    return apply_prefix_modules(
        model,
        lambda attn, gen: AdaptivePrefixSelfAttention(attn, length=length, generator=gen, init_std=init_std),
        seed=seed,
    )


def apt_modules(model: nn.Module) -> list[AdaptivePrefixSelfAttention]:
    return [m for m in model.modules() if isinstance(m, AdaptivePrefixSelfAttention)]


def layer_scales(model: nn.Module) -> list[float]:
    """The learned layer scales ``lambda^i``, in layer order."""
    return [float(m.scale.detach()) for m in apt_modules(model)]


__all__ = ["AdaptivePrefixSelfAttention", "apply_apt", "apt_modules", "layer_scales"]
