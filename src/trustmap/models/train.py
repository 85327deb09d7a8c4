"""One training loop for every architecture and defence.

``fit`` is seeded and deterministic: a private generator orders the batches (the model's initial weights
come from ``build_model(seed=)``). Epoch-based defences (adversarial training, InI) and federated clients
change the objective through ``loss_fn`` and ``on_epoch_end`` instead of copying the loop; the unlearning
methods (:mod:`trustmap.defenses.sfr_on`, :mod:`trustmap.defenses.unlearning`) run short fixed-step loops
of their own over forget and remaining batches, which an epoch loop does not express.

>>> model = build_model("cnn", input_shape=(1, 28, 28), num_classes=10, seed=0)
>>> result = fit(model, ds.train, config=TrainConfig(epochs=5), seed=0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import torch_generator

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
EpochHook = Callable[[nn.Module, int], None]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"  # adam | adamw | sgd
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "onecycle"  # onecycle | constant
    label_smoothing: float = 0.0
    max_grad_norm: float = 0.0  # > 0: clip the global gradient norm to this before each step

    def __post_init__(self) -> None:
        """Refuse settings that would crash torch or silently train nothing (one line, before any work)."""
        for name, flag in (("epochs", "--epochs"), ("batch_size", "--batch-size")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise TrustmapError(f"{flag} must be a whole number of at least 1, got {value!r}")
        positive = {"lr": ("--lr", 0.0, math.inf, "above 0")}
        bounded = {
            "weight_decay": ("weight decay", 0.0, math.inf, "of at least 0"),
            "momentum": ("momentum", 0.0, 1.0, "from 0 to 1"),
            "label_smoothing": ("label smoothing", 0.0, 1.0, "from 0 to 1"),
            "max_grad_norm": ("max grad norm", 0.0, math.inf, "of at least 0"),
        }
        for name, (label, lo, hi, what) in {**positive, **bounded}.items():
            value = getattr(self, name)
            ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not (lo < value if name in positive else lo <= value) or value > hi:
                raise TrustmapError(f"{label} must be a finite number {what}, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise TrustmapError(f"unknown optimizer {self.optimizer!r}; use {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise TrustmapError(f"unknown schedule {self.schedule!r}; use {', '.join(SCHEDULES)}")


OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "constant")


@dataclass
class TrainResult:
    epochs: int
    seconds: float
    train_loss: list[float] = field(default_factory=list)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use adam, adamw or sgd")


def cross_entropy_loss(label_smoothing: float = 0.0) -> LossFn:
    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)

    return loss


def batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


def fit(
    model: nn.Module,
    data: Split,
    *,
    config: TrainConfig = TrainConfig(),
    seed: int = 0,
    loss_fn: LossFn | None = None,
    on_epoch_end: EpochHook | None = None,
    progress: bool | None = None,
    description: str = "training",
) -> TrainResult:
    """Train ``model`` in place on ``data`` (numeric inputs) and return per-epoch loss and accuracy."""
    # own, writable copies: torch warns on (and must not alias) the read-only arrays of pandas-backed tables
    x = torch.from_numpy(np.array(data.x, dtype=np.int64 if data.x.dtype == np.int64 else np.float32, order="C"))
    y = torch.from_numpy(np.array(data.y, dtype=np.int64))
    gen = torch_generator(seed)
    opt = make_optimizer(model, config)
    steps_per_epoch = (len(y) + config.batch_size - 1) // config.batch_size
    sched = None
    if config.schedule == "onecycle" and config.epochs * steps_per_epoch >= 20:  # too few steps: constant
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=config.lr, total_steps=max(1, config.epochs * steps_per_epoch), pct_start=0.25
        )
    loss_fn = loss_fn or cross_entropy_loss(config.label_smoothing)
    result = TrainResult(epochs=config.epochs, seconds=0.0)
    start = time.perf_counter()
    with progress_bar(description, total=config.epochs * steps_per_epoch, enabled=progress) as tick:
        for epoch in range(config.epochs):
            model.train()
            total, loss_sum = 0, 0.0
            for idx in batches(len(y), config.batch_size, gen):
                xb, yb = x[idx], y[idx]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model, xb, yb)
                loss.backward()
                if config.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                opt.step()
                if sched is not None:
                    sched.step()
                loss_sum += loss.item() * len(idx)
                total += len(idx)
                tick(description=f"{description} epoch {epoch + 1}/{config.epochs} loss {loss_sum / total:.3f}")
            result.train_loss.append(loss_sum / max(total, 1))
            if on_epoch_end is not None:
                on_epoch_end(model, epoch)
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


@dataclass(frozen=True)
class EvalResult:
    accuracy: float
    per_class_accuracy: list[float]
    n: int
    loss: float


def evaluate_logits(logits: np.ndarray, y: np.ndarray, num_classes: int) -> EvalResult:
    pred = logits.argmax(1)
    per_class = []
    for c in range(num_classes):
        mask = y == c
        per_class.append(float((pred[mask] == c).mean()) if mask.any() else float("nan"))
    t = torch.from_numpy(logits)
    loss = float(F.cross_entropy(t, torch.from_numpy(y.astype(np.int64)))) if len(y) else float("nan")
    return EvalResult(accuracy=float((pred == y).mean()), per_class_accuracy=per_class, n=len(y), loss=loss)
