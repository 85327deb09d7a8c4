"""``trustmap compress``: compress a (slightly) fine-tuned MiniLM file, apply the delta back, bad inputs."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tests.cli.helpers import run_cli


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """MiniLM whose top-layer query weight moved and whose head is new: a stand-in for a fine-tuned file."""
    from trustmap.adapt.minilm import fresh_minilm
    from trustmap.data import load_dataset
    from trustmap.models.io import save_model
    from trustmap.models.workflows import meta_for

    model = fresh_minilm(seed=1)
    w = model.encoder.encoder.layer[5].attention.self.query.weight
    with torch.no_grad():
        w.add_(1e-3 * torch.randn(w.shape, generator=torch.Generator().manual_seed(0)))
    meta = replace(meta_for(load_dataset("rotten-tomatoes"), "minilm"), input_shape=(), arch_options={"max_len": 64})
    path = tmp_path_factory.mktemp("ft") / "ft.safetensors"
    save_model(model.eval(), path, meta=meta)
    return path, model


def test_compress_then_apply_restores_the_model(finetuned, tmp_path, capsys):
    from trustmap.adapt.workflow import load_adapted
    from trustmap.compress import CompressedDelta
    from trustmap.compress.workflow import base_minilm

    path, model = finetuned
    delta = tmp_path / "d.safetensors"
    res = run_cli(
        capsys,
        "compress",
        str(path),
        "--out",
        str(delta),
        "--ratio",
        "16",
        "--bits",
        "2",
        "--group",
        "32",
        "--test-size",
        "8",
    )
    assert res.code == 0, res.err
    assert "ratio" in res.out and "test accuracy: fine-tuned" in res.out
    cd = CompressedDelta.load(delta)
    assert len(cd.layers) == 1 and cd.ratio >= 16 and set(cd.extras) == {"head.weight", "head.bias"}
    restored = tmp_path / "r.safetensors"
    res = run_cli(capsys, "compress", "--apply", str(delta), "--out", str(restored))
    assert res.code == 0, res.err and "saved" in res.out
    back = load_adapted(restored).state_dict()
    base = base_minilm().state_dict()
    name = "encoder.encoder.layer.5.attention.self.query.weight"
    assert torch.allclose(back[name], base[name] + cd.reconstruct()[name], atol=1e-6)
    assert torch.equal(back["head.weight"], model.head.weight.detach().half().float())
    other = "encoder.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(back[other], base[other])


def test_bad_inputs_exit_2(finetuned, tmp_path, capsys):
    path, _ = finetuned
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"garbage")
    for args, match in (
        (["compress", "--out", str(tmp_path / "d.safetensors")], "either"),
        (["compress", str(path), "--apply", str(junk), "--out", str(tmp_path / "d.safetensors")], "either"),
        (["compress", "--apply", str(junk), "--out", str(tmp_path / "r.safetensors")], "readable"),
        (["compress", str(path), "--out", str(tmp_path / "d.pt")], "safetensors"),
        (["compress", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "d.safetensors")], "no model"),
        (["compress", str(path), "--out", str(tmp_path / "d.safetensors"), "--ratio", "1"], "ratio"),
    ):
        res = run_cli(capsys, *args)
        assert res.code == 2 and match in res.err, (args, res.err)
