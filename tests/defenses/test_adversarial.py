"""The adversarial-training baselines: FRL-lite's class weights and the shared per-class bookkeeping."""

import pytest
import torch

from trustmap.defenses.adversarial import (
    AdvConfig,
    AttackState,
    frl_weights,
    pgd_at,
    trades,
)


def test_frl_weights_favour_high_error_classes_with_mean_one():
    w = frl_weights(torch.tensor([0.2, 0.5, 0.8]))
    assert w.mean().item() == pytest.approx(1.0) and w[2] > w[1] > w[0]


def test_attack_state_counts_misclassified_per_class():
    s = AttackState.uniform(3, AdvConfig())
    s.record(torch.tensor([True, False, True, True]), torch.tensor([0, 0, 2, 2]))
    assert s.rates().tolist() == [0.5, 0.0, 1.0]
    s.reset()
    assert s.rates().tolist() == [0.0, 0.0, 0.0]


def test_pgd_at_and_trades_run_and_differ(logreg, tiny):
    a = pgd_at(logreg, tiny, config=AdvConfig(epochs=1, batch_size=100), seed=0).model
    b = trades(logreg, tiny, config=AdvConfig(epochs=1, batch_size=100), seed=0).model
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
