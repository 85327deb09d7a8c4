"""LoRA-SP: randomised half-selective freezing of the LoRA factors (arXiv 2403.08822).

LoRA-SP keeps LoRA's update ``(alpha / r) B A`` but chooses, once and at random, which half of the
entries of ``A (r, in)`` and ``B (out, r)`` may change; the other half stays frozen at its initial value
(so frozen entries of ``B`` stay 0). The paper gives no code; we read it as (our choices):

* ``granularity="entry"`` (default): exactly ``floor(n / 2)`` entries of each factor, chosen by a
  seeded random permutation (an exact half rather than Bernoulli(0.5), so the count is fixed).
  ``"row"`` freezes whole rows instead (half the rank rows of ``A`` and half the output rows of ``B``).
* The trainable entries of both factors are packed into **one flat parameter** per layer,
  ``active (k,)``, and scattered into copies of the frozen factors at each forward. Gradients and
  optimizer state therefore exist only for the active half: Adam holds ``2k`` floats, not ``2n``.

>>> apply_lora_sp(model.encoder, targets=("query", "value"), r=8, alpha=16, seed=0)
>>> [m.active.numel() for _, m in lora_modules(model)]    # half of each layer's r*(in+out)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from trustmap.adapt.lora import LoRALinear, _targets_in, replace_module
from trustmap.utils.seed import torch_generator

GRANULARITIES = ("entry", "row")


def half_mask(
    shape: tuple[int, int], *, granularity: str, generator: torch.Generator, fraction: float = 0.5
) -> torch.Tensor:
    """A boolean mask of ``shape`` with exactly ``floor(fraction * n)`` True entries (or rows)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rows, cols = shape
    if granularity == "entry":
        n = rows * cols
        flat = torch.zeros(n, dtype=torch.bool)
        flat[torch.randperm(n, generator=generator)[: int(fraction * n)]] = True
        return flat.view(rows, cols)
    keep = torch.zeros(rows, dtype=torch.bool)
    keep[torch.randperm(rows, generator=generator)[: max(1, int(fraction * rows))]] = True
    return keep[:, None].expand(rows, cols).clone()


class SparseLoRALinear(LoRALinear):
    """LoRA whose factors are half frozen; only ``active`` (the packed free entries) is a parameter."""

    def __init__(
        self,
        base: nn.Linear,
        *,
        r: int = 8,
        alpha: float = 16.0,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        mask_generator: torch.Generator | None = None,
        granularity: str = "entry",
        fraction: float = 0.5,
    ) -> None:
        self._granularity, self._fraction = granularity, fraction
        self._mask_generator = mask_generator if mask_generator is not None else torch_generator(0)
        super().__init__(base, r=r, alpha=alpha, dropout=dropout, generator=generator)

    def _init_factors(self, a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None) -> None:
        gen = self._mask_generator
        mask_a = half_mask(tuple(a.shape), granularity=self._granularity, generator=gen, fraction=self._fraction)
        mask_b = half_mask(tuple(b.shape), granularity=self._granularity, generator=gen, fraction=self._fraction)
        # frozen values and the fixed masks are buffers: saved with the model, never optimised
        self.register_buffer("A0", a)
        self.register_buffer("B0", b)
        self.register_buffer("mask_A", mask_a)
        self.register_buffer("mask_B", mask_b)
        self.register_buffer("idx_A", mask_a.flatten().nonzero().squeeze(1), persistent=False)
        self.register_buffer("idx_B", mask_b.flatten().nonzero().squeeze(1), persistent=False)
        self.active = nn.Parameter(torch.cat([a.flatten()[self.idx_A], b.flatten()[self.idx_B]]))

    @property
    def num_free(self) -> int:
        return int(self.active.numel())

    @property
    def num_total(self) -> int:
        return int(self.A0.numel() + self.B0.numel())

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.idx_A.numel()
        a = self.A0.flatten().index_put((self.idx_A,), self.active[:k]).view_as(self.A0)
        b = self.B0.flatten().index_put((self.idx_B,), self.active[k:]).view_as(self.B0)
        return a, b

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, free={self.num_free}/{self.num_total} ({self._granularity})"


def apply_lora_sp(
    model: nn.Module,
    *,
    targets: Sequence[str] = ("query", "value"),
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    seed: int = 0,
    granularity: str = "entry",
    fraction: float = 0.5,
) -> list[str]:
    """Wrap every matching ``nn.Linear`` in :class:`SparseLoRALinear`; return the wrapped names.

    The factors are initialised exactly as :func:`~trustmap.adapt.lora.apply_lora` with the same seed
    (so LoRA and LoRA-SP start from identical ``A``); the masks come from a second seeded generator.
    """
    names = _targets_in(model, targets)
    init_gen, mask_gen = torch_generator(seed), torch_generator(seed + 7919)
    for name in names:
        layer = SparseLoRALinear(
            model.get_submodule(name),
            r=r,
            alpha=alpha,
            dropout=dropout,
            generator=init_gen,
            mask_generator=mask_gen,
            granularity=granularity,
            fraction=fraction,
        )
        replace_module(model, name, layer)
    return names


__all__ = ["GRANULARITIES", "SparseLoRALinear", "apply_lora_sp", "half_mask"]
