"""BAT's defining mechanics: the per-class epsilon update and the target-class KL term of its attack."""

import math

import pytest
import torch
import torch.nn.functional as F

from trustmap.defenses.adversarial import AdvConfig, AttackState, per_class_pgd
from trustmap.defenses.bat import bat, bat_attack_loss, uniform_kl, update_class_eps


def test_uniform_kl_is_zero_iff_wrong_classes_are_balanced():
    y = torch.tensor([0, 3])
    balanced = torch.tensor([[5.0, 1, 1, 1], [2.0, 2, 2, 9]])  # true logit may be anything
    assert torch.allclose(uniform_kl(balanced, y), torch.zeros(2), atol=1e-6)
    skewed = torch.tensor([[0.0, 4, 0, 0], [0.0, 0, 0, 0]])
    y2 = torch.tensor([0, 0])
    kl = uniform_kl(skewed, y2)
    # manual KL(U || p~) over the three wrong classes of the first row
    p = F.softmax(torch.tensor([4.0, 0, 0]), 0)
    expected = sum((1 / 3) * math.log((1 / 3) / float(q)) for q in p)
    assert kl[0].item() == pytest.approx(expected, rel=1e-5)
    assert kl[1].item() == pytest.approx(0.0, abs=1e-6)


def test_uniform_kl_ignores_the_true_logit():
    logits = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    y = torch.arange(6)
    moved = logits.clone()
    moved[torch.arange(6), y] += 7.0
    assert torch.allclose(uniform_kl(logits, y), uniform_kl(moved, y), atol=1e-5)


def test_attack_loss_subtracts_lambda_times_kl():
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([1, 2, 3, 4])
    ce = F.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(bat_attack_loss(0.0)(logits, y), ce)
    assert torch.allclose(bat_attack_loss(2.0)(logits, y), ce - 2.0 * uniform_kl(logits, y))


def test_class_eps_update_weakens_overshooting_classes_and_clips():
    eps_c = torch.full((4,), 0.1)
    rates = torch.tensor([0.9, 0.5, 0.5, 0.1])  # mean 0.5
    new, steps = update_class_eps(eps_c, rates, eps=0.1, steps=5)
    assert new[0] < 0.1 < new[3] and new[1] == pytest.approx(0.1)
    assert new[0].item() == pytest.approx(0.1 * math.exp(-0.4), rel=1e-5)
    assert steps.tolist() == [round(5 * float(e) / 0.1) for e in new]
    far = torch.tensor([1.0, 0.0, 0.0, 0.0])
    for _ in range(5):
        eps_c, _ = update_class_eps(eps_c, far, eps=0.1, steps=5)
    assert eps_c[0].item() == pytest.approx(0.05) and eps_c[1].item() == pytest.approx(0.15)


def test_per_class_pgd_uses_each_class_budget(logreg):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 28, 28, generator=g), torch.arange(40) % 4
    state = AttackState(torch.tensor([0.02, 0.05, 0.1, 0.15]), torch.tensor([1, 3, 5, 7]), torch.ones(4))
    x_adv = per_class_pgd(logreg.eval(), x, y, state=state, alpha=0.03, generator=g)
    dist = (x_adv - x).abs().flatten(1).amax(1)
    for c in range(4):
        assert float(dist[y == c].max()) <= state.eps_c[c] + 1e-6
        assert float(dist[y == c].max()) > 0.5 * state.eps_c[c]  # really attacked up to its own budget


def test_bat_trains_a_copy_and_moves_class_budgets(logreg, tiny):
    before = [p.clone() for p in logreg.parameters()]
    out = bat(
        logreg,
        tiny,
        config=AdvConfig(epochs=2, batch_size=64, lr=0.05),
        num_classes=10,
        seed=0,
    )
    assert all(torch.equal(a, b) for a, b in zip(before, logreg.parameters()))  # the input is untouched
    eps = [out.result.history[-1][f"eps_{c}"] for c in range(10)]
    assert min(eps) >= 0.05 - 1e-6 and max(eps) <= 0.15 + 1e-6 and max(eps) - min(eps) > 1e-3
    assert out.result.extra_parameters == 0 and not out.model.training
