"""Unlearning baselines for SFR-on (:mod:`trustmap.defenses.sfr_on`), all at a fixed step budget with
batches of 128:

- **gradient ascent** (GA): SGD ascent on the forget set's cross-entropy (lr from the caller; methods.md
  picks it from {1e-4, 3e-4, 1e-3});
- **fine-tuning** (FT): SGD descent on the remaining set only (lr 0.01, momentum 0.9 *(ours)*);
- **SalUn-lite** (after Fan et al., "SalUn", arXiv 2310.12508): keep the top 50% of weights by
  ``|grad of the forget loss|``; each step trains on a forget batch with random wrong labels plus a
  remaining batch, masked (lr 0.01 *(ours)*);
- **retrain**: train from scratch on the remaining set (the gold standard) — the caller runs
  :func:`trustmap.models.fit`, as for the original model.

Shapes: images ``(N, C, H, W)``, labels ``(N,)``.

>>> out = gradient_ascent(model, forget=f, steps=50, lr=1e-3, seed=0)
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy, seeded_generator
from trustmap.defenses.sfr_on import cycle_batches, tensors


def _sgd(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def gradient_ascent(model: nn.Module, *, forget: Split, steps: int = 50, lr: float = 1e-3, batch_size: int = 128,
                    seed: int = 0) -> Defended:  # fmt: skip
    """Maximise the cross-entropy on the forget set for ``steps`` SGD steps."""
    start, net = time.perf_counter(), fresh_copy(model)
    opt, it = (
        _sgd(net, lr),
        cycle_batches(forget, batch_size, seeded_generator(seed, 0x66)),
    )
    for _ in range(steps):
        xf, yf = next(it)
        opt.zero_grad(set_to_none=True)
        (-F.cross_entropy(net(xf), yf)).backward()
        opt.step()
    return Defended(
        net.eval(),
        DefenceResult(
            "gradient-ascent",
            time.perf_counter() - start,
            0,
            {"lr": lr, "steps": float(steps)},
        ),
    )


def finetune(model: nn.Module, *, remain: Split, steps: int = 50, lr: float = 0.01, batch_size: int = 128,
             seed: int = 0) -> Defended:  # fmt: skip
    """Keep training on the remaining set only (catastrophic forgetting of the rest)."""
    start, net = time.perf_counter(), fresh_copy(model)
    opt, it = (
        _sgd(net, lr),
        cycle_batches(remain, batch_size, seeded_generator(seed, 0x72)),
    )
    for _ in range(steps):
        xr, yr = next(it)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(xr), yr).backward()
        opt.step()
    return Defended(
        net.eval(),
        DefenceResult(
            "finetune",
            time.perf_counter() - start,
            0,
            {"lr": lr, "steps": float(steps)},
        ),
    )


def gradient_mask(
    model: nn.Module, forget: Split, *, keep: float = 0.5
) -> dict[str, torch.Tensor]:
    """SalUn's mask: weights whose ``|grad|`` of the forget loss is in the top ``keep`` fraction (global)."""
    x, y = tensors(forget)
    model.zero_grad(set_to_none=True)
    model.eval()
    F.cross_entropy(model(x), y).backward()
    grads = {
        n: p.grad.detach().abs()
        for n, p in model.named_parameters()
        if p.grad is not None
    }
    model.zero_grad(set_to_none=True)
    flat = torch.cat([g.flatten() for g in grads.values()])
    cut = (
        torch.quantile(flat, 1 - keep)
        if flat.numel() <= 16_000_000
        else flat.kthvalue(int((1 - keep) * flat.numel())).values
    )
    return {n: g >= cut for n, g in grads.items()}


def salun_lite(model: nn.Module, *, forget: Split, remain: Split, num_classes: int, steps: int = 50, lr: float = 0.01,
               batch_size: int = 128, seed: int = 0) -> Defended:  # fmt: skip
    """Random relabelling of forget batches plus remaining batches, on the top-50% saliency weights."""
    start, net = time.perf_counter(), fresh_copy(model)
    mask = gradient_mask(net, forget)
    opt = _sgd(net, lr)
    gen = seeded_generator(seed, 0x736C)
    f_it, r_it = (
        cycle_batches(forget, batch_size, gen),
        cycle_batches(remain, batch_size, seeded_generator(seed, 0x72)),
    )
    for _ in range(steps):
        (xf, yf), (xr, yr) = next(f_it), next(r_it)
        wrong = (
            yf + torch.randint(1, num_classes, yf.shape, generator=gen)
        ) % num_classes  # never the true label
        net.train()
        opt.zero_grad(set_to_none=True)
        (F.cross_entropy(net(xf), wrong) + F.cross_entropy(net(xr), yr)).backward()
        for n, p in net.named_parameters():
            if p.grad is not None:
                p.grad.mul_(mask[n])
        opt.step()
    return Defended(
        net.eval(),
        DefenceResult(
            "salun-lite",
            time.perf_counter() - start,
            0,
            {"lr": lr, "steps": float(steps)},
        ),
    )
