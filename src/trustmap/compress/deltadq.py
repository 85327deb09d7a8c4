"""DeltaDQ: delta compression by group-wise dropout and separate quantisation.

Paper: DeltaDQ: Ultra-High Delta Compression for Fine-Tuned LLMs via Group-wise Dropout and Separate
Quantization (arXiv 2410.08666); no code was found. For each 2-D weight, ``delta = W_ft - W_base``
(``(out, in)``) is compressed so that many fine-tuned models can share one base:

1. *Group-wise dropout.* Each row is split into ``in / g`` groups of ``g`` consecutive entries; in every
   group exactly ``keep`` random entries survive and are rescaled by ``g / keep`` (DARE-style; this is
   ``1 / (1 - p)`` when ``g (1 - p)`` is whole). The masks come from a stored seed, so no index is stored.
   ``g`` is chosen per layer among :data:`GROUPS` (``0`` = the whole row) by the output error
   ``||X delta^T - X delta_hat^T||`` on calibration inputs ``X`` ``(n, in)`` of that layer.
2. *Separate quantisation.* Survivors are quantised to ``bits`` with a per-row scale ``s`` (fp16): code
   ``c`` in ``[0, 2^bits)`` stands for ``(c - (2^bits - 1) / 2) * s``; ``s`` minimises each row's squared
   error over clipping ratios :data:`CLIPS` *(ours)*; with 1 bit it is ``2 mean|v|`` (sign + scale). Each
   code is then split into ``bits / part_bits`` lower-bit parts ``c = sum_j 2^(part_bits j) c_j``, stored as
   separate bit-packed ``(out, survivors per row)`` matrices. The paper gives no exact decomposition; this
   bit-plane version is ours. It is lossless and costs the same bits as the ``bits``-bit codes.

Budget *(ours)*: for a target ratio ``R`` every layer gets ``16 out in / R`` bits, minus its scales (16 bits a
row) and :data:`LAYER_META_BITS`; ``bits`` and ``keep`` follow from it (``bits`` in :data:`BITS` chosen by the
summed relative calibration error, unless fixed). Ratio = 16 x delta entries / stored bits.

>>> cd = compress_deltadq({"w": delta}, ratio=16, calib={"w": x}, seed=0)   # delta (out, in), x (n, in)
>>> cd.ratio, cd.reconstruct()["w"].shape                                 # ~16.x, (out, in)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from trustmap.compress.delta import CompressedDelta, CompressedLayer, pack_bits, unpack_bits
from trustmap.errors import TrustmapError
from trustmap.utils.seed import derive_seed, torch_generator

GROUPS = (8, 16, 32, 64, 128, 0)  # 0: the whole row
BITS = (1, 2, 4, 8)
CLIPS = tuple(float(a) for a in np.linspace(0.1, 1.0, 10))  # *(ours)*: clipping ratios of max|v|
LAYER_META_BITS = 96  # seed (64) + group, keep, bits, part bits (8 each): per layer


@dataclass(frozen=True)
class LayerChoice:
    """What calibration chose for one layer: group size, survivors per group, bits, relative output error."""

    group: int
    keep: int
    bits: int
    error: float


def group_indices(out: int, inn: int, *, group: int, keep: int, seed: int) -> torch.Tensor:
    """``(out, (inn // group) * keep)`` sorted column indices of the survivors (``group`` 0 = whole row)."""
    g = inn if group == 0 else group
    if inn % g:
        raise TrustmapError(f"group size {g} does not divide the row length {inn}; pick a divisor or 0 (row)")
    if not 1 <= keep <= g:
        raise TrustmapError(f"keep must be between 1 and the group size {g}, got {keep}")
    ng = inn // g
    r = torch.rand(out, ng, g, generator=torch_generator(seed))
    idx = r.topk(keep, dim=-1).indices.sort(-1).values + (torch.arange(ng) * g)[:, None]
    return idx.reshape(out, ng * keep)


def quantize_rows(v: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes ``(out, n)`` uint8 in ``[0, 2^bits)`` and fp16 scales ``(out,)``; see the module docstring."""
    if bits not in BITS:
        raise TrustmapError(f"bits must be one of {', '.join(map(str, BITS))}, got {bits}")
    half = (2**bits - 1) / 2
    if bits == 1:
        scales = (2 * v.abs().mean(1)).half()
    else:
        amax = v.abs().amax(1).clamp(min=1e-12)
        best_err, scales = None, None
        for a in CLIPS:
            s = (a * amax / half).half().float().clamp(min=6e-8)
            c = torch.clamp(torch.round(v / s[:, None] + half), 0, 2**bits - 1)
            err = (((c - half) * s[:, None] - v) ** 2).sum(1)
            if best_err is None:
                best_err, scales = err, s
            else:
                better = err < best_err
                best_err, scales = torch.where(better, err, best_err), torch.where(better, s, scales)
        scales = scales.half()
    s = scales.float().clamp(min=6e-8)
    codes = torch.clamp(torch.round(v / s[:, None] + half), 0, 2**bits - 1).to(torch.uint8)
    return codes, scales


def dequantize_rows(codes: torch.Tensor, scales: torch.Tensor, bits: int) -> torch.Tensor:
    half = (2**bits - 1) / 2
    return (codes.float() - half) * scales.float()[:, None]


def split_codes(codes: torch.Tensor, bits: int, part_bits: int) -> list[torch.Tensor]:
    """The ``bits / part_bits`` lower-bit parts of ``codes`` (lowest first): ``codes = sum 2^(pb j) part_j``."""
    if part_bits < 1 or bits % part_bits:
        raise TrustmapError(f"part bits {part_bits} must divide bits {bits}")
    mask = 2**part_bits - 1
    return [((codes >> (part_bits * j)) & mask).to(torch.uint8) for j in range(bits // part_bits)]


def join_codes(parts: Sequence[torch.Tensor], part_bits: int) -> torch.Tensor:
    out = torch.zeros_like(parts[0], dtype=torch.int32)
    for j, p in enumerate(parts):
        out += p.to(torch.int32) << (part_bits * j)
    return out.to(torch.uint8)


def default_part_bits(bits: int) -> int:
    """Two parts for ``bits >= 2`` *(ours)*; one for 1 bit."""
    return max(1, bits // 2)


def layer_budget(out: int, inn: int, ratio: float) -> float:
    """Bits left for one layer's codes at ``ratio`` after its scales and metadata."""
    return 16 * out * inn / ratio - 16 * out - LAYER_META_BITS


def keep_for(out: int, inn: int, *, ratio: float, bits: int, group: int) -> int:
    """Survivors per group that fit the budget (0: none fit)."""
    g = inn if group == 0 else group
    if inn % g:
        return 0
    per_row = math.floor(layer_budget(out, inn, ratio) / (out * bits))
    return min(g, per_row // (inn // g))


def _candidate(delta: torch.Tensor, *, group: int, keep: int, bits: int, seed: int) -> torch.Tensor:
    out, inn = delta.shape
    g = inn if group == 0 else group
    idx = group_indices(out, inn, group=group, keep=keep, seed=seed)
    codes, scales = quantize_rows(delta.gather(1, idx) * (g / keep), bits)
    return torch.zeros_like(delta).scatter_(1, idx, dequantize_rows(codes, scales, bits))


def _output_error(x: torch.Tensor | None, delta: torch.Tensor, approx: torch.Tensor) -> float:
    if x is None:  # no calibration data: plain weight error
        return float((delta - approx).norm() / delta.norm().clamp(min=1e-12))
    return float((x @ (delta - approx).T).norm() / (x @ delta.T).norm().clamp(min=1e-12))


def compress_deltadq(
    deltas: Mapping[str, torch.Tensor],
    *,
    ratio: float,
    calib: Mapping[str, torch.Tensor] | None = None,
    bits: int | None = None,
    group: int | None = None,
    groups: Sequence[int] = GROUPS,
    bits_choices: Sequence[int] = BITS,
    part_bits: int | None = None,
    seed: int = 0,
) -> CompressedDelta:
    """Compress each ``(out, in)`` delta at ``ratio`` (``bits``/``group`` fixed, or chosen on ``calib``)."""
    if not ratio > 1:
        raise TrustmapError(f"the compression ratio must be > 1, got {ratio}")
    if not deltas:
        raise TrustmapError("no delta to compress: the fine-tuned weights equal the base's")
    bit_opts = [bits] if bits is not None else list(bits_choices)
    group_opts = [group] if group is not None else list(groups)
    # per bit width: every layer's best group and its error (lowest relative output error on calib)
    plans: dict[int, dict[str, LayerChoice]] = {}
    for b in bit_opts:
        plan: dict[str, LayerChoice] = {}
        for i, (name, d) in enumerate(deltas.items()):
            if d.ndim != 2:
                raise TrustmapError(f"{name}: DeltaDQ compresses 2-D weights, got shape {tuple(d.shape)}")
            out, inn = d.shape
            x = None if calib is None else calib.get(name)
            layer_seed = derive_seed(seed, i)
            best: LayerChoice | None = None
            for g in group_opts:
                keep = keep_for(out, inn, ratio=ratio, bits=b, group=g)
                if keep < 1:
                    continue
                if len(group_opts) == 1 and len(bit_opts) == 1:  # nothing to choose: no calibration pass
                    best = LayerChoice(g, keep, b, math.nan)
                    break
                err = _output_error(x, d.float(), _candidate(d.float(), group=g, keep=keep, bits=b, seed=layer_seed))
                if best is None or err < best.error:
                    best = LayerChoice(g, keep, b, err)
            if best is None:
                break
            plan[name] = best
        if len(plan) == len(deltas):
            plans[b] = plan
    if not plans:
        raise TrustmapError(f"ratio {ratio:g} leaves no room for one survivor per group; lower --ratio or the bits")
    chosen = min(plans, key=lambda b: sum(c.error for c in plans[b].values()) if len(plans) > 1 else 0.0)
    layers = []
    for i, (name, d) in enumerate(deltas.items()):
        c = plans[chosen][name]
        pb = part_bits or default_part_bits(c.bits)
        out, inn = d.shape
        g = inn if c.group == 0 else c.group
        layer_seed = derive_seed(seed, i)
        idx = group_indices(out, inn, group=c.group, keep=c.keep, seed=layer_seed)
        codes, scales = quantize_rows(d.float().gather(1, idx) * (g / c.keep), c.bits)
        parts = [pack_bits(p, pb) for p in split_codes(codes, c.bits, pb)]
        layers.append(CompressedLayer(name, (out, inn), c.group, c.keep, c.bits, pb, layer_seed, parts, scales))
    return CompressedDelta(layers=layers, extras={}, meta={"method": "deltadq", "target_ratio": ratio})


def reconstruct_layer(layer: CompressedLayer) -> torch.Tensor:
    """The dense ``(out, in)`` float32 delta of one compressed layer (masks regenerated from its seed)."""
    out, inn = layer.shape
    idx = group_indices(out, inn, group=layer.group, keep=layer.keep, seed=layer.seed)
    n = idx.shape[1]
    parts = [unpack_bits(p, layer.part_bits, n) for p in layer.parts]
    codes = join_codes(parts, layer.part_bits)
    return torch.zeros(out, inn).scatter_(1, idx, dequantize_rows(codes, layer.scales, layer.bits))


__all__ = [
    "BITS",
    "GROUPS",
    "LayerChoice",
    "compress_deltadq",
    "default_part_bits",
    "dequantize_rows",
    "group_indices",
    "join_codes",
    "keep_for",
    "layer_budget",
    "quantize_rows",
    "reconstruct_layer",
    "split_codes",
]
