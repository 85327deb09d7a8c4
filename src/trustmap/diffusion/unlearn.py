"""Class forgetting in a class-conditional DDPM: SFR-on (Huang et al., NeurIPS 2024, arXiv 2409.19732) and
its two baselines, gradient ascent (GA) and fine-tuning on the remaining classes (FT).

All three start from a copy of a trained conditional :class:`~trustmap.diffusion.model.DDPM` and share one
Adam optimiser (lr ``lr``), gradient clipping at 1.0 and batches of ``batch_size`` forget and remaining
images, after the official ``DDPM/runners/diffusion.py`` (``sfron_forget``, CIFAR-10: 150 iterations,
Adam 1e-4, batch 128, ``--forget_alpha 10 --decay_forget_alpha --unlearn_loss adaga --method ron``):

- ``sfr-on``: every iteration a *fast* step of adaptive gradient ascent on a forget batch (per-sample
  diffusion losses weighted ``∝ loss^-lambda``, scaled by ``alpha`` with cosine decay, gradients masked by
  the Fisher saliency map ``F_forget / F_remain >= gamma``), then a *slow* ordinary diffusion step on a
  remaining batch. The mask and the cosine schedule reuse :func:`trustmap.defenses.sfr_on.saliency_mask`
  and :func:`~trustmap.defenses.sfr_on.forget_schedule`; the Fisher here is of the diffusion loss.
- ``ga``: gradient ascent on the forget class's diffusion loss only (no mask, no remaining step).
- ``ft``: the diffusion loss on the remaining classes only.

Shapes: images ``(N, 1, S, S)`` in [0, 1], labels ``(N,)`` int64 in 0..9.

>>> out = forget_class(model, x, y, forget=1, method="sfr-on", config=ForgetConfig(steps=150))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from trustmap.defenses.sfr_on import forget_schedule, saliency_mask
from trustmap.diffusion.data import to_model_range
from trustmap.diffusion.model import DDPM, noise_scheduler
from trustmap.errors import DataError, TrustmapError
from trustmap.utils.seed import seeded_generator

METHODS = ("sfr-on", "ga", "ft")


@dataclass(frozen=True)
class ForgetConfig:
    steps: int = 150  # official DDPM value
    batch_size: int = 64  # (ours; official 128)
    lr: float = 1e-4  # Adam, official
    alpha: float = 10.0  # forget-step scale, cosine-decayed (official --forget_alpha 10)
    lambd: float = 0.5  # adaptive-ascent exponent (official)
    gamma: float = 1.0  # saliency threshold on F_forget / F_remain (official)
    fisher_batches: int = 8  # (ours)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.fisher_batches < 1 or not self.lr > 0:
            raise TrustmapError("forgetting needs steps >= 1, batch_size >= 2, fisher_batches >= 1 and lr > 0")


def diffusion_losses(
    model: DDPM, x0: torch.Tensor, labels: torch.Tensor, g: torch.Generator, sched=None
) -> torch.Tensor:
    """Per-sample ε-prediction MSE ``(N,)`` at uniform random steps (antithetic pairs, as the official code)."""
    sched = sched or noise_scheduler(model.config)
    n, big_t = len(x0), model.config.train_timesteps
    t = torch.randint(0, big_t, (n // 2 + 1,), generator=g)
    t = torch.cat([t, big_t - t - 1])[:n]
    noise = torch.randn(x0.shape, generator=g)
    pred = model.eps(sched.add_noise(x0, noise, t), t, labels)
    return ((pred - noise) ** 2).mean(dim=(1, 2, 3))


def _batches(x: torch.Tensor, y: torch.Tensor, size: int, g: torch.Generator):
    while True:
        for idx in torch.randperm(len(x), generator=g).split(size):
            if len(idx) > 1:
                yield x[idx], y[idx]


def diffusion_fisher(
    model: DDPM, x: torch.Tensor, y: torch.Tensor, *, batches: int, batch_size: int, g: torch.Generator
) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher of the diffusion loss: mean over ``batches`` of the squared (clipped at 1.0)
    batch-mean gradient, per parameter (official ``generate_fisher``)."""
    params = dict(model.unet.named_parameters())
    out = {n: torch.zeros_like(p) for n, p in params.items()}
    it = _batches(x, y, batch_size, g)
    flags = {n: p.requires_grad for n, p in params.items()}
    for p in params.values():
        p.requires_grad_(True)
    for _ in range(batches):
        xb, yb = next(it)
        model.unet.zero_grad(set_to_none=True)
        diffusion_losses(model, xb, yb, g).mean().backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        for n, p in params.items():
            if p.grad is not None:
                out[n] += p.grad.detach() ** 2 / batches
    model.unet.zero_grad(set_to_none=True)
    for n, p in params.items():
        p.requires_grad_(flags[n])
    return out


def forget_class(
    model: DDPM,
    x: np.ndarray,
    y: np.ndarray,
    *,
    forget: int,
    method: str = "sfr-on",
    config: ForgetConfig = ForgetConfig(),
    seed: int = 0,
) -> tuple[DDPM, dict[str, float]]:
    """Unlearn class ``forget`` from a copy of the conditional ``model`` with ``method`` (one of
    :data:`METHODS`), using the training images ``x`` and labels ``y``; returns the model and its metrics."""
    if method not in METHODS:
        raise TrustmapError(f"unknown forgetting method {method!r}; choose one of {', '.join(METHODS)}")
    if not model.config.conditional:
        raise TrustmapError("class forgetting needs a class-conditional DDPM")
    if x.ndim != 4 or x.shape[1:] != model.config.shape or len(x) != len(y):
        raise DataError(f"give images (N, {', '.join(map(str, model.config.shape))}) and N labels")
    y = np.asarray(y, dtype=np.int64)
    if not 0 <= forget < model.config.num_classes or not (y == forget).any() or (y == forget).all():
        raise DataError(f"class {forget} must be present in the labels, alongside other classes")
    data = torch.from_numpy(to_model_range(np.asarray(x, dtype=np.float32)))
    labels = torch.from_numpy(y)
    fx, fy = data[labels == forget], labels[labels == forget]
    rx, ry = data[labels != forget], labels[labels != forget]
    net = DDPM(copy.deepcopy(model.unet), model.config)
    for p in net.unet.parameters():
        p.requires_grad_(True)
    g = seeded_generator(seed, 0x5F)
    sched = noise_scheduler(model.config)
    mask = None
    if method == "sfr-on":
        kw = {"batches": config.fisher_batches, "batch_size": config.batch_size, "g": g}
        mask = saliency_mask(
            diffusion_fisher(net, fx, fy, **kw), diffusion_fisher(net, rx, ry, **kw), threshold=config.gamma
        )
    opt = torch.optim.Adam(net.unet.parameters(), lr=config.lr)
    f_it, r_it = _batches(fx, fy, config.batch_size, g), _batches(rx, ry, config.batch_size, g)
    params = list(net.unet.parameters())
    net.unet.train()
    last: dict[str, float] = {}
    for step in range(config.steps):
        if method in ("sfr-on", "ga"):
            xb, yb = next(f_it)
            losses = diffusion_losses(net, xb, yb, g, sched)
            if method == "sfr-on":  # adaptive ascent: weights ∝ loss^-lambda, normalised to mean 1
                coef = 1.0 / (losses.detach() ** config.lambd + 1e-15)
                scale = forget_schedule(step, steps=config.steps, alpha=config.alpha, every=1)
                ascent = (coef / coef.sum() * losses).sum() * float(scale)
            else:
                ascent = losses.mean()
            opt.zero_grad(set_to_none=True)
            (-ascent).backward()
            if mask is not None:
                for n, p in net.unet.named_parameters():
                    if p.grad is not None:
                        p.grad.mul_(mask[n])
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            last["forget_loss"] = float(losses.mean().detach())
        if method in ("sfr-on", "ft"):
            xb, yb = next(r_it)
            remain = diffusion_losses(net, xb, yb, g, sched).mean()
            opt.zero_grad(set_to_none=True)
            remain.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            last["remain_loss"] = float(remain.detach())
    net.unet.eval()
    for p in net.unet.parameters():
        p.requires_grad_(False)
    if mask is not None:
        last["mask_density"] = float(sum(m.sum() for m in mask.values()) / sum(m.numel() for m in mask.values()))
    return net, last
