"""Compressed weight deltas: the container, its bit accounting and its safetensors file format.

A :class:`CompressedDelta` holds, per compressed 2-D weight, a :class:`CompressedLayer` (bit-packed code
parts, fp16 row scales and the seed its dropout masks are regenerated from), plus ``extras``: whole tensors
(fp16) that are stored as values, e.g. a new task head or changed biases. ``apply(base_state)`` returns
``base + delta_hat`` for the layers and the extras' values.

File format (``.safetensors``, never pickle): tensors ``layer.<i>.part.<j>`` (uint8, packed row by row),
``layer.<i>.scales`` (fp16 ``(out,)``) and ``extra.<name>`` (fp16), and one metadata entry
``trustmap_delta`` holding JSON: ``{"format": "trustmap-delta/1", "layers": [...], "extras": [...],
"meta": {...}}``. :meth:`CompressedDelta.load` checks every shape and dtype and refuses anything else with
a :class:`~trustmap.errors.ModelError`.

Bits: a layer costs ``out * survivors_per_row * bits`` + 16 per row scale + ``LAYER_META_BITS``; an extra
16 per entry. ``ratio`` = 16 x compressed delta entries / the layers' bits.

>>> cd.save("delta.safetensors"); CompressedDelta.load("delta.safetensors").ratio
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trustmap.errors import ModelError

FORMAT = "trustmap-delta/1"
META_KEY = "trustmap_delta"
PART_BITS = (1, 2, 4, 8)


def pack_bits(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """Pack ``(out, n)`` codes ``< 2^bits`` into ``(out, ceil(n bits / 8))`` uint8, row by row."""
    if bits not in PART_BITS:
        raise ModelError(f"part bits must be one of {PART_BITS}, got {bits}")
    per = 8 // bits
    c = codes.to(torch.uint8).numpy()
    out, n = c.shape
    padded = np.zeros((out, -(-n // per) * per), np.uint8)
    padded[:, :n] = c
    shifts = (np.arange(per, dtype=np.uint8) * bits)[None, None, :]
    return torch.from_numpy((padded.reshape(out, -1, per) << shifts).sum(-1, dtype=np.uint8))


def unpack_bits(packed: torch.Tensor, bits: int, n: int) -> torch.Tensor:
    """The inverse of :func:`pack_bits`: ``(out, n)`` uint8 codes."""
    per = 8 // bits
    p = packed.numpy()
    shifts = (np.arange(per, dtype=np.uint8) * bits)[None, None, :]
    codes = (p[:, :, None] >> shifts) & np.uint8(2**bits - 1)
    return torch.from_numpy(np.ascontiguousarray(codes.reshape(p.shape[0], -1)[:, :n]))


@dataclass
class CompressedLayer:
    """One compressed ``(out, in)`` delta (see :mod:`trustmap.compress.deltadq`)."""

    name: str
    shape: tuple[int, int]
    group: int  # 0 = whole row
    keep: int  # survivors per group
    bits: int
    part_bits: int
    seed: int
    parts: list[torch.Tensor]  # bits // part_bits packed uint8 tensors (out, ceil(n part_bits / 8))
    scales: torch.Tensor  # fp16 (out,)

    @property
    def survivors_per_row(self) -> int:
        g = self.shape[1] if self.group == 0 else self.group
        return (self.shape[1] // g) * self.keep

    @property
    def stored_bits(self) -> int:
        from trustmap.compress.deltadq import LAYER_META_BITS

        return self.shape[0] * self.survivors_per_row * self.bits + 16 * self.shape[0] + LAYER_META_BITS

    def info(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "group", "keep", "bits", "part_bits", "seed")} | {
            "shape": list(self.shape)
        }


@dataclass
class CompressedDelta:
    """Compressed layers + whole-value extras + free-form JSON ``meta``."""

    layers: list[CompressedLayer]
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # fp16 values, not deltas
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def delta_entries(self) -> int:
        return sum(lay.shape[0] * lay.shape[1] for lay in self.layers)

    @property
    def layer_bits(self) -> int:
        return sum(lay.stored_bits for lay in self.layers)

    @property
    def extra_bits(self) -> int:
        return sum(16 * t.numel() for t in self.extras.values())

    @property
    def ratio(self) -> float:
        """16 x compressed delta entries / the bits stored for them (scales and metadata included)."""
        return 16 * self.delta_entries / self.layer_bits

    @property
    def bits_per_entry(self) -> float:
        return self.layer_bits / self.delta_entries

    def reconstruct(self) -> dict[str, torch.Tensor]:
        """The dense float32 delta of every compressed layer."""
        from trustmap.compress.deltadq import reconstruct_layer

        return {lay.name: reconstruct_layer(lay) for lay in self.layers}

    def apply(self, base_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``base_state`` with each layer replaced by base + delta_hat and each extra by its value."""
        state = dict(base_state)
        for name, d in self.reconstruct().items():
            if name not in state or tuple(state[name].shape) != tuple(d.shape):
                raise ModelError(f"the base model has no {tuple(d.shape)} tensor {name!r}; it is not this delta's base")
            state[name] = state[name] + d.to(state[name].dtype)
        for name, v in self.extras.items():
            if name in state and tuple(state[name].shape) != tuple(v.shape):
                raise ModelError(
                    f"extra tensor {name!r} has shape {tuple(v.shape)}, the base {tuple(state[name].shape)}"
                )
            state[name] = v.float()
        return state

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.safetensors) atomically."""
        from safetensors.torch import save_file

        from trustmap.utils.files import atomic_write

        tensors: dict[str, torch.Tensor] = {}
        for i, lay in enumerate(self.layers):
            for j, p in enumerate(lay.parts):
                tensors[f"layer.{i}.part.{j}"] = p.contiguous()
            tensors[f"layer.{i}.scales"] = lay.scales.half().contiguous()
        for name, v in self.extras.items():
            tensors[f"extra.{name}"] = v.half().contiguous()
        header = {"format": FORMAT, "layers": [lay.info() for lay in self.layers], "extras": list(self.extras)}
        header["meta"] = self.meta
        with atomic_write(path) as tmp:
            save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(header)})
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> CompressedDelta:
        """Read a file written by :meth:`save`; anything else (or a damaged file) raises ModelError."""
        from safetensors import safe_open

        p = Path(path)
        if not p.is_file():
            raise ModelError(f"no compressed delta at {p}; write one with `trustmap compress MODEL --out {p.name}`")
        try:
            with safe_open(str(p), framework="pt") as f:
                raw = (f.metadata() or {}).get(META_KEY)
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for damaged files
            raise ModelError(
                f"{p.name} is not a readable safetensors file ({type(exc).__name__}); re-create it"
            ) from None
        if raw is None:
            raise ModelError(f"{p.name} is not a compressed delta (no {META_KEY} metadata); is it a model file?")
        try:
            header = json.loads(raw)
            if header.get("format") != FORMAT:
                raise ModelError(f"{p.name}: unknown delta format {header.get('format')!r} (expected {FORMAT})")
            layers = [_layer(i, info, tensors) for i, info in enumerate(header["layers"])]
            extras = {str(n): _tensor(tensors, f"extra.{n}", torch.float16) for n in header["extras"]}
            meta = dict(header.get("meta", {}))
        except ModelError as exc:
            raise ModelError(f"{p.name} is corrupt: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{p.name} is corrupt: bad delta metadata ({type(exc).__name__}: {exc})") from None
        return cls(layers, extras, meta)


def _tensor(tensors: Mapping[str, torch.Tensor], key: str, dtype: torch.dtype) -> torch.Tensor:
    if key not in tensors:
        raise ModelError(f"tensor {key} is missing")
    t = tensors[key]
    if t.dtype != dtype:
        raise ModelError(f"tensor {key} is {t.dtype}, expected {dtype}")
    return t


def _layer(i: int, info: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> CompressedLayer:
    out, inn = (int(v) for v in info["shape"])
    group, keep, bits, pb = int(info["group"]), int(info["keep"]), int(info["bits"]), int(info["part_bits"])
    g = inn if group == 0 else group
    if out < 1 or inn < 1 or g < 1 or inn % g or not 1 <= keep <= g or pb not in PART_BITS or bits % pb or bits > 8:
        raise ModelError(f"layer {i} has inconsistent settings {dict(info)}")
    n = (inn // g) * keep
    parts = [_tensor(tensors, f"layer.{i}.part.{j}", torch.uint8) for j in range(bits // pb)]
    for j, part in enumerate(parts):
        if tuple(part.shape) != (out, math.ceil(n * pb / 8)):
            raise ModelError(
                f"layer {i} part {j} has shape {tuple(part.shape)}, expected {(out, math.ceil(n * pb / 8))}"
            )
    scales = _tensor(tensors, f"layer.{i}.scales", torch.float16)
    if tuple(scales.shape) != (out,) or not torch.isfinite(scales).all():
        raise ModelError(f"layer {i} scales are not {out} finite values")
    return CompressedLayer(str(info["name"]), (out, inn), group, keep, bits, pb, int(info["seed"]), parts, scales)


def linear_deltas(
    base: Mapping[str, torch.Tensor], finetuned: Mapping[str, torch.Tensor], *, pattern: str = r"encoder\.layer\.\d+\."
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(deltas, extras)``: ``W_ft - W_base`` of the 2-D ``.weight`` tensors whose name matches ``pattern``,
    and the fine-tuned values of every other tensor that is new or changed (unchanged ones are dropped)."""
    import re

    rx = re.compile(pattern)
    deltas, extras = {}, {}
    for name, w in finetuned.items():
        b = base.get(name)
        if b is not None and tuple(b.shape) == tuple(w.shape) and torch.equal(b, w):
            continue
        if b is not None and w.ndim == 2 and name.endswith(".weight") and rx.search(name) and b.shape == w.shape:
            deltas[name] = (w.float() - b.float()).contiguous()
        elif w.is_floating_point():
            extras[name] = w.detach().half()
    return deltas, extras


__all__ = ["FORMAT", "CompressedDelta", "CompressedLayer", "linear_deltas", "pack_bits", "unpack_bits"]
