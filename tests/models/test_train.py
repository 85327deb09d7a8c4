"""The one training loop: determinism, learning, and the architecture registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trustmap.data import load_dataset
from trustmap.errors import ModelError
from trustmap.models import TrainConfig, arch_names, build_model, fit, register_arch


def _train(seed: int) -> torch.nn.Module:
    ds = load_dataset("digits")
    torch.manual_seed(seed)
    model = build_model("mlp", input_shape=ds.input_shape, num_classes=10)
    fit(model, ds.train, config=TrainConfig(epochs=6, lr=3e-3), seed=seed, progress=False)
    return model


def test_same_seed_same_weights_and_learning():
    a, b, c = _train(0), _train(0), _train(1)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))
    ds = load_dataset("digits")
    with torch.no_grad():
        acc = (a(torch.from_numpy(ds.test.x)).argmax(1).numpy() == ds.test.y).mean()
    assert acc > 0.9


@pytest.mark.parametrize("arch", ["cnn", "cnn-s", "mlp", "logreg"])
def test_image_architectures_output_logits(arch):
    model = build_model(arch, input_shape=(1, 28, 28), num_classes=7).eval()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 7)


@pytest.mark.parametrize("arch", ["mlp", "logreg"])
def test_table_architectures(arch):
    assert build_model(arch, input_shape=(12,), num_classes=2)(torch.zeros(4, 12)).shape == (4, 2)


def test_registry_validates_and_lists():
    assert {"cnn", "cnn-s", "mlp", "logreg", "minilm"} <= set(arch_names())
    assert "cnn" not in arch_names("table")
    with pytest.raises(ValueError, match="already registered"):
        register_arch("cnn", kinds=("image",), summary="dup")(lambda **k: None)
    with pytest.raises(ValueError, match="lower-case"):
        register_arch("Bad Name", kinds=("image",), summary="x")
    with pytest.raises(ModelError, match="unknown architecture"):
        build_model("resnet", input_shape=(1, 28, 28), num_classes=10)
    with pytest.raises(ModelError, match="needs image inputs"):
        build_model("cnn", input_shape=(12,), num_classes=2)


def test_custom_loss_hook_is_used():
    ds = load_dataset("digits")
    calls = []

    def loss_fn(model, xb, yb):
        calls.append(len(yb))
        return torch.nn.functional.cross_entropy(model(xb), yb)

    model = build_model("logreg", input_shape=ds.input_shape, num_classes=10)
    fit(model, ds.train.subset(np.arange(100)), config=TrainConfig(epochs=1, batch_size=32), loss_fn=loss_fn)
    assert calls == [32, 32, 32, 4]


def test_max_grad_norm_clips_every_step():
    ds = load_dataset("digits")
    data = ds.train.subset(np.arange(64))
    moved = {}
    for clip in (0.0, 1e-4):
        model = build_model("logreg", input_shape=ds.input_shape, num_classes=10, seed=0)
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        cfg = TrainConfig(epochs=1, batch_size=32, lr=1.0, optimizer="sgd", momentum=0.0, max_grad_norm=clip)
        fit(model, data, config=cfg)
        moved[clip] = float((torch.cat([p.detach().flatten() for p in model.parameters()]) - before).norm())
    # two SGD steps of lr 1 with the gradient norm clipped to 1e-4 move the weights at most 2e-4
    assert moved[1e-4] <= 2e-4 + 1e-7 < moved[0.0]
    with pytest.raises(Exception, match="max grad norm"):
        TrainConfig(max_grad_norm=-1.0)
