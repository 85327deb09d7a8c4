"""SFR-on's defining mechanics: the Fisher saliency mask, adaptive ascent and the fast/slow schedule."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trustmap.data import Split
from trustmap.defenses.sfr_on import (
    SFROnConfig,
    adaptive_ascent_loss,
    cycle_batches,
    fisher_diagonal,
    forget_schedule,
    saliency_mask,
    sfr_on,
)
from trustmap.defenses.unlearning import finetune, gradient_ascent, salun_lite
from trustmap.utils.seed import seeded_generator


def test_saliency_mask_keeps_weights_more_important_to_the_forget_set():
    f = {"w": torch.tensor([2.0, 1.0, 0.5, 0.0])}
    r = {"w": torch.tensor([1.0, 1.0, 1.0, 0.0])}
    assert saliency_mask(f, r, threshold=1.0)["w"].tolist() == [True, True, False, True]
    assert saliency_mask(f, r, threshold=1.5)["w"].tolist() == [
        True,
        False,
        False,
        False,
    ]


def test_fisher_is_the_mean_squared_batch_gradient(logreg, tiny):
    part = tiny.subset(np.arange(100))
    fisher = fisher_diagonal(logreg, part, batch_size=50)
    expected = torch.zeros_like(logreg[1].weight)
    for i in (0, 50):
        x, y = (
            torch.from_numpy(part.x[i : i + 50]),
            torch.from_numpy(part.y[i : i + 50]),
        )
        (g,) = torch.autograd.grad(F.cross_entropy(logreg(x), y), [logreg[1].weight])
        expected += g**2 / 2
    assert torch.allclose(fisher["1.weight"], expected, atol=1e-9)


def test_fast_slow_schedule():
    vals = [forget_schedule(t, steps=50, alpha=25.0, every=5) for t in range(50)]
    fast = [t for t, v in enumerate(vals) if v is not None]
    assert fast == list(range(0, 50, 5))  # ascent every 5th step; a retain step every step
    assert vals[0] == pytest.approx(25.0) and vals[25] == pytest.approx(12.5)
    assert vals[45] == pytest.approx(25 * (1 + math.cos(math.pi * 45 / 50)) / 2)
    assert all(a > b for a, b in zip([vals[t] for t in fast], [vals[t] for t in fast][1:]))


def test_adaptive_ascent_weights_low_loss_examples_more():
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 0])
    ce = F.cross_entropy(logits, y, reduction="none")
    assert adaptive_ascent_loss(logits, y, lambd=0.0).item() == pytest.approx(ce.mean().item())
    w = 1 / ce**0.5
    assert adaptive_ascent_loss(logits, y, lambd=0.5).item() == pytest.approx(float((w / w.sum() * ce).sum()), rel=1e-5)
    assert adaptive_ascent_loss(logits, y, lambd=0.5) < ce.mean()  # the confident (low-loss) example dominates


def test_fully_masked_forget_step_changes_nothing(logreg, tiny):
    forget, remain = (
        tiny.subset(np.flatnonzero(tiny.y == 0)),
        tiny.subset(np.flatnonzero(tiny.y != 0)),
    )
    cfg = SFROnConfig(steps=1, threshold=float("inf"), weight_decay=0.0, batch_size=64)
    out = sfr_on(logreg, forget=forget, remain=remain, config=cfg, seed=3)
    xr, yr = next(cycle_batches(remain, 64, seeded_generator(3, 0x72)))  # the first retain batch
    grads = torch.autograd.grad(F.cross_entropy(logreg(xr), yr), list(logreg.parameters()))
    for p0, g, p1 in zip(logreg.parameters(), grads, out.model.parameters()):
        assert torch.allclose(p1, p0 - 0.01 * g, atol=1e-6)  # only the slow retain step moved the weights
    assert out.result.metrics["mask_density"] == 0.0


def test_sfr_on_forgets_a_class_and_baselines_run(fashion):
    from trustmap.data import stratified_indices
    from trustmap.models import TrainConfig, build_model, fit

    data = fashion.train.subset(stratified_indices(fashion.train.y, 2000, seed=0))
    torch.manual_seed(0)
    model = build_model("logreg", input_shape=(1, 28, 28), num_classes=10)
    fit(model, data, config=TrainConfig(epochs=3, lr=1e-2), seed=0, progress=False)
    f, r = (
        data.subset(np.flatnonzero(data.y == 1)),
        data.subset(np.flatnonzero(data.y != 1)),
    )

    def acc(m: torch.nn.Module, s: Split) -> float:
        return float((m(torch.from_numpy(s.x)).argmax(1).numpy() == s.y).mean())

    assert acc(model, f) > 0.8
    out = sfr_on(model, forget=f, remain=r, config=SFROnConfig(steps=50), seed=0)
    assert acc(out.model, f) <= 0.05 and acc(out.model, r) > acc(model, r) - 0.1
    for m in (
        gradient_ascent(model, forget=f, steps=5).model,
        finetune(model, remain=r, steps=5).model,
        salun_lite(model, forget=f, remain=r, num_classes=10, steps=5).model,
    ):
        assert 0.0 <= acc(m, f) <= 1.0
