"""PFA: privacy-preserving federated adaptation by sparsity grouping.

Paper: PFA: Privacy-preserving Federated Adaptation for Effective Model Personalization (arXiv 2103.01548,
WWW 2021).

After ``warmup`` FedAvg rounds, each client computes the per-channel ReLU sparsity (fraction of zero
activations) of the last conv layer over its data and shares only ``shared`` channels at indices the
server draws once (the same for all clients). The server builds Euclidean distances between these
vectors, groups clients by hierarchical clustering (average linkage), and each group runs FedAvg
from the federated model. The authors' code shares 20 of VGG-11-BN's 512 channels at layer 27; ours: CNN-S,
32 channels at the last conv, 16 shared.

Shapes: sparsity vector ``(shared,)`` in [0, 1]; mean penultimate features ``(128,)`` (privacy probe).

>>> s = PFA(n_groups=3, warmup=20)
>>> run_inprocess(fed, strategy=s, rounds=31, per_round=12)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from trustmap.data import Split
from trustmap.federated.client import ClientConfig, ClientUpdate, register_client_extra
from trustmap.federated.distfl import cluster_distance
from trustmap.federated.strategy import Strategy, register_strategy


def _last_conv_relu(model: nn.Module) -> nn.Module:
    mods = list(model.modules())
    convs = [i for i, m in enumerate(mods) if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("PFA needs a convolutional model")
    return next(m for m in mods[convs[-1] :] if isinstance(m, nn.ReLU))


@torch.no_grad()
def activation_stats(model: nn.Module, x: np.ndarray, *, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel sparsity at the last conv ReLU ``(C,)`` and mean penultimate features ``(F,)``."""
    model.eval()
    relu = _last_conv_relu(model)
    penult = [m for m in model.modules() if isinstance(m, nn.ReLU)][-1]
    zeros, feats, seen = [], [], {}
    h1 = relu.register_forward_hook(lambda _m, _i, out: seen.__setitem__("conv", out))
    h2 = penult.register_forward_hook(lambda _m, _i, out: seen.__setitem__("pen", out))
    try:
        for i in range(0, len(x), batch_size):
            model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])))
            zeros.append((seen["conv"] == 0).float().mean((2, 3)).sum(0))
            feats.append(seen["pen"].sum(0))
    finally:
        h1.remove()
        h2.remove()
    return (torch.stack(zeros).sum(0) / len(x)).numpy(), (torch.stack(feats).sum(0) / len(x)).numpy()


def shared_channels(num_channels: int, shared: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(num_channels, size=min(shared, num_channels), replace=False))


@register_client_extra("pfa-sparsity")
def client_sparsity(model: nn.Module, data: Split, arg: str) -> np.ndarray:
    """The shared part of the client's sparsity vector; ``arg`` = comma-separated channel indices."""
    idx = np.array([int(v) for v in arg.split(",") if v], dtype=int)
    sparsity, _ = activation_stats(model, data.x)
    return sparsity[idx] if len(idx) else sparsity


class PFA(Strategy):
    """FedAvg warm-up, one sparsity-sharing round, then group-wise FedAvg.

    ``fixed_groups`` replaces the sparsity grouping with a given assignment: the true groups give the
    oracle-grouping baseline, a random balanced assignment the random-grouping baseline."""

    name = "pfa"

    def __init__(
        self,
        *,
        client_config: ClientConfig = ClientConfig(),
        n_groups: int = 3,
        warmup: int = 20,
        shared: int = 16,
        channels: int = 32,
        seed: int = 0,
        fixed_groups: np.ndarray | None = None,
    ) -> None:
        super().__init__(client_config=client_config)
        self.n_groups, self.warmup, self.fixed_groups = n_groups, warmup, fixed_groups
        self.channels = shared_channels(channels, shared, seed)
        self.vectors: np.ndarray | None = None

    @property
    def group_round(self) -> int:
        return self.warmup + 1

    def sample(self, server_round: int, *, per_round: int, seed: int) -> list[int]:
        if server_round == self.group_round:
            return list(range(self.num_clients))
        return super().sample(server_round, per_round=per_round, seed=seed)

    def config_for(self, server_round: int, cid: int) -> ClientConfig:
        if server_round == self.group_round:
            from dataclasses import replace

            return replace(self.client_config, extras=("pfa-sparsity@" + ",".join(map(str, self.channels)),))
        return self.client_config

    def after_round(self, server_round: int, updates: Sequence[ClientUpdate]) -> None:
        if server_round != self.group_round:
            return
        by_cid = {u.cid: u for u in updates}
        self.vectors = np.stack([by_cid[c].extras["pfa-sparsity"] for c in range(self.num_clients)])
        if self.fixed_groups is not None:
            labels = np.asarray(self.fixed_groups)
        else:
            labels = group_by_sparsity(self.vectors, n_groups=self.n_groups)
        self.set_clusters(labels, start={c: u.weights for c, u in by_cid.items()})


def group_by_sparsity(vectors: np.ndarray, *, n_groups: int) -> np.ndarray:
    """Hierarchical clustering (average linkage) on Euclidean distances of sparsity vectors."""
    diff = vectors[:, None, :] - vectors[None, :, :]
    return cluster_distance(np.sqrt((diff**2).sum(-1)), n_clusters=n_groups)


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of clients whose group's majority true label is theirs."""
    total = 0
    for g in np.unique(labels):
        total += np.bincount(truth[labels == g]).max()
    return total / len(truth)


def loo_r2(features: np.ndarray, targets: np.ndarray, *, alpha: float = 1.0) -> float:
    """Leave-one-out ridge regression R² (uniform over outputs) of ``targets`` from ``features``."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = cross_val_predict(make_pipeline(StandardScaler(), Ridge(alpha=alpha)), features, targets, cv=LeaveOneOut())
    return float(r2_score(targets, pred))


register_strategy("pfa")(PFA)
