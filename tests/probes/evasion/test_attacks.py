"""The functional attacks' defining mechanics: balls, clipping, Madry's update, early stopping, seeding,
APGD's strength and schedule, and robust-accuracy bookkeeping."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trustmap.probes.evasion import apgd_ce, fgsm, pgd, robust_accuracy
from trustmap.probes.evasion.attack_apgd import checkpoint_lengths


@pytest.fixture(scope="module")
def batch(fashion_eval):
    from trustmap.data import stratified_indices

    idx = stratified_indices(fashion_eval.y, 200, seed=1)
    return torch.from_numpy(fashion_eval.x[idx]), torch.from_numpy(fashion_eval.y[idx])


@pytest.fixture(scope="module")
def net(small_cnn):
    return small_cnn.module


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Counting(torch.nn.Module):
    """Wraps a model and counts the examples it is asked to forward."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.seen = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen += len(x)
        return self.inner(x)


def fooled(model, x, y) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1) != y


@pytest.mark.parametrize("attack", ["pgd", "apgd"])
def test_linf_ball_and_range(net, batch, attack):
    x, y = batch
    fn = pgd if attack == "pgd" else apgd_ce
    x_adv = fn(net, x, y, eps=0.1, steps=5, generator=gen())
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and not x_adv.requires_grad
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert fooled(net, x_adv, y).float().mean() > fooled(net, x, y).float().mean() + 0.2


@pytest.mark.parametrize("attack", ["pgd", "apgd"])
def test_l2_ball_and_custom_clip(net, batch, attack):
    x, y = batch[0].clamp(0.1, 0.9), batch[1]
    fn = pgd if attack == "pgd" else apgd_ce
    x_adv = fn(net, x, y, eps=1.5, steps=5, norm="l2", clip=(0.1, 0.9), generator=gen())
    norms = (x_adv - x).flatten(1).norm(dim=1)
    assert (norms <= 1.5 + 1e-4).all() and norms.max() > 1.0
    assert x_adv.min() >= 0.1 - 1e-7 and x_adv.max() <= 0.9 + 1e-7


def test_no_clip_leaves_the_range(net, batch):
    x, y = batch
    x_adv = pgd(net, x, y, eps=0.2, steps=3, clip=None, generator=gen(), early_stop=False)
    assert x_adv.min() < 0.0 and (x_adv - x).abs().max() <= 0.2 + 1e-6


def test_pgd_is_madry_pgd(net, batch):
    """Without random start or early stopping, pgd is exactly the sign / normalised-gradient loop."""
    x, y = batch
    for norm, eps, alpha in (("linf", 0.08, 0.02), ("l2", 1.0, 0.3)):
        ref = x.clone()
        for _ in range(4):
            xr = ref.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(F.cross_entropy(net(xr), y, reduction="sum"), xr)
            if norm == "linf":
                ref = torch.min(torch.max(ref + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
            else:
                step = g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                d = ref + alpha * step - x
                dn = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                ref = (x + d * torch.clamp(eps / dn, max=1.0)).clamp(0, 1)
        ours = pgd(net, x, y, eps=eps, alpha=alpha, steps=4, norm=norm, random_start=False, early_stop=False)
        assert torch.allclose(ours, ref, atol=1e-6), norm


def test_default_step_size_is_madry_rule(net, batch):
    x, y = batch
    a = pgd(net, x, y, eps=0.1, steps=8, generator=gen())
    b = pgd(net, x, y, eps=0.1, alpha=2.5 * 0.1 / 8, steps=8, generator=gen())
    assert torch.equal(a, b)


def test_seeded_generator_is_deterministic(net, batch):
    x, y = batch
    for fn in (pgd, apgd_ce):
        a = fn(net, x, y, eps=0.1, steps=3, generator=gen(7))
        b = fn(net, x, y, eps=0.1, steps=3, generator=gen(7))
        c = fn(net, x, y, eps=0.1, steps=3, generator=gen(8))
        assert torch.equal(a, b) and not torch.equal(a, c)
    before = torch.random.get_rng_state()
    pgd(net, x, y, eps=0.1, steps=1)  # no generator: a private one, the global state is untouched
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize("attack", ["pgd", "apgd"])
def test_early_stop_saves_work_and_never_weakens(net, batch, attack):
    x, y = batch
    fn = pgd if attack == "pgd" else apgd_ce
    counts, robust = {}, {}
    for es in (True, False):
        model = Counting(net)
        x_adv = fn(model, x, y, eps=0.1, steps=10, generator=gen(), early_stop=es)
        counts[es], robust[es] = model.seen, float((~fooled(net, x_adv, y)).float().mean())
    assert counts[True] < 0.6 * counts[False]  # the work shrinks to the still-correct examples
    assert robust[True] <= robust[False] + 0.01  # and the attack is no weaker (up to float noise)


def test_per_example_eps_and_custom_loss(net, batch):
    x, y = batch
    eps = torch.where(torch.arange(len(x)) % 2 == 0, 0.1, 0.0)
    x_adv = pgd(net, x, y, eps=eps, steps=3, generator=gen())
    assert torch.equal(x_adv[1::2], x[1::2])
    assert (x_adv[::2] - x[::2]).abs().amax() <= 0.1 + 1e-6 and (x_adv[::2] != x[::2]).any()
    # minimising the loss (a defence's objective) makes the model more confident, not less
    helpful = pgd(
        net,
        x,
        y,
        eps=0.1,
        steps=5,
        generator=gen(),
        early_stop=False,
        loss_fn=lambda logits, t: -F.cross_entropy(logits, t, reduction="none"),
    )
    with torch.no_grad():
        assert F.cross_entropy(net(helpful), y) < F.cross_entropy(net(x), y)
    with pytest.raises(ValueError, match="one loss per example"):
        pgd(net, x, y, eps=0.1, steps=1, loss_fn=lambda logits, t: F.cross_entropy(logits, t))


def test_fgsm_is_one_signed_step(net, batch):
    x, y = batch
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(net(xr), y, reduction="sum"), xr)
    assert torch.equal(fgsm(net, x, y, eps=0.05), (x + 0.05 * g.sign()).clamp(0, 1))


def test_apgd_schedule_and_strength(net, batch):
    assert checkpoint_lengths(100) == (22, 3, 6) and checkpoint_lengths(10) == (2, 1, 1)
    x, y = batch
    ev = {}
    for name, fn in (("pgd", pgd), ("apgd", apgd_ce)):
        ev[name] = robust_accuracy(net, x, y, attack=functools.partial(fn, eps=0.04, steps=20, generator=gen()))
    assert ev["pgd"].clean_accuracy == ev["apgd"].clean_accuracy
    assert ev["apgd"].robust_accuracy <= ev["pgd"].robust_accuracy + 0.02
    assert ev["apgd"].robust_accuracy < ev["apgd"].clean_accuracy


def test_bad_arguments(net, batch):
    x, y = batch
    with pytest.raises(ValueError, match="norm"):
        pgd(net, x, y, eps=0.1, norm="l1")
    with pytest.raises(ValueError, match="non-negative"):
        pgd(net, x, y, eps=-0.1)
    with pytest.raises(ValueError, match="shape"):
        apgd_ce(net, x, y, eps=torch.zeros(3))
    with pytest.raises(ValueError, match="white-box"):
        fgsm(lambda t: net(t).detach(), x, y, eps=0.1)


def test_robust_accuracy_attacks_only_correct_examples(net, batch):
    x, y = batch
    calls = []

    def attack(model, xb, yb):
        calls.append(len(xb))
        assert bool((model(xb).argmax(1) == yb).all())  # only correctly classified examples are attacked
        return pgd(model, xb, yb, eps=0.1, steps=5, generator=gen())

    ev = robust_accuracy(net, x.numpy(), y.numpy(), attack=attack, batch_size=64)
    assert sum(calls) == int(ev.clean.sum()) and max(calls) <= 64
    assert not (ev.robust & ~ev.clean).any() and ev.robust_accuracy < ev.clean_accuracy
    assert ev.attack_success_rate == pytest.approx(1 - ev.robust.sum() / ev.clean.sum())
    rows = ev.per_class([str(c) for c in range(10)])
    assert sum(r["n"] for r in rows) == len(y)
    assert np.average([r["robust"] for r in rows], weights=[r["n"] for r in rows]) == pytest.approx(ev.robust_accuracy)
    identity = robust_accuracy(net, x, y, attack=lambda m, xb, yb: xb)
    assert np.array_equal(identity.robust, identity.clean)
