"""DEFT: the L0 surrogate, density counting over real tokens, and its effect on training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trustmap.adapt.deft import DensityMonitor, activation_modules, deft_penalty
from trustmap.adapt.lora import apply_lora, freeze_except

from .conftest import TinyClassifier


def test_penalty_is_the_l0_surrogate(tiny, batch):
    ids, _ = batch
    monitor = DensityMonitor(tiny)
    assert len(monitor.module_names) == 2
    monitor.clear()
    tiny(ids)
    manual = torch.stack([(a * a / (a * a + 1e-7)).mean() for a in monitor.outputs]).mean()
    assert deft_penalty(monitor, weight=2.0).item() == pytest.approx(2 * manual.item())
    assert monitor.outputs == []
    with torch.no_grad():
        tiny(ids)
    assert monitor.outputs == []  # eval forwards keep nothing
    monitor.remove()


def test_density_counts_only_real_tokens(tiny):
    ids = torch.tensor([[5, 6, 7, 0, 0, 0]])
    monitor = DensityMonitor(tiny, threshold=-1.0)  # every entry counts as dense ...
    full = monitor.measure(lambda: tiny(ids))
    assert full.density == pytest.approx(1.0)

    def masked() -> None:
        monitor.token_mask = ids != 0
        tiny(ids)

    monitor.threshold = 1e-3
    d = monitor.measure(masked)
    assert 0.0 < d.density <= 1.0 and 0.0 < d.positive < 1.0
    monitor.remove()


def test_density_loss_lowers_density_of_a_relu_model(batch):
    """With ReLU the L0 surrogate has leverage (small positive outputs are pushed to exact zeros). With GELU and
    eps = 1e-7 it barely acts on |a| > 1e-3: see the deft repro's notes."""
    ids, y = batch
    densities, nonzeros, losses = [], [], []
    for weight in (0.0, 1.0):
        model = TinyClassifier(act="relu")
        freeze_except(model)
        apply_lora(model.encoder, targets=("query", "value", "intermediate.dense"), r=4, seed=0)
        monitor = DensityMonitor(model)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-2)
        for _ in range(30):
            opt.zero_grad()
            monitor.clear()
            loss = F.cross_entropy(model(ids), y) + deft_penalty(monitor, weight=weight)
            loss.backward()
            opt.step()
        losses.append(float(F.cross_entropy(model(ids), y).detach()))
        measured = monitor.measure(lambda: model(ids))
        densities.append(measured.density)
        nonzeros.append(measured.nonzero)
        monitor.remove()
    assert densities[1] < 0.5 * densities[0]
    assert nonzeros[1] < 0.5 * nonzeros[0]  # ReLU: the paper's count_nonzero density falls too
    assert losses[1] < 0.1  # the task is still fitted


def test_missing_activation_modules_is_a_clear_error():
    with pytest.raises(ValueError, match="activation"):
        activation_modules(torch.nn.Linear(2, 2))


def test_nonzero_density_counts_exact_zeros_only(tiny):
    ids = torch.tensor([[5, 6, 7, 8]])
    relu = TinyClassifier(act="relu")
    gelu_monitor, relu_monitor = DensityMonitor(tiny), DensityMonitor(relu)
    g, r = gelu_monitor.measure(lambda: tiny(ids)), relu_monitor.measure(lambda: relu(ids))
    assert g.nonzero > 0.99  # GELU almost never outputs an exact zero
    assert r.nonzero == pytest.approx(r.positive, abs=1e-6)  # ReLU: nonzero exactly where the input is positive


def test_larger_deft_eps_discounts_small_activations(tiny, batch):
    from trustmap.adapt.methods import AdaptConfig

    ids, _ = batch
    monitor = DensityMonitor(tiny)
    tiny(ids)
    small, large = monitor.penalty(1e-7), monitor.penalty(1e-1)
    assert large < small  # a larger eps discounts small activations
    assert AdaptConfig().deft_eps == 1e-7
    monitor.remove()
