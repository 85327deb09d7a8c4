"""GTP selection: recovers a planted subset, skips duplicates that top-k takes, gradients and trajectories
have the right shapes and agree with autograd, deterministic, bad budgets raise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.selection.gtp import (
    gradient_trajectories,
    gtp_select,
    per_example_gradients,
    random_select,
    top_loss,
    topk_cosine,
    warmup_checkpoints,
)
from trustmap.errors import TrustmapError


def test_pursuit_recovers_a_planted_subset_and_skips_its_duplicates():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(300, 64))
    planted = [3, 17, 50, 120, 299]
    target = g[planted].T @ np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    idx, w = gtp_select(g, target, k=5, return_weights=True)
    assert sorted(idx.tolist()) == planted and np.allclose(g[idx].T @ w, target, atol=1e-6)
    pool = np.vstack([g, g[planted]])  # rows 300..304 duplicate the planted rows
    assert sorted(gtp_select(pool, target, k=5).tolist()) == planted  # ties go to the lower index
    top = topk_cosine(pool, target, k=10)
    assert len(set(top.tolist()) & set(range(300, 305))) >= 2  # independent ranking takes copies


def test_per_example_gradients_match_autograd_and_trajectories_have_the_right_shape():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    x, y = torch.randn(5, 6), torch.tensor([0, 1, 1, 0, 1])
    g = per_example_gradients(model, x, y)
    model.zero_grad()
    F.cross_entropy(model(x[2:3]), y[2:3]).backward()
    ref = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert g.shape == (5, 38) and torch.allclose(g[2], ref, atol=1e-6)
    ckpts = warmup_checkpoints(model, x.numpy(), y.numpy(), epochs=2, checkpoints=3, batch_size=2, seed=0)
    assert len(ckpts) == 3
    t1 = gradient_trajectories(ckpts, x.numpy(), y.numpy(), dim=8, seed=1, chunk=2)
    t2 = gradient_trajectories(ckpts, x.numpy(), y.numpy(), dim=8, seed=1)
    assert t1.shape == (5, 24) and np.allclose(t1, t2, atol=1e-5)


def test_baselines_and_bad_budgets():
    assert top_loss(np.array([0.1, 3.0, 2.0, 3.0]), k=2).tolist() == [1, 3]
    assert np.array_equal(random_select(50, k=5, seed=1), random_select(50, k=5, seed=1))
    with pytest.raises(TrustmapError, match="budget k"):
        gtp_select(np.ones((4, 3)), np.ones(3), k=5)
    with pytest.raises(TrustmapError, match="target"):
        gtp_select(np.ones((4, 3)), np.ones(2), k=2)
