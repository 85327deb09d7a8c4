"""SFR-on: remain-geometry unlearning with a saliency mask and fast-slow updates (Huang et al., "Unified
Gradient-Based Machine Unlearning with Remain Geometry Enhancement", NeurIPS 2024, arXiv 2409.19732).

The steepest-descent direction towards the retrained model decomposes into weighted gradient ascent on
the forget set, gradient descent on the remaining set and a weight-saliency matrix. SFR-on replaces the
Euclidean metric by the remaining data's geometry, approximated implicitly by *fast-slow* updates: a
large, masked, adaptive ascent step on a forget batch every ``forget_every`` iterations (fast), and an
ordinary SGD step on a remaining batch every iteration (slow), after the official ``sfron.py``:

- saliency mask (:func:`saliency_mask`): keep weight ``w`` when ``F_forget(w) / F_remain(w) >= gamma``,
  with diagonal empirical Fisher information (mean squared batch gradients, :func:`fisher_diagonal`);
- forget step (:func:`forget_schedule`): adaptive gradient ascent, per-example weights ``∝ loss^-lambda``
  (:func:`adaptive_ascent_loss`), step scale ``alpha`` with cosine decay, masked gradient clipped at norm
  ``max_norm``; both steps share one SGD optimiser (lr ``retain_lr``, cosine-decayed);
- ``ema_beta``: after each iteration, ``w <- (1 - ema_beta) * w_prev + ema_beta * w`` (official default
  1.0, i.e. no averaging).

Defaults (official CIFAR-10 values): ``gamma = 1``, ``forget_every = 5``, ``alpha = 25``, ``lambda = 0.5``,
``max_norm = 7``, SGD lr 0.01, momentum 0.9, weight decay 5e-4; ``steps = 50`` *(ours, the class-forgetting
budget of the ``sfr-on`` repro)*; batches of 128 forget and 128 remaining examples. Shapes: images ``(N, C, H, W)``,
labels ``(N,)``; masks and Fisher dicts map parameter names to tensors of the parameter's shape.

>>> out = sfr_on(model, forget=train.subset(f_idx), remain=train.subset(r_idx), config=SFROnConfig(steps=50))
>>> out.model, out.result.metrics["mask_density"]
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import UnlearnDefence, UnlearnJob, register_defence
from trustmap.utils.seed import seeded_generator


@dataclass(frozen=True)
class SFROnConfig:
    steps: int = 50
    retain_lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    forget_every: int = 5
    alpha: float = 25.0
    lambd: float = 0.5
    max_norm: float = 7.0
    threshold: float = 1.0
    ema_beta: float = 1.0
    batch_size: int = 128
    mask: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1 or self.forget_every < 1 or self.batch_size < 1 or not self.retain_lr > 0:
            raise ValueError("SFR-on needs steps, forget_every, batch_size >= 1 and retain_lr > 0")
        if not 0 <= self.ema_beta <= 1:
            raise ValueError(f"ema_beta must be in [0, 1], got {self.ema_beta}")


def tensors(split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(split.x, dtype=np.float32))
    return x, torch.from_numpy(np.asarray(split.y, dtype=np.int64))


def cycle_batches(
    split: Split, batch_size: int, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless seeded shuffled batches of ``split``."""
    x, y = tensors(split)
    while True:
        for idx in torch.randperm(len(y), generator=generator).split(batch_size):
            yield x[idx], y[idx]


def fisher_diagonal(model: nn.Module, split: Split, *, batch_size: int = 128) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher: the mean over batches of the squared mean-loss gradient, per parameter."""
    x, y = tensors(split)
    model.eval()
    out = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    n_batches = max(1, math.ceil(len(y) / batch_size))
    for i in range(0, len(y), batch_size):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i : i + batch_size]), y[i : i + batch_size]).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                out[n] += p.grad.detach() ** 2 / n_batches
    model.zero_grad(set_to_none=True)
    return out


def saliency_mask(
    forget_fisher: dict[str, torch.Tensor],
    remain_fisher: dict[str, torch.Tensor],
    *,
    threshold: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Boolean masks: ``(F_forget + 1e-15) / (F_remain + 1e-15) >= threshold`` per weight."""
    return {n: (f + 1e-15) / (remain_fisher[n] + 1e-15) >= threshold for n, f in forget_fisher.items()}


def adaptive_ascent_loss(logits: torch.Tensor, y: torch.Tensor, *, lambd: float) -> torch.Tensor:
    """Weighted mean cross-entropy with weights ``∝ loss^-lambda`` summing to ``N`` (to be *ascended*)."""
    loss = F.cross_entropy(logits, y, reduction="none")
    coef = 1.0 / (loss.detach() ** lambd + 1e-15)
    return ((coef / coef.sum()) * loss * len(y)).mean()


def forget_schedule(step: int, *, steps: int, alpha: float, every: int) -> float | None:
    """The ascent scale at ``step``: ``alpha * (1 + cos(pi * step / steps)) / 2`` on every ``every``-th step, else None."""
    if step % every:
        return None
    return alpha * (1 + math.cos(math.pi * step / steps)) / 2


def sfr_on(
    model: nn.Module,
    *,
    forget: Split,
    remain: Split,
    config: SFROnConfig = SFROnConfig(),
    seed: int = 0,
    progress: bool | None = None,
) -> Defended:
    """Unlearn ``forget`` from a copy of ``model`` while keeping ``remain`` (see the module docstring)."""
    if len(forget) == 0 or len(remain) == 0:
        raise ValueError("SFR-on needs a non-empty forget set and a non-empty remaining set")
    start = time.perf_counter()
    net = fresh_copy(model)
    mask = None
    if config.mask:
        mask = saliency_mask(
            fisher_diagonal(net, forget, batch_size=config.batch_size),
            fisher_diagonal(net, remain, batch_size=config.batch_size),
            threshold=config.threshold,
        )
    opt = torch.optim.SGD(
        net.parameters(),
        lr=config.retain_lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    f_iter = cycle_batches(forget, config.batch_size, seeded_generator(seed, 0x66))
    r_iter = cycle_batches(remain, config.batch_size, seeded_generator(seed, 0x72))
    history = []
    for step in range(config.steps):
        for group in opt.param_groups:  # cosine decay of the shared learning rate
            group["lr"] = config.retain_lr * (1 + math.cos(math.pi * step / config.steps)) / 2
        prev = [p.detach().clone() for p in net.parameters()] if config.ema_beta < 1 else None
        net.train()
        scale = forget_schedule(step, steps=config.steps, alpha=config.alpha, every=config.forget_every)
        row: dict[str, float] = {"step": float(step)}
        if scale is not None:  # fast: masked adaptive gradient ascent on a forget batch
            xf, yf = next(f_iter)
            opt.zero_grad(set_to_none=True)
            ascent = adaptive_ascent_loss(net(xf), yf, lambd=config.lambd)
            (-scale * ascent).backward()
            if mask is not None:
                for n, p in net.named_parameters():
                    if p.grad is not None:
                        p.grad.mul_(mask[n])
            torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=config.max_norm)
            opt.step()
            row.update(forget_loss=float(ascent.detach()), alpha=scale)
        xr, yr = next(r_iter)  # slow: a retaining step every iteration
        opt.zero_grad(set_to_none=True)
        retain = F.cross_entropy(net(xr), yr)
        retain.backward()
        opt.step()
        row["retain_loss"] = float(retain.detach())
        if prev is not None:
            with torch.no_grad():
                for p, q in zip(net.parameters(), prev):
                    p.copy_((1 - config.ema_beta) * q + config.ema_beta * p)
        history.append(row)
    density = float(sum(m.sum() for m in mask.values()) / sum(m.numel() for m in mask.values())) if mask else 1.0
    metrics = {
        "steps": float(config.steps),
        "forget_steps": float(len(range(0, config.steps, config.forget_every))),
        "mask_density": density,
    }
    return Defended(
        net.eval(),
        DefenceResult("sfr-on", time.perf_counter() - start, 0, metrics, history),
    )


@register_defence
class SFROn(UnlearnDefence):
    id = "sfr-on"
    summary = "remain-geometry unlearning: saliency-masked fast ascent, slow descent"
    paper = "Unified Gradient-Based Machine Unlearning with Remain Geometry Enhancement, arXiv 2409.19732"

    def run(self, job: UnlearnJob) -> Defended:
        return sfr_on(
            job.model, forget=job.forget, remain=job.remain, config=SFROnConfig(steps=job.steps), seed=job.seed
        )
