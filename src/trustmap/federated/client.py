"""Client-side federated code: local training (FedAvg, FedProx) and evaluation, shared by both engines.

Weights travel as ``list[np.ndarray]`` in ``state_dict`` order (Flower's ``ArrayRecord`` order too).
FedProx adds ``(μ/2)·‖w − w_global‖²`` to the local loss through the training loop's ``loss_fn`` hook
(Li et al., arXiv 1812.06127). Strategies may ask a client for *extras* (e.g. PFA's sparsity vector);
an extra is a function ``(model, data, arg) -> np.ndarray`` registered by name; a request
``"name@arg"`` passes ``arg`` (e.g. which channels to share).

>>> update = local_train(model, weights, client.train, config=ClientConfig(proximal_mu=0.01), seed=0)
>>> update.num_examples, len(update.weights)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data import Split
from trustmap.models.train import TrainConfig, fit
from trustmap.registry import Registry

Weights = list[np.ndarray]
Extra = Callable[[nn.Module, Split, str], np.ndarray]  # (model, data, argument after "@")
EXTRAS: Registry[Extra] = Registry("client extra")


@dataclass(frozen=True)
class ClientConfig:
    """Local training: plain SGD (lr 0.05, one epoch, no momentum), optional FedProx term, optional extras."""

    epochs: int = 1
    lr: float = 0.05
    batch_size: int = 32
    proximal_mu: float = 0.0
    extras: tuple[str, ...] = ()


@dataclass
class ClientUpdate:
    cid: int
    weights: Weights
    num_examples: int
    metrics: dict[str, float] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def register_client_extra(name: str) -> Callable[[Extra], Extra]:
    """Register ``extra(model, data, argument) -> array``, sent with a client's update as ``name@argument``."""
    return EXTRAS.register(name)


def get_weights(model: nn.Module) -> Weights:
    return [v.detach().cpu().numpy().copy() for v in model.state_dict().values()]


def set_weights(model: nn.Module, weights: Weights) -> nn.Module:
    keys = list(model.state_dict().keys())
    if len(keys) != len(weights):
        raise ValueError(f"model has {len(keys)} tensors, got {len(weights)} arrays")
    model.load_state_dict({k: torch.as_tensor(np.asarray(w)) for k, w in zip(keys, weights)}, strict=True)
    return model


def proximal_loss(global_params: list[torch.Tensor], mu: float):  # noqa: ANN201
    """``loss_fn`` for :func:`trustmap.models.train.fit`: cross-entropy + (μ/2)‖w − w_global‖²."""

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(model(xb), yb)
        prox = sum(((p - g) ** 2).sum() for p, g in zip(model.parameters(), global_params))
        return ce + 0.5 * mu * prox

    return loss


def local_train(
    model: nn.Module, weights: Weights, data: Split, *, config: ClientConfig, seed: int, cid: int = -1
) -> ClientUpdate:
    """Load ``weights`` into ``model``, train locally on ``data`` and return the update."""
    set_weights(model, weights)
    loss_fn = None
    if config.proximal_mu > 0:
        loss_fn = proximal_loss([p.detach().clone() for p in model.parameters()], config.proximal_mu)
    tc = TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        optimizer="sgd",
        momentum=0.0,
        schedule="constant",
    )
    result = fit(model, data, config=tc, seed=seed, loss_fn=loss_fn, progress=False)
    extras = {}
    for spec in config.extras:
        name, _, arg = spec.partition("@")
        extras[name] = np.asarray(EXTRAS.get(name)(model, data, arg), dtype=np.float32)
    return ClientUpdate(cid, get_weights(model), len(data), {"train_loss": result.train_loss[-1]}, extras)


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    model.eval()
    out = [
        model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size]))).argmax(1).numpy()
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def accuracy(model: nn.Module, data: Split) -> float:
    if len(data) == 0:
        return float("nan")
    return float((predict(model, data.x) == data.y).mean())
