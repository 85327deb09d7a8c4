"""Training helpers of :mod:`trustmap.text`: a two-learning-rate loop and a memoised lower-layer cache.

* :func:`train_net`: AdamW with one rate for the task head (``model.head``, freshly initialised) and one
  for the rest, one-cycle schedule, seeded batch order; ``loss(net, xb, yb)`` comes from the application.
* :func:`cached_lower`: :func:`trustmap.adapt.cache.cache_lower` memoised on the token ids, so arms and
  tasks that see the same texts share one pass of the frozen lower layers ``(N, L, 384 + 1)``.

>>> train_net(net, x, y, loss=app.loss, epochs=1, batch_size=16, lr=1e-4, head_lr=1e-2, seed=0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from trustmap.errors import TrustmapError

HEAD_LR = 1e-2  # the freshly initialised task head learns at this rate (ours); the encoder at the method's


def train_net(
    net: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    epochs: int,
    batch_size: int,
    lr: float,
    head_lr: float,
    seed: int,
    progress: bool | None = None,
    description: str = "training",
) -> list[float]:
    """AdamW with two learning rates (``head_lr`` for parameters under ``model.head``, ``lr`` for the rest),
    one-cycle schedule, seeded batch order; returns the mean loss per epoch."""
    from trustmap.models.train import batches
    from trustmap.utils.progress import progress_bar
    from trustmap.utils.seed import torch_generator

    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if not n.startswith("model.head.")], "lr": lr},
        {"params": [p for n, p in named if n.startswith("model.head.")], "lr": head_lr},
    ]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise TrustmapError("nothing to train: every parameter is frozen")
    opt = torch.optim.AdamW(groups)
    xt = torch.from_numpy(np.ascontiguousarray(x))
    yt = torch.from_numpy(np.asarray(y, np.int64))
    per_epoch = (len(yt) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=max(1, epochs * per_epoch), pct_start=0.25
    )
    gen = torch_generator(seed)
    losses = []
    net.train()
    with progress_bar(description, total=epochs * per_epoch, enabled=progress) as tick:
        for _ in range(epochs):
            total = 0.0
            for idx in batches(len(yt), batch_size, gen):
                opt.zero_grad(set_to_none=True)
                value = loss(net, xt[idx], yt[idx])
                value.backward()
                opt.step()
                sched.step()
                total += value.item() * len(idx)
                tick()
            losses.append(total / max(len(yt), 1))
    net.eval()
    return losses


_CACHE: dict[tuple[str, int], np.ndarray] = {}


def cached_lower(model: nn.Module, ids: np.ndarray, *, keep_top: int) -> np.ndarray:
    """:func:`~trustmap.adapt.cache.cache_lower` memoised on the ids (the pretrained lower layers never change)."""
    from trustmap.adapt.cache import cache_lower

    key = (hashlib.sha256(np.ascontiguousarray(ids).tobytes() + str(ids.shape).encode()).hexdigest(), keep_top)
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = cache_lower(model, ids, keep_top=keep_top)
    return _CACHE[key]


__all__ = ["HEAD_LR", "cached_lower", "train_net"]
