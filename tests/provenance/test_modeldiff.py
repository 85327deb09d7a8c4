"""ModelDiff (arXiv 2106.08890): DDV properties, symmetry, scale invariance, verdicts and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from trustmap.errors import TrustmapError
from trustmap.models import TrainConfig, build_model, fit
from trustmap.provenance import (
    compare_models,
    ddv,
    ddv_similarity,
    decision_distances,
    label_agreement,
    profiling_inputs,
    weight_cosine,
)
from trustmap.repro._zoo import prune_magnitude, quantize_int8


@pytest.fixture(scope="module")
def digits():
    from trustmap.data import load_dataset

    return load_dataset("digits")


def _trained(arch: str, digits, seed: int) -> nn.Module:
    model = build_model(arch, input_shape=(1, 8, 8), num_classes=10, seed=seed)
    fit(model, digits.train, config=TrainConfig(epochs=6, batch_size=64, lr=3e-3), seed=seed, progress=False)
    return model.eval()


@pytest.fixture(scope="module")
def zoo(digits):
    src = _trained("mlp", digits, 0)
    return {
        "src": src,
        "quant": quantize_int8(copy.deepcopy(src)).eval(),
        "seed": _trained("mlp", digits, 1),
        "cnn": _trained("cnn-s", digits, 2),
    }


class Scaled(nn.Module):
    def __init__(self, inner: nn.Module, factor: float) -> None:
        super().__init__()
        self.inner, self.factor = inner, factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) * self.factor


def test_decision_distances_are_cosine_distances_of_pairs():
    out = torch.tensor([[1.0, 0.0], [1.0, 1.0], [2.0, 0.0], [-1.0, -1.0]])  # pairs (0, 2) and (1, 3)
    d = decision_distances(out)
    assert d.shape == (2,) and d[0] == pytest.approx(0.0) and d[1] == pytest.approx(2.0)
    with pytest.raises(TrustmapError, match=r"\(2n, K\)"):
        decision_distances(torch.zeros(3, 2))


def test_ddv_is_invariant_to_scaling_the_outputs(zoo, digits):
    x = profiling_inputs([zoo["src"]], digits.test.x, n_pairs=50, mutation="none", seed=0)
    d, d_scaled = ddv(zoo["src"], x), ddv(Scaled(zoo["src"], 7.3), x)
    np.testing.assert_allclose(d, d_scaled, rtol=1e-5, atol=1e-7)
    assert ddv_similarity(d, d_scaled) == pytest.approx(1.0, abs=1e-9)
    res = compare_models(zoo["src"], Scaled(zoo["src"], 7.3), inputs=x)
    assert res.similarity == pytest.approx(1.0, abs=1e-9) and res.reused


def test_similarity_is_symmetric(zoo, digits):
    for mutation in ("search", "gradient"):
        ab = compare_models(
            zoo["src"],
            zoo["cnn"],
            seeds=digits.test.x,
            n_pairs=40,
            mutation=mutation,
            steps=20,
            value_range=(0.0, 1.0),
            seed=3,
        )
        ba = compare_models(
            zoo["cnn"],
            zoo["src"],
            seeds=digits.test.x,
            n_pairs=40,
            mutation=mutation,
            steps=20,
            value_range=(0.0, 1.0),
            seed=3,
        )
        assert ab.similarity == pytest.approx(ba.similarity, abs=1e-9)
        assert ab.ddv_a == pytest.approx(ba.ddv_b)


def test_identical_reused_and_unrelated_pairs(zoo, digits):
    kw = {"seeds": digits.test.x, "n_pairs": 60, "steps": 50, "value_range": (0.0, 1.0), "seed": 0}
    same = compare_models(zoo["src"], copy.deepcopy(zoo["src"]), **kw)
    assert same.similarity == pytest.approx(1.0, abs=1e-9) and same.reused
    assert same.label_agreement == 1.0 and same.weight_cosine == pytest.approx(1.0)
    quant = compare_models(zoo["src"], zoo["quant"], **kw)
    other = compare_models(zoo["src"], zoo["seed"], **kw)
    cross = compare_models(zoo["src"], zoo["cnn"], **kw)
    assert other.similarity < quant.similarity < 1.0 + 1e-9
    assert cross.similarity < same.similarity
    assert cross.weight_cosine is None and "architecture" in cross.weight_cosine_note
    assert other.weight_cosine is not None and other.weight_cosine < quant.weight_cosine


def test_same_seed_gives_the_same_numbers(zoo, digits):
    kw = {"seeds": digits.test.x, "n_pairs": 30, "steps": 30, "value_range": (0.0, 1.0)}
    r1 = compare_models(zoo["src"], zoo["seed"], seed=5, **kw)
    r2 = compare_models(zoo["src"], zoo["seed"], seed=5, **kw)
    assert r1.to_dict() == r2.to_dict()


def test_cross_task_outputs_of_other_sizes(zoo, digits):
    """DDV entries are distances inside each model's own output space: class counts may differ."""
    three = build_model("mlp", input_shape=(1, 8, 8), num_classes=3, seed=9).eval()
    res = compare_models(zoo["src"], three, seeds=digits.test.x, n_pairs=20, steps=10, seed=0)
    assert -1.0 <= res.similarity <= 1.0 and len(res.ddv_b) == 20


def test_baselines(zoo, digits):
    x = profiling_inputs([zoo["src"]], digits.test.x, n_pairs=50, mutation="none", seed=0)
    assert label_agreement(zoo["src"], zoo["src"], x) == 1.0
    assert 0.0 <= label_agreement(zoo["src"], zoo["seed"], x) < 1.0
    pruned = copy.deepcopy(zoo["src"])
    masks = prune_magnitude(pruned, amount=0.5)
    assert all(abs(float(m.mean()) - 0.5) < 0.02 for m in masks.values())
    w, note = weight_cosine(zoo["src"], pruned)
    assert 0.8 < w < 1.0 and "weight tensors" in note


def test_bad_input_is_a_one_line_error(zoo, digits):
    table = build_model("mlp", input_shape=(14,), num_classes=2, seed=0).eval()
    with pytest.raises(TrustmapError):
        compare_models(zoo["src"], table, seeds=digits.test.x, n_pairs=10, steps=5)
    with pytest.raises(TrustmapError, match="mutation"):
        profiling_inputs([zoo["src"]], digits.test.x, mutation="evolve")  # type: ignore[arg-type]
    with pytest.raises(TrustmapError, match="seed inputs"):
        compare_models(zoo["src"], zoo["seed"])
    with pytest.raises(TrustmapError, match="at least 2"):
        profiling_inputs([zoo["src"]], digits.test.x, n_pairs=1)
