"""The closed-form ReLU NTK (known answers, the empirical NTK of a wide net) and KIP distillation."""

import math

import numpy as np
import pytest
import torch

from trustmap.data.distill import KIPConfig, kip_distill, kip_loss, krr_accuracy, one_hot, relu_ntk
from trustmap.errors import DataError, TrustmapError


def test_hand_computed_ntk_of_orthogonal_and_equal_unit_vectors():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    k = relu_ntk(x, x, w_std=math.sqrt(2.0), b_std=0.0)
    # K0 = x.x' (s_w^2 / d = 1); equal points: theta = 0 -> Sigma1 = 1, NTK = 1 + 2 * 1 * 1/2 = 2;
    # orthogonal points: theta = pi/2 -> Sigma1 = 2 * 1 * 1 / (2 pi) = 1/pi, K0 = 0 -> NTK = 1/pi.
    assert k.shape == (2, 2)
    assert torch.allclose(k, torch.tensor([[2.0, 1 / math.pi], [1 / math.pi, 2.0]], dtype=torch.float64), atol=1e-6)


def test_closed_form_matches_the_empirical_ntk_of_a_wide_random_net():
    d, width = 6, 40000
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, d, generator=gen, dtype=torch.float64)
    w_std, b_std = math.sqrt(2.0), 0.1
    w1 = torch.randn(width, d, generator=gen, dtype=torch.float64, requires_grad=True)
    b1 = torch.randn(width, generator=gen, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(width, generator=gen, dtype=torch.float64, requires_grad=True)
    b2 = torch.randn(1, generator=gen, dtype=torch.float64, requires_grad=True)
    params = (w1, b1, w2, b2)

    def f(v):  # NTK parameterisation: standard-normal weights, scales in the forward pass
        h = torch.relu(w_std / math.sqrt(d) * (w1 @ v) + b_std * b1)
        return w_std / math.sqrt(width) * (w2 @ h) + b_std * b2[0]

    jac = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(f(v), params)]) for v in x])
    empirical = jac @ jac.T
    closed = relu_ntk(x, x, w_std=w_std, b_std=b_std)
    assert torch.allclose(empirical, closed, rtol=0.05, atol=0.0), (empirical, closed)


def test_kernel_is_symmetric_psd_and_checks_its_inputs():
    x = np.random.default_rng(0).random((30, 1, 4, 4))
    k = relu_ntk(x, x)
    assert torch.allclose(k, k.T) and torch.linalg.eigvalsh(k).min() > -1e-9 * k.diag().max()
    with pytest.raises(DataError, match="same dimension"):
        relu_ntk(x, np.zeros((3, 15)))


def _blobs(n_per=30, d=16, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.random((classes, d))
    x = np.clip(np.repeat(centres, n_per, 0) + 0.15 * rng.standard_normal((classes * n_per, d)), 0, 1)
    return x.reshape(-1, 1, 4, 4).astype(np.float32), np.repeat(np.arange(classes), n_per)


def test_kip_reduces_its_loss_and_is_deterministic():
    x, y = _blobs()
    cfg = KIPConfig(steps=40, support_per_class=2, target_batch=40, lr=0.01)
    out = kip_distill(x, y, num_classes=4, config=cfg, seed=3)
    again = kip_distill(x, y, num_classes=4, config=cfg, seed=3)
    assert out.x.shape == (8, 1, 4, 4) and list(out.y) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert np.array_equal(out.x, again.x) and out.losses == again.losses
    assert out.x.min() >= 0.0 and out.x.max() <= 1.0
    full = torch.from_numpy(x).reshape(len(x), -1).double()
    before = float(
        kip_loss(torch.from_numpy(out.init_x).reshape(8, -1).double(), one_hot(out.y, 4), full, one_hot(y, 4))
    )
    after = float(kip_loss(torch.from_numpy(out.x).reshape(8, -1).double(), one_hot(out.y, 4), full, one_hot(y, 4)))
    assert after < 0.9 * before
    assert krr_accuracy(out.x, out.y, x, y, num_classes=4) >= krr_accuracy(out.init_x, out.y, x, y, num_classes=4)


def test_kip_refuses_bad_input():
    x, y = _blobs()
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        kip_distill(bad, y, num_classes=4, config=KIPConfig(steps=1))
    with pytest.raises(DataError, match="class indices"):
        kip_distill(x, y + 1, num_classes=4, config=KIPConfig(steps=1))
    with pytest.raises(DataError, match="balanced draw"):
        kip_distill(x, y, num_classes=4, config=KIPConfig(steps=1, support_per_class=31))
    with pytest.raises(TrustmapError, match="lr > 0"):
        KIPConfig(lr=0.0)
