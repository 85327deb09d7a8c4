"""Train an adapted model: one entry point for first-order PEFT, DEFT, zeroth-order and forward-gradient methods.

First-order methods reuse :func:`trustmap.models.train.fit` (DEFT enters through its ``loss_fn`` hook);
ZO and FG methods need their own step and run here, in eval mode (no dropout, so both ZO forward passes
see the same network), with batches ordered by the same seeded generator as ``fit``.

``data.x`` holds numeric model inputs (MiniLM token ids ``(N, L)`` int64, or cached hidden states).

>>> model = build_model("minilm", input_shape=(), num_classes=2)
>>> run = adapt(model, encode_split(model, train), config=AdaptConfig(method="lora-sp"), seed=0)
>>> accuracy(model, encode_split(model, ds.test))
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.adapt.deft import DensityMonitor, deft_penalty
from trustmap.adapt.methods import AdaptConfig, MethodInfo, method_info
from trustmap.adapt.zo import ForwardGradient, ZOOptimizer
from trustmap.data.dataset import Split
from trustmap.models.train import TrainConfig, batches, fit
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed, seeded_global_rng, torch_generator

_DROPOUT_STREAM = 0xD0


@dataclass
class AdaptRun:
    method: str
    trainable: int
    total: int
    steps: int
    seconds: float
    optimizer_state_bytes: int
    train_loss: list[float] = field(default_factory=list)


def prepare(model: nn.Module, config: AdaptConfig, *, seed: int) -> MethodInfo:
    """Freeze and wrap ``model`` in place for ``config.method``; return the method's registry entry."""
    info = method_info(config.method)
    info.prepare(model, config, seed)
    if config.deft_weight and info.family != "fo":
        raise ValueError("DEFT adds a loss to first-order PEFT training; it does not apply to ZO/FG methods")
    return info


def trainable_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def adam_state_bytes(model: nn.Module) -> int:
    """Bytes of AdamW state for ``model``'s trainable tensors, measured on a throw-away optimizer."""
    params = [p for _, p in trainable_parameters(model)]
    opt = torch.optim.AdamW([torch.zeros_like(p, requires_grad=True) for p in params])
    for p in opt.param_groups[0]["params"]:
        p.grad = torch.zeros_like(p)
    opt.step()
    return sum(v.numel() * v.element_size() for st in opt.state.values() for v in st.values() if torch.is_tensor(v))


def _tensors(data: Split) -> tuple[torch.Tensor, torch.Tensor]:
    x = data.x if data.x.dtype == np.int64 else data.x.astype(np.float32, copy=False)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(data.y, dtype=np.int64))


def zo_blocks(names: list[str]) -> list[list[int]]:
    """Block-wise ZO groups: one block per transformer layer (full scheme) or per tensor kind
    (``lora_A``, ``lora_B``, head), in first-appearance order."""
    keys: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        layer = re.search(r"layer\.(\d+)\.", name)
        kind = name.rpartition(".")[2]
        key = kind if kind.startswith("lora_") else (f"layer{layer.group(1)}" if layer else name.partition(".")[0])
        keys.setdefault(key, []).append(i)
    return list(keys.values())


def adapt(
    model: nn.Module,
    data: Split,
    *,
    config: AdaptConfig,
    seed: int = 0,
    progress: bool | None = None,
    prepared: bool = False,
    description: str | None = None,
) -> AdaptRun:
    """Prepare ``model`` for ``config.method`` (unless ``prepared``) and train it in place on ``data``."""
    info = method_info(config.method) if prepared else prepare(model, config, seed=seed)
    lr = config.lr if config.lr is not None else info.lr
    named = trainable_parameters(model)
    trainable = sum(p.numel() for _, p in named)
    total = sum(p.numel() for p in model.parameters())
    desc = description or f"adapt {config.method}"
    start = time.perf_counter()
    if info.family == "fo":
        losses, steps, state = _train_fo(model, data, config, info, lr, seed, progress, desc)
    else:
        losses, steps, state = _train_zo(model, data, config, info, lr, seed, progress, desc)
    model.eval()
    return AdaptRun(config.method, trainable, total, steps, time.perf_counter() - start, state, losses)


def _train_fo(
    model: nn.Module,
    data: Split,
    cfg: AdaptConfig,
    info: MethodInfo,
    lr: float,
    seed: int,
    progress: bool | None,
    desc: str,
) -> tuple[list[float], int, int]:
    tc = TrainConfig(
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=lr,
        optimizer=info.optimizer,
        weight_decay=cfg.weight_decay,
        schedule=cfg.schedule,
    )
    loss_fn = None
    monitor = DensityMonitor(model) if cfg.deft_weight else None
    if monitor is not None:

        def loss_fn(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            monitor.clear()
            return F.cross_entropy(m(xb), yb) + deft_penalty(monitor, weight=cfg.deft_weight, eps=cfg.deft_eps)

    try:  # dropout masks come from the seed too (MiniLM trains with dropout 0.1)
        with seeded_global_rng(derive_seed(seed, _DROPOUT_STREAM)):
            res = fit(model, data, config=tc, seed=seed, loss_fn=loss_fn, progress=progress, description=desc)
    finally:
        if monitor is not None:
            monitor.remove()
    steps = cfg.epochs * ((len(data) + cfg.batch_size - 1) // cfg.batch_size)
    state = (
        adam_state_bytes(model)
        if info.optimizer == "adamw"
        else sum(p.numel() * p.element_size() for _, p in trainable_parameters(model))
    )  # SGD momentum buffers
    return res.train_loss, steps, state


def _train_zo(
    model: nn.Module,
    data: Split,
    cfg: AdaptConfig,
    info: MethodInfo,
    lr: float,
    seed: int,
    progress: bool | None,
    desc: str,
) -> tuple[list[float], int, int]:
    x, y = _tensors(data)
    named = trainable_parameters(model)
    names, params = [n for n, _ in named], [p for _, p in named]
    steps = cfg.steps or cfg.epochs * ((len(y) + cfg.batch_size - 1) // cfg.batch_size)
    gen = torch_generator(seed)
    if info.family == "fg":
        opt: ZOOptimizer | ForwardGradient = ForwardGradient(dict(named), lr=lr, seed=seed + 1)
    else:
        opt = ZOOptimizer(
            params,
            lr=lr,
            eps=cfg.zo_eps,
            rule=info.optimizer,
            seed=seed + 1,
            weight_decay=cfg.weight_decay,
            blocks=zo_blocks(names) if info.id == "zo-block" else None,
            sparsity=cfg.sparsity if info.id == "zo-sparse" else 0.0,
        )
    model.eval()
    losses: list[float] = []
    order: list[torch.Tensor] = []
    with progress_bar(desc, total=steps, enabled=progress) as tick:
        for t in range(steps):
            if not order:
                order = batches(len(y), cfg.batch_size, gen)
            idx = order.pop(0)
            xb, yb = x[idx], y[idx]
            if isinstance(opt, ForwardGradient):
                loss = opt.step(_functional_loss(model, xb, yb))
            else:
                with torch.no_grad():
                    loss = opt.step(lambda: F.cross_entropy(model(xb), yb))
            losses.append(loss)
            tick(description=f"{desc} step {t + 1}/{steps} loss {np.mean(losses[-20:]):.3f}")
    return losses, steps, opt.state_bytes()


def _functional_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> Callable[[dict], torch.Tensor]:
    def loss_of(params: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(torch.func.functional_call(model, params, (xb,)), yb)

    return loss_of


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    """Logits ``(N, classes)`` for numeric inputs, in eval mode."""
    model.eval()
    t, _ = _tensors(Split(x, np.zeros(len(x), np.int64)))
    return torch.cat([model(t[i : i + batch_size]) for i in range(0, len(t), batch_size)]).numpy()


def accuracy(model: nn.Module, data: Split, *, batch_size: int = 128) -> float:
    return float((predict(model, data.x, batch_size=batch_size).argmax(1) == data.y).mean())


__all__ = [
    "AdaptRun",
    "accuracy",
    "adam_state_bytes",
    "adapt",
    "predict",
    "prepare",
    "trainable_parameters",
    "zo_blocks",
]
