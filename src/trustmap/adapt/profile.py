"""Peak memory and time of one training step for any registered method (used by zo-bench and the benchmark).

``profile_step(model, batch, config=...)`` prepares nothing: give it a model already prepared for
``config.method``. It builds the method's optimizer exactly as training does, runs ``warmup`` steps (so
Adam's state exists), then times ``steps`` steps and accounts the memory of the last one with
:func:`trustmap.adapt.memory.step_memory` (saved-for-backward + optimizer state + parameters).

>>> prepare(model, AdaptConfig(method="zo-sgd"), seed=0)
>>> prof = profile_step(model, (xb, yb), config=AdaptConfig(method="zo-sgd"))
>>> prof.memory.total, prof.seconds_per_step
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.adapt.deft import DensityMonitor, deft_penalty
from trustmap.adapt.memory import StepMemory, step_memory
from trustmap.adapt.methods import AdaptConfig, method_info
from trustmap.adapt.train import _functional_loss, trainable_parameters, zo_blocks
from trustmap.adapt.zo import ForwardGradient, ZOOptimizer


@dataclass
class StepProfile:
    method: str
    memory: StepMemory
    seconds_per_step: float


def profile_step(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    *,
    config: AdaptConfig,
    warmup: int = 1,
    steps: int = 3,
    seed: int = 0,
) -> StepProfile:
    info = method_info(config.method)
    lr = config.lr if config.lr is not None else info.lr
    xb, yb = batch
    named = trainable_parameters(model)
    params = [p for _, p in named]
    monitor = DensityMonitor(model) if config.deft_weight else None

    if info.family == "fo":
        model.train()
        opt: object = (
            torch.optim.AdamW(params, lr=lr)
            if info.optimizer == "adamw"
            else torch.optim.SGD(params, lr=lr, momentum=0.9)
        )

        def step() -> None:
            opt.zero_grad(set_to_none=True)  # type: ignore[attr-defined]
            if monitor is not None:
                monitor.clear()
            loss = F.cross_entropy(model(xb), yb)
            if monitor is not None:
                loss = loss + deft_penalty(monitor, weight=config.deft_weight)
            loss.backward()
            opt.step()  # type: ignore[attr-defined]

    elif info.family == "fg":
        model.eval()
        opt = ForwardGradient(dict(named), lr=lr, seed=seed)

        def step() -> None:
            opt.step(_functional_loss(model, xb, yb))  # type: ignore[attr-defined]

    else:
        model.eval()
        opt = ZOOptimizer(
            params,
            lr=lr,
            eps=config.zo_eps,
            rule=info.optimizer,
            seed=seed,
            blocks=zo_blocks([n for n, _ in named]) if info.id == "zo-block" else None,
            sparsity=config.sparsity if info.id == "zo-sparse" else 0.0,
        )

        def step() -> None:
            with torch.no_grad():
                opt.step(lambda: F.cross_entropy(model(xb), yb))  # type: ignore[attr-defined]

    try:
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        for _ in range(max(steps - 1, 0)):
            step()
        memory = step_memory(model, step, optimizer=opt)
        seconds = (time.perf_counter() - start) / max(steps, 1)
    finally:
        if monitor is not None:
            monitor.remove()
    return StepProfile(config.method, memory, seconds)


__all__ = ["StepProfile", "profile_step"]
