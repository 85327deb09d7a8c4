"""The fast in-process engine: rounds of sample → local train → aggregate, in one Python process.

It runs the same :class:`~trustmap.federated.strategy.Strategy` and the same client code
(:func:`~trustmap.federated.client.local_train`) as the Flower engine (``flower.py``), so results match
for equal seeds; it only skips messaging. Models are named (``cnn-s``, ``cnn-s-bn``, ``mlp``) so that
the Flower clients can rebuild them.

>>> fed = build_federation(FederationSpec(num_clients=20, partition="dirichlet:0.1"))
>>> hist = run_inprocess(fed, strategy=make_strategy("fedavg"), rounds=30, per_round=10, seed=0)
>>> hist.rounds[-1]["global_accuracy"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from trustmap.federated.client import ClientUpdate, accuracy, get_weights, local_train, set_weights
from trustmap.federated.federation import Federation
from trustmap.federated.strategy import Strategy
from trustmap.models import build_model
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import seeded_global_rng

RoundHook = Callable[[dict], None]


def fl_model(name: str, *, input_shape: tuple[int, ...], num_classes: int = 10, seed: int = 0) -> nn.Module:
    """``cnn-s``/``mlp`` from the model registry, or ``cnn-s-bn`` (CNN-S with BatchNorm, for DistFL); the
    initial weights come from ``seed`` alone (the same in every engine)."""
    if name != "cnn-s-bn":
        return build_model(name, input_shape=input_shape, num_classes=num_classes, seed=seed)
    c, h, w = input_shape
    with seeded_global_rng(seed):
        return nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * (h // 4) * (w // 4), 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )


@dataclass
class FLHistory:
    rounds: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    client_accuracy: list[float] = field(default_factory=list)  # final, per client (its cluster's model)

    @property
    def final(self) -> dict:
        return self.rounds[-1] if self.rounds else {}


def evaluate_clients(strategy: Strategy, fed: Federation, model: nn.Module) -> list[float]:
    """Each client's local test accuracy under the model its strategy gives it."""
    out = []
    for c in fed.clients:
        set_weights(model, strategy.model_for(c.cid))
        out.append(accuracy(model, c.test))
    return out


def round_metrics(
    strategy: Strategy,
    fed: Federation,
    model: nn.Module,
    server_round: int,
    updates: list[ClientUpdate],
    *,
    evaluate_global: bool,
) -> dict:
    accs = evaluate_clients(strategy, fed, model)
    row = {
        "round": server_round,
        "clients": len(updates),
        "train_loss": float(np.mean([u.metrics.get("train_loss", np.nan) for u in updates])),
        "client_accuracy": float(np.mean(accs)),
        "clusters": len(strategy.models),
    }
    if evaluate_global:
        set_weights(model, strategy.models[min(strategy.models)])
        row["global_accuracy"] = accuracy(model, fed.test)
    return row


def run_inprocess(
    fed: Federation,
    *,
    strategy: Strategy,
    rounds: int,
    per_round: int,
    model: str = "cnn-s",
    seed: int = 0,
    evaluate_every: int = 1,
    evaluate_global: bool = True,
    progress: bool | None = None,
    on_round: RoundHook | None = None,
) -> FLHistory:
    """Run ``rounds`` rounds of ``strategy`` on ``fed``; return per-round metrics."""
    net = fl_model(model, input_shape=fed.input_shape, seed=seed)
    strategy.initialize(get_weights(net), num_clients=len(fed.clients), model=net, input_shape=fed.input_shape)
    hist = FLHistory()
    start = time.perf_counter()
    with progress_bar(f"{strategy.name}", total=rounds, enabled=progress) as tick:
        for r in range(1, rounds + 1):
            updates = []
            for cid in strategy.sample(r, per_round=per_round, seed=seed):
                cfg = strategy.config_for(r, cid)
                updates.append(
                    local_train(
                        net,
                        strategy.model_for(cid),
                        fed.clients[cid].train,
                        config=cfg,
                        seed=seed * 100_003 + r * 1000 + cid,
                        cid=cid,
                    )
                )
            strategy.aggregate(r, updates)
            if r % evaluate_every == 0 or r == rounds:
                row = round_metrics(strategy, fed, net, r, updates, evaluate_global=evaluate_global)
                row["seconds"] = round(time.perf_counter() - start, 2)
                hist.rounds.append(row)
                if on_round is not None:
                    on_round(row)
                tick(description=f"{strategy.name} round {r}/{rounds} acc {row['client_accuracy']:.3f}")
            else:
                tick()
    hist.seconds = time.perf_counter() - start
    hist.client_accuracy = evaluate_clients(strategy, fed, net)
    return hist
