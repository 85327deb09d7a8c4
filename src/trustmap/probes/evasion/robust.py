"""Robust accuracy: the fraction of examples a model classifies correctly both clean and under attack.

Only examples the model gets right on clean inputs are attacked (the others already count as not robust,
as in AutoAttack), in batches of ``batch_size`` correctly classified examples. Correctness after the attack
is decided by a separate forward pass on the returned points, never by the attack's own bookkeeping.

>>> attack = functools.partial(pgd, eps=0.1, steps=20, generator=torch_generator(0))
>>> ev = robust_accuracy(model, x, y, attack=attack, batch_size=500)
>>> ev.clean_accuracy, ev.robust_accuracy, ev.per_class(classes)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from trustmap.probes.evasion.geometry import Model
from trustmap.utils.progress import Tick, progress_bar

Attack = Callable[[Model, torch.Tensor, torch.Tensor], torch.Tensor]  # (model, x, y) -> x_adv
ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class RobustEval:
    """Per-example outcome: labels ``y``, ``clean`` and ``robust`` correctness masks ``(N,)`` (robust ⊆ clean)."""

    y: np.ndarray
    clean: np.ndarray
    robust: np.ndarray

    @property
    def clean_accuracy(self) -> float:
        return float(self.clean.mean()) if len(self.y) else float("nan")

    @property
    def robust_accuracy(self) -> float:
        return float(self.robust.mean()) if len(self.y) else float("nan")

    @property
    def attack_success_rate(self) -> float:
        """The fraction of correctly classified examples that the attack fooled."""
        n = int(self.clean.sum())
        return float((self.clean & ~self.robust).sum() / n) if n else 0.0

    def metrics(self) -> dict[str, float]:
        return {
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "attack_success_rate": self.attack_success_rate,
            "n": float(len(self.y)),
        }

    def per_class(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        return per_class_rows(self.y, self.clean, self.robust, classes)


def per_class_rows(
    y: np.ndarray, clean: np.ndarray, robust: np.ndarray, classes: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per class: ``{"class", "n", "clean", "robust"}``; accuracies are ``None`` for absent classes."""
    rows = []
    for c, name in enumerate(classes):
        m = y == c
        n = int(m.sum())
        rows.append(
            {
                "class": str(name),
                "n": n,
                "clean": float(clean[m].mean()) if n else None,
                "robust": float(robust[m].mean()) if n else None,
            }
        )
    return rows


def model_device(model: Model) -> torch.device:
    """The device of the model's parameters (CPU for a parameter-less or black-box model)."""
    module = model if isinstance(model, nn.Module) else getattr(model, "module", None)
    if isinstance(module, nn.Module):
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def as_tensors(x: ArrayLike, y: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 inputs and int64 labels as CPU tensors (numpy arrays are shared, not copied, when possible)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x.detach()
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64)) if isinstance(y, np.ndarray) else y.detach().long()
    if len(xt) != len(yt):
        raise ValueError(f"x has {len(xt)} examples but y has {len(yt)} labels")
    return xt, yt


@torch.no_grad()
def correct(model: Model, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000) -> np.ndarray:
    """Boolean mask ``(N,)``: the model's prediction equals ``y``."""
    device = model_device(model)
    out = [
        (model(x[i : i + batch_size].to(device)).argmax(1).cpu() == y[i : i + batch_size]).numpy()
        for i in range(0, len(y), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def survivors(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    attack: Attack,
    batch_size: int = 500,
    tick: Tick | None = None,
) -> np.ndarray:
    """Attack every example in batches; return the mask ``(N,)`` of those still classified correctly."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = model_device(model)
    out = []
    for i in range(0, len(y), batch_size):
        xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
        x_adv = attack(model, xb, yb)
        with torch.no_grad():
            out.append((model(x_adv).argmax(1) == yb).cpu().numpy())
        if tick is not None:
            tick()
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def robust_accuracy(
    model: Model,
    x: ArrayLike,
    y: ArrayLike,
    *,
    attack: Attack,
    batch_size: int = 500,
    progress: bool | None = None,
    description: str = "attack",
) -> RobustEval:
    """Clean and robust correctness of ``model`` on ``(x, y)`` under ``attack(model, x, y) -> x_adv``."""
    xt, yt = as_tensors(x, y)
    clean = correct(model, xt, yt, batch_size=max(batch_size, 1))
    robust = np.zeros_like(clean)
    idx = np.flatnonzero(clean)
    n_batches = (len(idx) + batch_size - 1) // max(batch_size, 1)
    with progress_bar(description, total=n_batches, enabled=progress) as tick:
        if len(idx):
            sel = torch.from_numpy(idx)
            robust[idx] = survivors(model, xt[sel], yt[sel], attack=attack, batch_size=batch_size, tick=tick)
    return RobustEval(y=yt.cpu().numpy(), clean=clean, robust=robust)
