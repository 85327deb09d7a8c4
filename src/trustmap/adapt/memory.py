"""Peak-memory accounting for one training step, the way ZO-Bench compares optimizers (arXiv 2402.11592).

``total = saved + optimizer + params`` where

* ``saved``: bytes of the tensors autograd saves for backward during the step, caught with
  ``torch.autograd.graph.saved_tensors_hooks`` (each storage counted once; parameter storages excluded,
  they are counted in ``params``). A ZO step runs under ``no_grad`` and saves nothing.
* ``optimizer``: bytes of the optimizer state (Adam's two moments, momentum buffers, step counters).
* ``params``: bytes of every parameter and buffer of the model (trainable or frozen).

Gradients are reported apart (``grads``), not in ``total``. CPU tensors have no allocator peak counter,
so this is an analytic count of what must be resident, not a measured RSS.

>>> mem = step_memory(model, lambda: train_step(xb, yb), optimizer=opt)
>>> mem.total, mem.saved
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class StepMemory:
    saved: int
    optimizer: int
    params: int
    grads: int

    @property
    def total(self) -> int:
        return self.saved + self.optimizer + self.params


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def optimizer_state_bytes(optimizer: Any) -> int:
    """Bytes held in optimizer state: ``torch.optim`` state tensors, or a ZO optimizer's ``state_bytes()``."""
    if optimizer is None:
        return 0
    if hasattr(optimizer, "state_bytes"):
        return int(optimizer.state_bytes())
    return sum(_nbytes(v) for st in optimizer.state.values() for v in st.values() if isinstance(v, torch.Tensor))


def model_bytes(model: nn.Module) -> int:
    return sum(_nbytes(p) for p in model.parameters()) + sum(_nbytes(b) for b in model.buffers())


def saved_bytes(fn: Callable[[], Any], *, exclude: nn.Module | None = None) -> tuple[Any, int]:
    """Run ``fn()`` and count the bytes of distinct storages saved for backward (minus ``exclude``'s)."""
    skip = {p.untyped_storage().data_ptr() for p in exclude.parameters()} if exclude is not None else set()
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        try:
            s = t.untyped_storage()
            ptr = s.data_ptr()
            if ptr not in skip and ptr not in seen:
                seen[ptr] = s.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. some wrappers)
            seen[id(t)] = _nbytes(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


def step_memory(model: nn.Module, step: Callable[[], Any], *, optimizer: Any = None) -> StepMemory:
    """Run one training ``step()`` and account its memory (optimizer state read after the step)."""
    _, saved = saved_bytes(step, exclude=model)
    grads = sum(_nbytes(p.grad) for p in model.parameters() if p.grad is not None)
    return StepMemory(saved=saved, optimizer=optimizer_state_bytes(optimizer), params=model_bytes(model), grads=grads)


__all__ = ["StepMemory", "model_bytes", "optimizer_state_bytes", "saved_bytes", "step_memory"]
