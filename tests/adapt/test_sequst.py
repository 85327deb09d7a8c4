"""SeqUST mechanics on synthetic token features: GCE, MC-dropout selection, self-training, span F1."""

import numpy as np
import pytest
import torch

from trustmap.adapt.sequst import (
    SelfTrainConfig,
    gce_loss,
    mc_dropout,
    predict_tags,
    self_train,
    span_f1,
    train_supervised,
)


def _toy(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Tag = which of 3 directions a token's feature points to (plus noise)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 8, dtype=np.float32) * 3
    xs, ys = [], []
    for _ in range(n):
        tags = rng.choice(3, size=rng.integers(3, 9), p=[0.7, 0.15, 0.15])
        xs.append((centres[tags] + rng.normal(0, 0.5, (len(tags), 8))).astype(np.float32))
        ys.append(tags.astype(np.int64))
    return xs, ys


def test_gce_tends_to_cross_entropy_shape_and_ignores_masked_positions():
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    good = gce_loss(logits, torch.tensor([0, 1, 2]))
    bad = gce_loss(logits, torch.tensor([1, 2, 0]))
    assert 0 <= good < 0.05 < bad <= 1 / 0.7
    assert gce_loss(logits, torch.tensor([0, -100, -100])) == pytest.approx(float(good), rel=1e-5)
    assert float(gce_loss(logits, torch.full((3,), -100))) == 0.0


def test_supervised_tagger_learns_the_toy_task_and_f1_counts_only_tags():
    xs, ys = _toy(30, 0)
    tx, ty = _toy(40, 1)
    cfg = SelfTrainConfig(teacher_steps=150, hidden=16)
    model = train_supervised(xs, ys, num_tags=3, seed=0, config=cfg)
    assert span_f1(predict_tags(model, tx), ty)["f1"] > 0.8
    assert span_f1([np.zeros(3, np.int64)], [np.array([0, 1, 2])]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_mc_dropout_gives_probabilities_and_variances_per_token():
    xs, ys = _toy(10, 0)
    model = train_supervised(xs, ys, num_tags=3, seed=0, config=SelfTrainConfig(teacher_steps=5, hidden=8))
    stats = mc_dropout(model, xs, passes=4, seed=0)
    assert [m.shape for m, _ in stats] == [(len(x), 3) for x in xs]
    assert all(np.allclose(m.sum(1), 1, atol=1e-5) and (v >= 0).all() for m, v in stats)
    again = mc_dropout(model, xs, passes=4, seed=0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(stats, again))


def test_self_training_selects_tokens_and_logs_their_precision():
    lab_x, lab_y = _toy(6, 0)
    unl_x, unl_y = _toy(40, 2)
    cfg = SelfTrainConfig(rounds=2, mc_passes=3, teacher_steps=150, student_steps=100, hidden=16)
    student, logs = self_train(lab_x, lab_y, unl_x, num_tags=3, mode="sequst", seed=0, config=cfg, unl_gold=unl_y)
    assert [g.round for g in logs] == [1, 2] and not student.training
    n_tokens = sum(len(x) for x in unl_x)
    assert all(g.selected + g.rejected == n_tokens and 0 < g.selected < n_tokens for g in logs)
    assert all(0 <= g.selected_precision <= 1 for g in logs)
    _, vlogs = self_train(lab_x, lab_y, unl_x, num_tags=3, mode="vanilla", seed=0, config=cfg, unl_gold=unl_y)
    assert all(g.rejected == 0 for g in vlogs)
    with pytest.raises(ValueError, match="mode"):
        self_train(lab_x, lab_y, unl_x, num_tags=3, mode="other")
