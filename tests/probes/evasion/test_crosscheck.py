"""Cross-check: trustmap's PGD finds the same robust accuracy as torchattacks' PGD (within 2 points) on
the same model, data and settings; its early stopping must not make it weaker."""

from __future__ import annotations

import functools

import pytest
import torch

from trustmap.probes.evasion import pgd, robust_accuracy


@pytest.mark.parametrize("eps", [0.03, 0.1])
def test_pgd_matches_torchattacks(small_cnn, fashion_eval, eps):
    torchattacks = pytest.importorskip("torchattacks")
    from trustmap.data import stratified_indices

    idx = stratified_indices(fashion_eval.y, 500, seed=2)
    x, y = torch.from_numpy(fashion_eval.x[idx]), torch.from_numpy(fashion_eval.y[idx])
    steps, alpha = 10, 2.5 * eps / 10
    ours = robust_accuracy(
        small_cnn,
        x,
        y,
        batch_size=250,
        attack=functools.partial(pgd, eps=eps, alpha=alpha, steps=steps, generator=torch.Generator().manual_seed(0)),
    )

    torch.manual_seed(0)  # torchattacks draws its random start from the global generator
    attack = torchattacks.PGD(small_cnn.module, eps=eps, alpha=alpha, steps=steps, random_start=True)
    theirs = robust_accuracy(small_cnn, x, y, batch_size=250, attack=lambda m, xb, yb: attack(xb, yb))

    assert ours.clean_accuracy == theirs.clean_accuracy
    assert 0.0 <= theirs.robust_accuracy < theirs.clean_accuracy
    assert abs(ours.robust_accuracy - theirs.robust_accuracy) <= 0.02
    assert ours.robust_accuracy <= theirs.robust_accuracy + 0.005  # early stopping does not weaken it
