"""The method registry, the training workflow for every family, and ``trustmap adapt``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.cli.helpers import run_cli
from trustmap.adapt.methods import AdaptConfig, method_ids, register_method
from trustmap.adapt.train import accuracy, adapt
from trustmap.data.dataset import Split

from .conftest import TinyClassifier


def test_registry_validates():
    assert {"lora", "lora-sp", "prefix", "apt", "zo-sgd", "zo-adam", "fg", "zo-block", "zo-sparse"} <= set(method_ids())
    with pytest.raises(ValueError, match="lower-case"):
        register_method("Bad_Id", family="fo", summary="", lr=1e-3)
    with pytest.raises(ValueError, match="family"):
        register_method("x-new", family="so", summary="", lr=1e-3)
    with pytest.raises(ValueError, match="already"):
        register_method("lora", family="fo", summary="", lr=1e-3)(lambda m, c, s: None)


def toy_split(n: int = 48) -> Split:
    """Token ids whose label is whether token 7 occurs: learnable by every method in a few steps."""
    g = np.random.default_rng(0)
    x = g.integers(8, 60, size=(n, 8)).astype(np.int64)
    y = (np.arange(n) % 2).astype(np.int64)
    x[y == 1, 2] = 7
    return Split(x, y)


@pytest.mark.parametrize("method", method_ids())
def test_every_method_trains_and_only_its_parameters_move(method):
    model = TinyClassifier()
    frozen_before = model.encoder.embeddings.word_embeddings.weight.detach().clone()
    conf = AdaptConfig(
        method=method,
        r=2,
        prefix_length=2,
        epochs=2,
        batch_size=16,
        steps=6,
        deft_weight=1.0 if method in ("lora", "apt") else 0.0,
    )
    run = adapt(model, toy_split(), config=conf, seed=0)
    assert run.steps > 0 and all(np.isfinite(run.train_loss))
    assert 0 < run.trainable <= run.total
    moved = not torch.equal(model.encoder.embeddings.word_embeddings.weight, frozen_before)
    assert moved == (method == "full" or (method.startswith(("zo", "fg")) and conf.scheme == "full"))
    assert 0.0 <= accuracy(model, toy_split()) <= 1.0


def test_deft_rejected_for_zo():
    with pytest.raises(ValueError, match="DEFT"):
        adapt(TinyClassifier(), toy_split(), config=AdaptConfig(method="zo-sgd", deft_weight=1.0), seed=0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "nope"], "unknown adaptation method"),
        (["--method", "zo-sgd", "--deft", "1"], "--deft"),
        (["--method", "lora", "--train-size", "1"], "--train-size"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys, tmp_path, args, message):
    res = run_cli(capsys, "adapt", "--data", "rotten-tomatoes", "--out", str(tmp_path / "m.safetensors"), *args)
    assert res.code == 2
    assert message in res.err and len(res.err.strip().splitlines()) <= 2


def test_cli_adapts_minilm_and_the_merged_model_loads(capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    res = run_cli(
        capsys,
        "adapt",
        "--method",
        "lora-sp",
        "--data",
        "rotten-tomatoes",
        "--out",
        str(out),
        "--train-size",
        "32",
        "--test-size",
        "32",
        "--max-len",
        "24",
    )
    assert res.code == 0, res.err
    assert "test accuracy" in res.out and out.exists()
    from trustmap.models.io import load_model

    handle = load_model(out)
    assert handle.meta.extra["adapted_with"] == "lora-sp"
    assert handle.predict(np.array(["a fine film", "dull"], dtype=object)).shape == (2, 2)


def test_prefix_models_keep_their_adapters_and_reload(tmp_path):
    from trustmap.adapt.train import predict
    from trustmap.adapt.workflow import adapt_and_save, load_adapted

    out = tmp_path / "apt.safetensors"
    res = adapt_and_save(
        method="apt", data="rotten-tomatoes", out=out, train_size=16, test_size=16, max_len=16, prefix_length=2
    )
    assert not res.merged and out.exists()
    model = load_adapted(out)
    ids = model.encode(np.array(["a fine film", "dull and long"], dtype=object))
    again = load_adapted(out)
    np.testing.assert_array_equal(predict(model, ids), predict(again, ids))
    assert any("prefix_key" in n for n, _ in model.named_parameters())
