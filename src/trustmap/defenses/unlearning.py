"""Unlearning baselines for SFR-on (:mod:`trustmap.defenses.sfr_on`), all at a fixed step budget with
batches of 128:

- **gradient ascent** (GA): SGD ascent on the forget set's cross-entropy (lr 1e-3 by default; the
  ``sfr-on`` repro picks it from {1e-4, 3e-4, 1e-3});
- **fine-tuning** (FT): SGD descent on the remaining set only (lr 0.01, momentum 0.9 *(ours)*);
- **SalUn-lite** (after Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based Weight
  Saliency in Both Image Classification and Generation", arXiv 2310.12508): keep the top 50% of weights by
  ``|grad of the forget loss|``; each step trains on a forget batch with random wrong labels plus a
  remaining batch, masked (lr 0.01 *(ours)*);
- **retrain**: train from scratch on the remaining set (the gold standard) with the architecture's
  default recipe and :func:`trustmap.models.fit`, as for the original model (:class:`Retrain`).

Shapes: images ``(N, C, H, W)``, labels ``(N,)``.

>>> out = gradient_ascent(model, forget=f, steps=50, lr=1e-3, seed=0)
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import UnlearnDefence, UnlearnJob, register_defence
from trustmap.defenses.sfr_on import cycle_batches, tensors
from trustmap.errors import TrustmapError
from trustmap.models.architectures import build_model
from trustmap.models.recipes import recipe
from trustmap.models.train import fit
from trustmap.utils.seed import seeded_generator


def _sgd(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def gradient_ascent(
    model: nn.Module, *, forget: Split, steps: int = 50, lr: float = 1e-3, batch_size: int = 128, seed: int = 0
) -> Defended:
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


def finetune(
    model: nn.Module, *, remain: Split, steps: int = 50, lr: float = 0.01, batch_size: int = 128, seed: int = 0
) -> Defended:
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


def gradient_mask(model: nn.Module, forget: Split, *, keep: float = 0.5) -> dict[str, torch.Tensor]:
    """SalUn's mask: weights whose ``|grad|`` of the forget loss is in the top ``keep`` fraction (global)."""
    x, y = tensors(forget)
    model.zero_grad(set_to_none=True)
    model.eval()
    F.cross_entropy(model(x), y).backward()
    grads = {n: p.grad.detach().abs() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    flat = torch.cat([g.flatten() for g in grads.values()])
    cut = (
        torch.quantile(flat, 1 - keep)
        if flat.numel() <= 16_000_000
        else flat.kthvalue(int((1 - keep) * flat.numel())).values
    )
    return {n: g >= cut for n, g in grads.items()}


def salun_lite(
    model: nn.Module,
    *,
    forget: Split,
    remain: Split,
    num_classes: int,
    steps: int = 50,
    lr: float = 0.01,
    batch_size: int = 128,
    seed: int = 0,
) -> Defended:
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
        wrong = (yf + torch.randint(1, num_classes, yf.shape, generator=gen)) % num_classes  # never the true label
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


@register_defence
class GradientAscent(UnlearnDefence):
    id = "gradient-ascent"
    summary = "SGD ascent on the forget set's loss (lr 1e-3)"

    def run(self, job: UnlearnJob) -> Defended:
        return gradient_ascent(job.model, forget=job.forget, steps=job.steps, seed=job.seed)


@register_defence
class Finetune(UnlearnDefence):
    id = "finetune"
    summary = "SGD on the remaining set only (lr 0.01)"

    def run(self, job: UnlearnJob) -> Defended:
        return finetune(job.model, remain=job.remain, steps=job.steps, seed=job.seed)


@register_defence
class SalUnLite(UnlearnDefence):
    id = "salun-lite"
    summary = "random relabelling of the forget set on the top-50% saliency weights"
    paper = "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency in Both Image Classification and Generation, arXiv 2310.12508"

    def run(self, job: UnlearnJob) -> Defended:
        return salun_lite(
            job.model, forget=job.forget, remain=job.remain, num_classes=job.num_classes, steps=job.steps, seed=job.seed
        )


@register_defence
class Retrain(UnlearnDefence):
    id = "retrain"
    summary = "train from scratch on the remaining set (the gold standard; slow)"

    def run(self, job: UnlearnJob) -> Defended:
        if not job.arch:
            raise TrustmapError("retrain needs the model's architecture name in its metadata; save it with trustmap")
        ds = job.dataset
        fresh = build_model(job.arch, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=job.seed)
        fit(fresh, job.remain, config=recipe(ds.kind, job.arch), seed=job.seed, progress=None)
        return Defended(fresh.eval(), DefenceResult("retrain", 0.0))
