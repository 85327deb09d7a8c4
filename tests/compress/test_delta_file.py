"""CompressedDelta: exact save/load roundtrip, apply, and damaged or foreign files refused."""

from __future__ import annotations

import json

import pytest
import torch

from trustmap.compress import CompressedDelta, compress_deltadq, linear_deltas
from trustmap.errors import ModelError


@pytest.fixture
def delta() -> CompressedDelta:
    g = torch.Generator().manual_seed(0)
    d = {
        "enc.layer.0.w.weight": torch.randn(8, 32, generator=g),
        "enc.layer.1.w.weight": torch.randn(4, 64, generator=g),
    }
    cd = compress_deltadq(d, ratio=8, bits=4, group=8, seed=3)
    cd.extras = {"head.weight": torch.randn(2, 8, generator=g).half()}
    cd.meta["note"] = "test"
    return cd


def test_save_load_roundtrip_is_exact(delta, tmp_path):
    path = delta.save(tmp_path / "d.safetensors")
    back = CompressedDelta.load(path)
    assert back.meta == delta.meta and back.ratio == delta.ratio
    for a, b in zip(delta.layers, back.layers, strict=True):
        assert a.info() == b.info() and torch.equal(a.scales, b.scales)
        assert all(torch.equal(p, q) for p, q in zip(a.parts, b.parts, strict=True))
    ra, rb = delta.reconstruct(), back.reconstruct()
    assert all(torch.equal(ra[n], rb[n]) for n in ra)
    assert torch.equal(back.extras["head.weight"], delta.extras["head.weight"])
    packed = sum(p.numel() for lay in delta.layers for p in lay.parts) + 2 * sum(lay.shape[0] for lay in delta.layers)
    assert path.stat().st_size < packed + 32 + 4096  # the codes are stored packed (plus header, extras)


def test_apply_adds_the_delta_and_sets_extras(delta):
    base = {lay.name: torch.ones(lay.shape) for lay in delta.layers} | {"head.weight": torch.zeros(2, 8)}
    state = delta.apply(base)
    rec = delta.reconstruct()
    assert all(torch.equal(state[n], 1 + rec[n]) for n in rec)
    assert torch.equal(state["head.weight"], delta.extras["head.weight"].float())
    with pytest.raises(ModelError, match="base"):
        delta.apply({})


def test_linear_deltas_split_layers_and_extras():
    base = {"enc.layer.0.q.weight": torch.zeros(2, 2), "enc.layer.0.q.bias": torch.zeros(2), "same": torch.ones(3)}
    ft = {"enc.layer.0.q.weight": torch.eye(2), "enc.layer.0.q.bias": torch.ones(2), "same": torch.ones(3)}
    ft["head.weight"] = torch.ones(2, 2)
    deltas, extras = linear_deltas(base, ft, pattern=r"layer\.\d+\.")
    assert list(deltas) == ["enc.layer.0.q.weight"] and torch.equal(deltas["enc.layer.0.q.weight"], torch.eye(2))
    assert set(extras) == {"enc.layer.0.q.bias", "head.weight"}  # unchanged tensors are dropped


def test_damaged_and_foreign_files_are_refused(delta, tmp_path):
    from safetensors.torch import load_file, save_file

    path = delta.save(tmp_path / "d.safetensors")
    raw = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "model.safetensors"))
    for name, match in (("cut", "readable"), ("junk", "readable"), ("model", "not a compressed delta")):
        with pytest.raises(ModelError, match=match):
            CompressedDelta.load(tmp_path / f"{name}.safetensors")
    with pytest.raises(ModelError, match="no compressed delta"):
        CompressedDelta.load(tmp_path / "missing.safetensors")

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["trustmap_delta"])
    tensors = load_file(str(path))
    bad_shape = dict(header, layers=[dict(header["layers"][0], shape=[8, 16]), *header["layers"][1:]])
    missing = {k: v for k, v in tensors.items() if k != "layer.1.scales"}
    bad_dtype = dict(tensors, **{"layer.0.scales": tensors["layer.0.scales"].float()})
    cases = [
        (tensors, dict(header, format="other/9"), "unknown delta format"),
        (tensors, bad_shape, "corrupt"),
        (missing, header, "missing"),
        (bad_dtype, header, "float32"),
        (tensors, {"format": "trustmap-delta/1"}, "corrupt"),
    ]
    for i, (ts, hd, match) in enumerate(cases):
        p = tmp_path / f"bad{i}.safetensors"
        save_file(ts, str(p), metadata={"trustmap_delta": json.dumps(hd)})
        with pytest.raises(ModelError, match=match):
            CompressedDelta.load(p)
