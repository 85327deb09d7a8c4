"""``trustmap diffusion train`` / ``sample``: a tiny model end to end, and bad input refused with exit code 2."""

import json

import numpy as np
import pytest

from tests.cli.helpers import run_cli


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path / "cache"))


def test_train_then_sample_writes_grid_and_samples(capsys, tmp_path):
    model = tmp_path / "ddpm"
    r = run_cli(
        capsys,
        "diffusion",
        "train",
        "--out",
        str(model),
        "--conditional",
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--n-train",
        "200",
        "--json",
    )
    assert r.code == 0, r.err
    assert json.loads(r.out)["config"]["conditional"] is True
    assert (model / "model.safetensors").is_file() and (model / "config.json").is_file()
    grid, npy = tmp_path / "g.png", tmp_path / "s.npy"
    r = run_cli(
        capsys,
        "diffusion",
        "sample",
        "--model",
        str(model),
        "--out",
        str(grid),
        "--samples",
        str(npy),
        "--n",
        "6",
        "--steps",
        "3",
        "--sampler",
        "dpm++",
        "--labels",
        "1,2",
        "--nrow",
        "3",
        "--json",
    )
    assert r.code == 0, r.err
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    x = np.load(npy, allow_pickle=False)
    assert x.shape == (6, 1, 14, 14) and 0.0 <= x.min() and x.max() <= 1.0
    st = tmp_path / "s.safetensors"
    r = run_cli(
        capsys,
        "diffusion",
        "sample",
        "--model",
        str(model),
        "--out",
        str(grid),
        "--samples",
        str(st),
        "--n",
        "4",
        "--steps",
        "2",
    )
    assert r.code == 0, r.err
    from safetensors.torch import load_file

    assert load_file(str(st))["labels"].tolist() == [0, 1, 2, 3]


def test_bad_inputs_exit_2(capsys, tmp_path):
    r = run_cli(capsys, "diffusion", "sample", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "g.png"))
    assert r.code == 2 and "not a trustmap DDPM folder" in r.err
    r = run_cli(capsys, "diffusion", "sample", "--model", str(tmp_path), "--out", str(tmp_path / "g.jpg"))
    assert r.code == 2 and ".png" in r.err
    r = run_cli(capsys, "diffusion", "train", "--out", str(tmp_path / "m"), "--image-size", "32")
    assert r.code == 2 and "image size" in r.err
    model = tmp_path / "ddpm"
    assert (
        run_cli(
            capsys, "diffusion", "train", "--out", str(model), "--steps", "1", "--batch-size", "4", "--n-train", "50"
        ).code
        == 0
    )
    r = run_cli(
        capsys, "diffusion", "sample", "--model", str(model), "--out", str(tmp_path / "g.png"), "--sampler", "euler"
    )
    assert r.code == 2 and "unknown sampler" in r.err
    r = run_cli(capsys, "diffusion", "sample", "--model", str(model), "--out", str(tmp_path / "g.png"), "--labels", "3")
    assert r.code == 2 and "unconditional" in r.err
    (model / "model.safetensors").write_bytes(b"garbage")
    r = run_cli(capsys, "diffusion", "sample", "--model", str(model), "--out", str(tmp_path / "g.png"))
    assert r.code == 2 and "checksum" in r.err


def test_text_conditioned_train_and_sample(capsys, tmp_path, tmp_path_factory, monkeypatch):
    # the session's shared text-diffusion cache: the MiniLM caption table is encoded once
    monkeypatch.setenv("TRUSTMAP_CACHE", str(tmp_path_factory.getbasetemp() / "text-diffusion-cache"))
    model = tmp_path / "text"
    r = run_cli(
        capsys,
        "diffusion",
        "train",
        "--out",
        str(model),
        "--text",
        "--steps",
        "1",
        "--batch-size",
        "4",
        "--n-train",
        "40",
    )
    assert r.code == 0, r.err
    grid = tmp_path / "t.png"
    r = run_cli(
        capsys,
        "diffusion",
        "sample",
        "--model",
        str(model),
        "--out",
        str(grid),
        "--n",
        "2",
        "--steps",
        "2",
        "--captions",
        "a photo of a bag; a small grey sneaker",
        "--guidance",
        "2",
        "--json",
    )
    assert r.code == 0, r.err
    assert grid.is_file() and json.loads(r.out)["guidance"] == 2.0
    r = run_cli(capsys, "diffusion", "sample", "--model", str(model), "--out", str(grid), "--labels", "1")
    assert r.code == 2 and "--captions" in r.err
    r = run_cli(capsys, "diffusion", "train", "--out", str(tmp_path / "x"), "--text", "--conditional")
    assert r.code == 2 and "not both" in r.err
