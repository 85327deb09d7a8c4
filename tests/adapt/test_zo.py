"""Zeroth-order mechanics: bit-exact restore, unbiased estimates on a quadratic, variants, no saved activations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.adapt.lora import apply_lora, freeze_except
from trustmap.adapt.memory import saved_bytes, step_memory
from trustmap.adapt.zo import ForwardGradient, ZOOptimizer
from trustmap.utils.seed import torch_generator


def awkward_tensor() -> nn.Parameter:
    """Values of very different magnitudes (zeros, tiny, large): where plain float add/sub loses bits."""
    g = torch_generator(1)
    t = torch.randn(4000, generator=g) * torch.logspace(-9, 1, 4000)
    t[:100] = 0.0
    return nn.Parameter(t)


def test_mezo_perturbation_restores_weights_bit_for_bit():
    p, q = awkward_tensor(), nn.Parameter(torch.zeros(3, 5))
    opt = ZOOptimizer([p, q], lr=1e-3, eps=1e-3, seed=0)
    before = [p.detach().clone(), q.detach().clone()]
    for seed in (0, 17, 2**40):
        opt.perturb_(seed, +1)
        assert not torch.equal(p, before[0])
        opt.perturb_(seed, -2)
        opt.perturb_(seed, +1)
        assert torch.equal(p, before[0]) and torch.equal(q, before[1])


def test_plain_float_mezo_arithmetic_would_not_restore():
    """The check above has teeth: the textbook +eps z, -2 eps z, +eps z sequence in float32 drifts."""
    p = awkward_tensor().detach()
    z = torch.randn(p.shape, generator=torch_generator(0))
    q = p.clone()
    q.add_(z, alpha=1e-3).add_(z, alpha=-2e-3).add_(z, alpha=1e-3)
    assert not torch.equal(p, q)


def test_snap_changes_weights_by_at_most_2_pow_minus_24_of_the_max():
    p = awkward_tensor()
    ref = p.detach().clone()
    ZOOptimizer([p], lr=1e-3, seed=0)
    assert (p.detach() - ref).abs().max() <= ref.abs().max() * 2.0**-23


def quadratic(d: int = 8):
    """``L = 0.5 t'At - b't`` with SPD ``A``; returns (theta, loss closure, A, b)."""
    g = torch_generator(2)
    m = torch.randn(d, d, generator=g)
    a = m @ m.t() / d + torch.eye(d)
    b = torch.randn(d, generator=g)
    theta = nn.Parameter(torch.randn(d, generator=g))
    return theta, (lambda: 0.5 * theta @ a @ theta - b @ theta), a, b


def test_zo_estimate_matches_true_gradient_in_expectation():
    theta, loss, a, b = quadratic()
    opt = ZOOptimizer([theta], lr=1e-3, eps=1e-3, seed=0)
    theta_now = theta.detach().clone()
    g_true = a @ theta_now - b
    est = torch.stack([opt.zeroth_order_grad(loss, seed)[0] for seed in range(6000)]).mean(0)
    assert torch.equal(theta.detach(), theta_now)  # estimating never moves the weights
    assert F.cosine_similarity(est, g_true, dim=0) > 0.97
    assert (est - g_true).norm() / g_true.norm() < 0.25
    one = opt.zeroth_order_grad(loss, 0)[0]
    assert F.cosine_similarity(one, g_true, dim=0) < 0.9  # a single estimate is noisy; the mean is not


def test_forward_gradient_is_the_exact_directional_derivative_and_unbiased():
    theta, _, a, b = quadratic()
    g_true = a @ theta.detach() - b
    fg = ForwardGradient({"theta": theta}, lr=1e-3, seed=0)
    lossf = lambda p: 0.5 * p["theta"] @ a @ p["theta"] - b @ p["theta"]  # noqa: E731
    z = torch.randn(theta.numel(), generator=torch_generator(9))
    _, deriv = fg.directional(lossf, {"theta": z})
    assert deriv == pytest.approx(float(g_true @ z), rel=1e-4)
    gen = torch_generator(0)
    est = []
    for _ in range(1500):
        z = torch.randn(theta.numel(), generator=gen)
        est.append(fg.directional(lossf, {"theta": z})[1] * z)
    assert F.cosine_similarity(torch.stack(est).mean(0), g_true, dim=0) > 0.97


@pytest.mark.parametrize("rule", ["sgd", "sign", "momentum", "adam"])
def test_every_rule_lowers_a_quadratic(rule):
    theta, loss, _, _ = quadratic()
    lr = {"sgd": 0.02, "sign": 0.01, "momentum": 0.005, "adam": 0.03}[rule]
    opt = ZOOptimizer([theta], lr=lr, rule=rule, seed=0)
    start = float(loss().detach())
    for _ in range(300):
        opt.step(loss)
    assert float(loss().detach()) < start - 0.5 * abs(start)
    expected = {"sgd": 0, "sign": 0, "momentum": 1, "adam": 2}[rule] * theta.numel() * 4
    assert opt.state_bytes() - (4 if rule == "adam" else 0) == expected


def test_block_wise_moves_one_block_per_step_and_sparse_perturbs_a_fraction():
    ps = [nn.Parameter(torch.randn(50)) for _ in range(3)]
    loss = lambda: sum((p**2).sum() for p in ps)  # noqa: E731
    opt = ZOOptimizer(ps, lr=1e-2, blocks=[[0], [1, 2]], seed=0)
    before = [p.detach().clone() for p in ps]
    opt.step(loss)
    assert not torch.equal(ps[0], before[0]) and torch.equal(ps[1], before[1]) and torch.equal(ps[2], before[2])
    with pytest.raises(ValueError, match="partition"):
        ZOOptimizer(ps, lr=1e-2, blocks=[[0], [1]])
    q = nn.Parameter(torch.ones(20000))
    sparse = ZOOptimizer([q], lr=1e-2, sparsity=0.75, seed=0)
    ref = q.detach().clone()
    sparse.perturb_(3, +1)
    assert 0.22 < float((q != ref).float().mean()) < 0.28
    sparse.perturb_(3, -1)
    assert torch.equal(q, ref)


def test_zo_step_saves_no_activations_and_fo_adam_does(tiny, batch):
    ids, y = batch
    freeze_except(tiny)
    apply_lora(tiny.encoder, seed=0)
    params = [p for p in tiny.parameters() if p.requires_grad]
    zo = ZOOptimizer(params, lr=1e-3, seed=0)

    def zo_step() -> None:
        with torch.no_grad():
            zo.step(lambda: F.cross_entropy(tiny(ids), y))

    mem = step_memory(tiny, zo_step, optimizer=zo)
    assert mem.saved == 0 and mem.optimizer == 0
    _, fo_saved = saved_bytes(lambda: F.cross_entropy(tiny(ids), y).backward(), exclude=tiny)
    assert fo_saved > 10_000


def test_same_seed_same_trajectory():
    runs = []
    for _ in range(2):
        theta, loss, _, _ = quadratic()
        opt = ZOOptimizer([theta], lr=0.01, seed=4)
        for _ in range(5):
            opt.step(loss)
        runs.append(theta.detach().clone())
    assert torch.equal(*runs)
