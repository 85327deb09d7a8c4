"""Server-side strategies: a base that holds the checks and the cluster bookkeeping, one hook per method.

Like Flower's strategies, a new method overrides one hook: ``combine`` (how to merge updates, FedAvg
by default) or ``after_round`` (e.g. DistFL and PFA regroup clients once). The base keeps one model per
cluster (a plain FedAvg has a single cluster 0) and sends each client its cluster's model. Engines (the
in-process loop in ``sim.py`` and the Flower wrapper in ``flower.py``) call the same methods.

FedAvg: McMahan et al., arXiv 1602.05629 (sample-weighted mean). FedProx: Li et al., arXiv 1812.06127
(FedAvg aggregation; clients add (μ/2)‖w − w_global‖², μ=0.01 by default).

>>> s = make_strategy("fedprox", proximal_mu=0.01)
>>> s.initialize(weights, num_clients=20)
>>> s.aggregate(1, updates)          # updates: list[ClientUpdate]
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

from trustmap.errors import TrustmapError
from trustmap.federated.client import ClientConfig, ClientUpdate, Weights
from trustmap.registry import Registry


def weighted_average(updates: Sequence[ClientUpdate]) -> Weights:
    """FedAvg: ``Σ_k n_k w_k / Σ_k n_k`` layer by layer (float64 accumulation)."""
    total = float(sum(u.num_examples for u in updates))
    out = []
    for layer in range(len(updates[0].weights)):
        acc = sum(np.asarray(u.weights[layer], np.float64) * (u.num_examples / total) for u in updates)
        out.append(np.asarray(acc, dtype=np.asarray(updates[0].weights[layer]).dtype))
    return out


class Strategy:
    """FedAvg over clusters of clients. Subclasses override :meth:`combine` or :meth:`after_round`."""

    name = "fedavg"

    def __init__(self, *, client_config: ClientConfig = ClientConfig()) -> None:
        self.client_config = client_config
        self.models: dict[int, Weights] = {}
        self.assignment = np.zeros(0, dtype=int)
        self.num_clients = 0

    # -- bookkeeping shared by every strategy -------------------------------------------------------
    def initialize(
        self,
        weights: Weights,
        *,
        num_clients: int,
        model: nn.Module | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        """Start every client in cluster 0 with ``weights``; ``model`` is a template for server-side use."""
        self.template = copy.deepcopy(model) if model is not None else None
        self.input_shape = input_shape
        self.num_clients = num_clients
        self.assignment = np.zeros(num_clients, dtype=int)
        self.models = {0: [np.array(w, copy=True) for w in weights]}

    def sample(self, server_round: int, *, per_round: int, seed: int) -> list[int]:
        """The clients of one round (seeded per round, identical in every engine)."""
        if per_round >= self.num_clients:
            return list(range(self.num_clients))
        rng = np.random.default_rng([seed, server_round])
        return sorted(int(c) for c in rng.choice(self.num_clients, size=per_round, replace=False))

    def model_for(self, cid: int) -> Weights:
        return self.models[int(self.assignment[cid])]

    def config_for(self, server_round: int, cid: int) -> ClientConfig:  # noqa: ARG002
        return self.client_config

    def set_clusters(self, assignment: np.ndarray, *, start: dict[int, Weights] | None = None) -> None:
        """Regroup clients; a new cluster starts from the mean of its members' models (``start`` or current)."""
        assignment = np.asarray(assignment, dtype=int)
        if assignment.shape != (self.num_clients,):
            raise ValueError(f"assignment must have one entry per client ({self.num_clients})")
        old = {cid: (start or {}).get(cid, self.model_for(cid)) for cid in range(self.num_clients)}
        self.models = {}
        for c in np.unique(assignment):
            members = np.flatnonzero(assignment == c)
            self.models[int(c)] = weighted_average([ClientUpdate(int(m), old[int(m)], 1) for m in members])
        self.assignment = assignment

    def aggregate(self, server_round: int, updates: Sequence[ClientUpdate]) -> None:
        """Check the updates, merge them per cluster with :meth:`combine`, then :meth:`after_round`."""
        if not updates:
            raise TrustmapError(f"round {server_round}: no client returned an update")
        shapes = [np.shape(w) for w in next(iter(self.models.values()))]
        for u in updates:
            if [np.shape(w) for w in u.weights] != shapes:
                raise ValueError(f"client {u.cid}: update shapes do not match the model")
            if u.num_examples <= 0:
                raise ValueError(f"client {u.cid}: num_examples must be positive, got {u.num_examples}")
            if not all(np.all(np.isfinite(w)) for w in u.weights):
                raise ValueError(f"client {u.cid}: update contains NaN or inf")
        for c in np.unique(self.assignment[[u.cid for u in updates]]):
            members = [u for u in updates if self.assignment[u.cid] == c]
            self.models[int(c)] = self.combine(server_round, members)
        self.after_round(server_round, updates)

    # -- hooks ------------------------------------------------------------------------------------------
    def combine(self, server_round: int, updates: Sequence[ClientUpdate]) -> Weights:  # noqa: ARG002
        return weighted_average(updates)

    def after_round(self, server_round: int, updates: Sequence[ClientUpdate]) -> None:  # noqa: ARG002
        return None


class FedAvg(Strategy):
    name = "fedavg"


class FedProx(Strategy):
    """FedAvg aggregation; clients train with the proximal term (μ in ``client_config``)."""

    name = "fedprox"

    def __init__(self, *, client_config: ClientConfig = ClientConfig(), proximal_mu: float = 0.01) -> None:
        if proximal_mu < 0:
            raise TrustmapError(f"FedProx mu must be >= 0, got {proximal_mu:g}")
        from dataclasses import replace

        super().__init__(client_config=replace(client_config, proximal_mu=proximal_mu))


STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy", builtins=("trustmap.federated",))  # distfl, pfa


def register_strategy(name: str) -> Callable[[Callable[..., Strategy]], Callable[..., Strategy]]:
    """Register a strategy factory (usually the class) under ``name``."""
    return STRATEGIES.register(name)


register_strategy("fedavg")(FedAvg)
register_strategy("fedprox")(FedProx)


def strategy_names() -> list[str]:
    return sorted(STRATEGIES.ids())


def make_strategy(name: str, **options: object) -> Strategy:
    return STRATEGIES.get(name)(**options)
