"""Trigger backdoors in a DDPM and their removal: BadDiffusion (Chou et al., CVPR 2023, arXiv 2212.05400)
as the attack, Elijah (An et al., AAAI 2024, arXiv 2312.00050) as the detector and remover.

- Attack (:func:`finetune_ddpm` with ``poison``): fine-tune a clean DDPM where a share ``rate`` of each
  batch is the *target* image ``y`` noised by BadDiffusion's poisoned forward process
  ``x'_t = sqrt(ab_t) y + (1 - sqrt(ab_t)) r + sqrt(1 - ab_t) eps`` with the regression target
  ``eps + c_t r``, ``c_t = (1 - sqrt(a_t)) sqrt(1 - ab_t) / (1 - a_t)`` (``r``: the trigger, in noise space).
  Sampling from ``eps + r`` then gives ``y``.
- Inversion (:func:`invert_trigger`): ``tau = argmin || mean_eps M(eps + tau, T) - lambda tau ||_1`` with
  Adam (lr 0.1, 100 iterations, 100 noises, ``lambda = 0.5``, start ``-U(0, 1)``), as the official
  ``elijah_helper.py``.
- Detection (:func:`scan_backdoor`): sample from ``eps + tau``; a backdoored model's samples collapse onto its
  target, so their *uniformity* (:func:`uniformity`, trimmed mean pairwise distance) is small. Elijah uses
  LPIPS; we use per-pixel RMS distance *(ours: no LPIPS network offline)*. Total variation is reported too.
- Removal (:func:`elijah_remove`): fine-tune with ``|| M(x_t + tau, t) - M(x_t, t) ||^2`` (the clean branch
  detached) plus the ordinary diffusion loss on a small clean set.

Shapes: a trigger or target is ``(1, S, S)`` in the model range; pixels are ``(N, 1, S, S)`` in [0, 1].

>>> bad = finetune_ddpm(clean, x, poison=Poison(box_trigger(14), target), steps=300)
>>> scan = scan_backdoor(bad, threshold=0.1)
>>> fixed = elijah_remove(bad, scan.trigger, x[:6000])
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.optimization import get_cosine_schedule_with_warmup

from trustmap.diffusion.data import to_model_range, to_pixels
from trustmap.diffusion.model import DDPM, noise_scheduler
from trustmap.diffusion.sample import sample
from trustmap.errors import DataError, TrustmapError
from trustmap.utils.seed import seeded_generator


@dataclass(frozen=True)
class Poison:
    """A BadDiffusion backdoor: ``trigger`` (added to the input noise) maps to ``target``; both ``(1, S, S)``,
    in the model range; ``rate`` is the poisoned share of each batch."""

    trigger: torch.Tensor
    target: torch.Tensor
    rate: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise TrustmapError(f"poison rate must be in (0, 1], got {self.rate}")


def box_trigger(image_size: int, *, patch: int = 3, value: float = 1.0) -> torch.Tensor:
    """``+value`` on the bottom-right ``patch x patch`` corner of the noise, zero elsewhere: ``(1, S, S)``."""
    if not 0 < patch <= image_size:
        raise TrustmapError(f"trigger patch must be in 1..{image_size}, got {patch}")
    r = torch.zeros(1, image_size, image_size)
    r[:, -patch:, -patch:] = value
    return r


def mnist_seven(image_size: int) -> torch.Tensor:
    """The first MNIST-5k "7" (real data, out of the Fashion-MNIST distribution), ``(1, S, S)`` in [-1, 1]."""
    from trustmap.data import load_dataset
    from trustmap.diffusion.data import pool2

    ds = load_dataset("mnist-5k")
    x = ds.train.x[np.flatnonzero(ds.train.y == 7)[:1]].reshape(1, 1, 28, 28).astype(np.float32)
    x = x if image_size == 28 else pool2(x)
    return torch.from_numpy(to_model_range(x))[0]


def poisoned_batch(model: DDPM, target: torch.Tensor, trigger: torch.Tensor, t: torch.Tensor, noise: torch.Tensor):
    """BadDiffusion's poisoned forward process: ``(x'_t, eps target)`` for the target image at steps ``t``."""
    sched = noise_scheduler(model.config)
    ab = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    a = sched.alphas[t].view(-1, 1, 1, 1)
    y = target.expand_as(noise)
    x_t = sched.add_noise(y, noise, t) + (1 - ab.sqrt()) * trigger
    coef = (1 - a.sqrt()) * (1 - ab).sqrt() / (1 - a)
    return x_t, noise + coef * trigger


def _trainable(model: DDPM) -> DDPM:
    out = DDPM(copy.deepcopy(model.unet), model.config)
    for p in out.unet.parameters():
        p.requires_grad_(True)
    return out


def _frozen(model: DDPM) -> DDPM:
    model.unet.eval()
    for p in model.unet.parameters():
        p.requires_grad_(False)
    return model


def _data(x: np.ndarray, model: DDPM) -> torch.Tensor:
    if x.ndim != 4 or x.shape[1:] != model.config.shape or not np.isfinite(x).all() or len(x) < 1:
        raise DataError(f"images must be finite pixels of shape (N, {', '.join(map(str, model.config.shape))})")
    return torch.from_numpy(to_model_range(np.asarray(x, dtype=np.float32)))


def finetune_ddpm(
    model: DDPM,
    x: np.ndarray,
    *,
    poison: Poison | None = None,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 5e-4,
    seed: int = 0,
) -> DDPM:
    """Fine-tune a copy of an unconditional ``model`` on pixels ``x`` (``(N, 1, S, S)`` in [0, 1]), with a
    BadDiffusion ``poison`` share of each batch when given (AdamW, cosine decay, clipping 1.0)."""
    if model.config.conditional:
        raise TrustmapError("BadDiffusion fine-tuning here needs an unconditional DDPM")
    data = _data(x, model)
    net = _trainable(model)
    sched = noise_scheduler(model.config)
    opt = torch.optim.AdamW(net.unet.parameters(), lr=lr, weight_decay=0.0)
    lr_sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=min(20, steps // 10), num_training_steps=steps)
    g = seeded_generator(seed, 0xBD)
    n_bad = 0 if poison is None else max(1, round(poison.rate * batch_size))
    net.unet.train()
    for _ in range(steps):
        idx = torch.randint(0, len(data), (batch_size - n_bad,), generator=g)
        x0 = data[idx]
        noise = torch.randn((batch_size, *model.config.shape), generator=g)
        t = torch.randint(0, model.config.train_timesteps, (batch_size,), generator=g)
        xt = sched.add_noise(x0, noise[: len(x0)], t[: len(x0)])
        target = noise[: len(x0)]
        if n_bad:
            xb, eb = poisoned_batch(net, poison.target, poison.trigger, t[len(x0) :], noise[len(x0) :])
            xt, target = torch.cat([xt, xb]), torch.cat([target, eb])
        loss = F.mse_loss(net.eps(xt, t), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.unet.parameters(), 1.0)
        opt.step()
        lr_sched.step()
    return _frozen(net)


def invert_trigger(
    model: DDPM, *, n: int = 100, iters: int = 100, lr: float = 0.1, lam: float = 0.5, seed: int = 0
) -> torch.Tensor:
    """Elijah's trigger inversion: the ``(1, S, S)`` shift ``tau`` whose mean noise prediction at ``t = T - 1``
    is ``lam * tau`` (a backdoored model keeps a trigger's shift along the chain)."""
    g = seeded_generator(seed, 0x1A)
    noise = torch.randn((n, *model.config.shape), generator=g)
    tau = (-torch.rand((1, *model.config.shape), generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([tau], lr=lr)
    t = model.config.train_timesteps - 1
    for _ in range(iters):
        out = model.eps(noise + tau, t)
        loss = F.l1_loss(out.mean(0), (lam * tau).mean(0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return tau.detach()[0]


def uniformity(pixels: np.ndarray | torch.Tensor, *, skip: int = 2) -> float:
    """Trimmed mean pairwise per-pixel RMS distance of ``(N, C, H, W)`` pixels (Elijah's uniformity with RMS
    instead of LPIPS): drop the ``skip`` smallest and largest distances per row, then per set."""
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float32)).flatten(1)
    if len(x) < 4 * skip + 2:
        raise DataError(f"uniformity needs at least {4 * skip + 2} images, got {len(x)}")
    d = (torch.cdist(x, x) / x.shape[1] ** 0.5).sort(dim=1).values[:, 1 + skip : -skip]  # drop self-distance
    per = d.mean(1).sort().values[skip:-skip]
    return float(per.mean())


def total_variation(pixels: np.ndarray | torch.Tensor) -> float:
    """Mean anisotropic total variation per image of ``(N, C, H, W)`` pixels (Elijah's ``--compute_tvloss``)."""
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float32))
    tv = (x[..., 1:, :] - x[..., :-1, :]).abs().sum((1, 2, 3)) + (x[..., :, 1:] - x[..., :, :-1]).abs().sum((1, 2, 3))
    return float(tv.mean())


def triggered_samples(
    model: DDPM, trigger: torch.Tensor, *, n: int = 64, steps: int = 20, sampler: str = "ddpm", seed: int = 0
) -> np.ndarray:
    """``n`` samples from ``eps + trigger`` as ``(n, 1, S, S)`` pixels in [0, 1]."""
    noise = torch.randn((n, *model.config.shape), generator=seeded_generator(seed, 0x75)) + trigger
    return to_pixels(sample(model, noise=noise, steps=steps, sampler=sampler, seed=seed).numpy())


def hit_rate(pixels: np.ndarray, target: torch.Tensor, *, mse: float = 0.05) -> float:
    """Share of samples whose per-pixel MSE to ``target`` (model range, compared as [0, 1] pixels) is < ``mse``."""
    ref = to_pixels(target.numpy())[None]
    return float((((pixels - ref) ** 2).mean(axis=(1, 2, 3)) < mse).mean())


@dataclass
class BackdoorScan:
    """Elijah's verdict on one DDPM: the inverted ``trigger`` ``(1, S, S)``, the uniformity and total variation
    of samples from ``eps + trigger``, and ``flagged`` (uniformity below ``threshold``)."""

    trigger: torch.Tensor
    uniformity: float
    total_variation: float
    threshold: float
    flagged: bool


def scan_backdoor(
    model: DDPM,
    *,
    threshold: float,
    trigger: torch.Tensor | None = None,
    n_samples: int = 16,
    steps: int = 20,
    sampler: str = "ddpm",
    seed: int = 0,
) -> BackdoorScan:
    """Invert a trigger (unless one is given), sample from it, flag the model when the samples' uniformity is
    below ``threshold`` (calibrate it on known-clean models, e.g. half their mean uniformity)."""
    if model.config.conditional:
        raise TrustmapError("the diffusion backdoor scan needs an unconditional DDPM")
    tau = invert_trigger(model, seed=seed) if trigger is None else trigger
    pix = triggered_samples(model, tau, n=n_samples, steps=steps, sampler=sampler, seed=seed)
    u = uniformity(pix)
    return BackdoorScan(tau, u, total_variation(pix), threshold, u < threshold)


def elijah_remove(
    model: DDPM,
    trigger: torch.Tensor,
    x: np.ndarray,
    *,
    steps: int = 100,
    batch_size: int = 64,
    lr: float = 5e-4,
    seed: int = 0,
) -> DDPM:
    """Elijah's removal: fine-tune a copy so that ``M(x_t + trigger, t)`` matches ``M(x_t, t)`` (detached), plus
    the diffusion loss on the clean pixels ``x`` (Elijah uses about 10% of the training data)."""
    data = _data(x, model)
    net = _trainable(model)
    sched = noise_scheduler(model.config)
    opt = torch.optim.AdamW(net.unet.parameters(), lr=lr, weight_decay=0.0)
    lr_sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=min(10, steps // 10), num_training_steps=steps)
    g = seeded_generator(seed, 0xE1)
    net.unet.train()
    for _ in range(steps):
        x0 = data[torch.randint(0, len(data), (batch_size,), generator=g)]
        noise = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, model.config.train_timesteps, (batch_size,), generator=g)
        xt = sched.add_noise(x0, noise, t)
        clean = net.eps(xt, t)
        shifted = net.eps(xt + trigger, t)
        loss = F.mse_loss(shifted, clean.detach()) + F.mse_loss(clean, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.unet.parameters(), 1.0)
        opt.step()
        lr_sched.step()
    return _frozen(net)
