"""Gradient leakage: the inverting-gradients attack on a client's uploaded gradient, and its scores.

Inverting gradients (Geiping et al., arXiv 2003.14053): find images ``x̂`` whose gradient matches the
upload in *cosine* similarity, ``1 − ⟨∇θL(x̂,y), g⟩ / (‖∇θL(x̂,y)‖‖g‖)``, plus a total-variation prior,
by Adam on ``x̂`` clipped to [0, 1]. Labels come from iDLG (Zhao et al., arXiv 2001.02610) at batch size
1 (the only negative entry of the last bias's gradient) and are given at larger batches. Scores: PSNR
and SSIM against the true batch, matched by the best permutation (Hungarian on MSE).

Shapes: ``x`` ``(B, C, H, W)`` in [0, 1]; ``y`` ``(B,)``; gradients are a list, one tensor per parameter.

>>> g = batch_gradients(model, x, y)
>>> x_hat = invert_gradients(model, g, labels=idlg_label(g), shape=x.shape, steps=300, generator=gen)
>>> psnr_matched(x_hat, x)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Grads = list[torch.Tensor]


def batch_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, create_graph: bool = False) -> Grads:
    """``∇θ mean CE(model(x), y)`` for every trainable parameter."""
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x), y)
    return list(torch.autograd.grad(loss, params, create_graph=create_graph))


def gradient_matching_loss(a: Grads, b: Grads) -> torch.Tensor:
    """Cosine gradient distance ``1 − cos(concat(a), concat(b))`` (0 = same direction, 2 = opposite)."""
    dot = sum((ga * gb).sum() for ga, gb in zip(a, b))
    na = torch.sqrt(sum((ga * ga).sum() for ga in a))
    nb = torch.sqrt(sum((gb * gb).sum() for gb in b))
    return 1.0 - dot / (na * nb + 1e-12)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels (anisotropic TV)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def idlg_label(grads: Grads) -> torch.Tensor:
    """iDLG at batch size 1: the last layer's bias gradient is ``softmax − onehot``, negative only at y."""
    return grads[-1].argmin().reshape(1)


def invert_gradients(
    model: nn.Module,
    target: Grads,
    *,
    labels: torch.Tensor,
    shape: tuple[int, ...],
    steps: int = 300,
    lr: float = 0.1,
    tv: float = 1e-4,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Reconstruct a batch of ``shape`` whose gradient matches ``target`` (inverting gradients)."""
    model.eval()
    target = [t.detach() for t in target]
    x = torch.rand(shape, generator=generator).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[int(steps * f) for f in (3 / 8, 5 / 8, 7 / 8)], gamma=0.1
    )
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = gradient_matching_loss(batch_gradients(model, x, labels, create_graph=True), target)
        loss = loss + tv * total_variation(x)
        (grad_x,) = torch.autograd.grad(loss, x)
        x.grad = grad_x.sign()  # signed gradients, as in the paper
        opt.step()
        sched.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
    return x.detach()


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) for images in [0, 1]."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor, *, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Per-image SSIM (Gaussian window, constants for data range 1), mean over channels and pixels."""
    c = a.shape[1]
    coords = torch.arange(window, dtype=a.dtype) - (window - 1) / 2
    g1 = torch.exp(-(coords**2) / (2 * sigma**2))
    g1 = g1 / g1.sum()
    kernel = (g1[:, None] * g1[None, :]).expand(c, 1, window, window)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, padding=window // 2, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def match_scores(x_hat: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """Mean PSNR and SSIM of ``x_hat`` against ``x`` under the best pairing (Hungarian on MSE)."""
    from scipy.optimize import linear_sum_assignment

    mse = ((x_hat[:, None] - x[None, :]) ** 2).flatten(2).mean(2).numpy()
    rows, cols = linear_sum_assignment(mse)
    order = torch.as_tensor(cols[np.argsort(rows)])
    return float(psnr(x_hat, x[order]).mean()), float(ssim(x_hat, x[order]).mean())
