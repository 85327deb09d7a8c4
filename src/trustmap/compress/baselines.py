"""Delta-compression baselines at a given compression ratio (equal bits to DeltaDQ).

Each function takes ``{name: delta (out, in)}`` and a target ``ratio`` and returns a :class:`DeltaEstimate`:
the reconstructed deltas and the bits they would take stored. Every layer gets ``16 out in / ratio`` bits.

* :func:`dare` (Yu et al., arXiv 2311.03099): keep a random ``q`` of the entries (exact count, seeded, so no
  index is stored), rescale by ``1/q``, fp16 survivors. Bits: 16 per survivor + a 64-bit seed.
* :func:`magnitude`: keep the largest ``|delta|`` entries; fp16 value + ``ceil(log2 in)``-bit column index
  per survivor + a 32-bit row pointer per row (CSR).
* :func:`bitdelta_lite` (after BitDelta, arXiv 2402.10193, without its scale distillation): uniform 1-bit
  quantisation, ``sign(delta) * mean|delta|`` per row; at ratios above ~16 it runs on a DARE-kept subset
  (rescaled) so the bits match. Bits: 1 per survivor + 16 per row scale + a 64-bit seed.

>>> est = dare(deltas, ratio=64, seed=0); est.ratio    # ~64
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from trustmap.errors import TrustmapError
from trustmap.utils.seed import derive_seed, torch_generator


@dataclass
class DeltaEstimate:
    """Reconstructed deltas and their stored size."""

    method: str
    deltas: dict[str, torch.Tensor]
    bits: int

    @property
    def entries(self) -> int:
        return sum(d.numel() for d in self.deltas.values())

    @property
    def ratio(self) -> float:
        return 16 * self.entries / self.bits

    @property
    def bits_per_entry(self) -> float:
        return self.bits / self.entries


def _check(ratio: float) -> None:
    if not ratio > 1:
        raise TrustmapError(f"the compression ratio must be > 1, got {ratio}")


def _random_keep(n: int, k: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch_generator(seed))[:k]


def dare(deltas: Mapping[str, torch.Tensor], *, ratio: float, seed: int = 0) -> DeltaEstimate:
    """Random drop and rescale, fp16 survivors (see the module docstring)."""
    _check(ratio)
    out_d, bits = {}, 0
    for i, (name, d) in enumerate(deltas.items()):
        n = d.numel()
        k = max(1, min(n, math.floor((16 * n / ratio - 64) / 16)))
        idx = _random_keep(n, k, derive_seed(seed, i))
        flat = torch.zeros(n)
        flat[idx] = (d.reshape(-1)[idx].float() * (n / k)).half().float()
        out_d[name], bits = flat.reshape(d.shape), bits + 16 * k + 64
    return DeltaEstimate("dare", out_d, bits)


def magnitude(deltas: Mapping[str, torch.Tensor], *, ratio: float) -> DeltaEstimate:
    """Top-|delta| pruning with fp16 values and CSR indices (see the module docstring)."""
    _check(ratio)
    out_d, bits = {}, 0
    for name, d in deltas.items():
        out, inn = d.shape
        per = 16 + max(1, math.ceil(math.log2(inn)))
        k = max(1, min(d.numel(), math.floor((16 * d.numel() / ratio - 32 * out) / per)))
        flat = d.reshape(-1).float()
        idx = flat.abs().topk(k).indices
        rec = torch.zeros_like(flat)
        rec[idx] = flat[idx].half().float()
        out_d[name], bits = rec.reshape(d.shape), bits + per * k + 32 * out
    return DeltaEstimate("magnitude", out_d, bits)


def bitdelta_lite(deltas: Mapping[str, torch.Tensor], *, ratio: float, seed: int = 0) -> DeltaEstimate:
    """Sign + per-row scale on all entries, or on a DARE-kept subset when ``ratio`` needs fewer bits."""
    _check(ratio)
    out_d, bits = {}, 0
    for i, (name, d) in enumerate(deltas.items()):
        out, inn = d.shape
        k_row = max(1, min(inn, math.floor((16 * out * inn / ratio - 16 * out - 64) / out)))
        if k_row < inn:
            r = torch.rand(out, inn, generator=torch_generator(derive_seed(seed, i)))
            idx = r.topk(k_row, dim=1).indices
        else:
            idx = torch.arange(inn).expand(out, inn)
        v = d.float().gather(1, idx) * (inn / k_row)
        scale = v.abs().mean(1, keepdim=True).half().float()
        out_d[name] = torch.zeros(out, inn).scatter_(1, idx, torch.sign(v) * scale)
        bits += out * k_row + 16 * out + 64
    return DeltaEstimate("bitdelta-lite", out_d, bits)


__all__ = ["DeltaEstimate", "bitdelta_lite", "dare", "magnitude"]
