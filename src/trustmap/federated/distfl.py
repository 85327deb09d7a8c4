"""DistFL: cluster clients by the distribution knowledge in their models.

Paper: DistFL: Distribution-aware Federated Learning for Mobile Scenarios (arXiv 2110.11619, IMWUT 2021);
steps (1)-(4) below follow the authors' code (``inversion.py``: DeepInversion and the KL matrix).

After ``warmup`` FedAvg rounds, every client trains ``local_epochs`` epochs and uploads its model. The
server synthesises probes from each uploaded model by DeepInversion (match BatchNorm batch statistics to
the running statistics on the 50% of channels with the largest |γ|, plus cross-entropy to random target
classes and a TV prior), feeds all probes to every client model, and builds a symmetrised KL distance
between clients' softmax outputs. Agglomerative clustering (average linkage) splits the clients; each
cluster then runs its own FedAvg. Defaults *(ours)*: 64 probes per model, 200 Adam steps, lr 0.05,
TV weight 1e-4. The model needs BatchNorm (``cnn-s-bn``).

Shapes: probes ``(n_probes, C, H, W)`` in [0, 1]; KL distance matrix ``(clients, clients)``.

>>> s = DistFL(n_clusters=3, warmup=5)
>>> run_inprocess(fed, strategy=s, rounds=21, per_round=12, model="cnn-s-bn")
>>> s.assignment
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.federated.client import ClientConfig, ClientUpdate, set_weights
from trustmap.federated.leakage import total_variation
from trustmap.federated.strategy import Strategy, register_strategy
from trustmap.utils.seed import torch_generator


def deep_inversion(
    model: nn.Module,
    *,
    input_shape: tuple[int, ...],
    n: int = 64,
    steps: int = 200,
    lr: float = 0.05,
    tv: float = 1e-4,
    bn_fraction: float = 0.5,
    num_classes: int = 10,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Probes whose BatchNorm batch statistics match ``model``'s running statistics (DeepInversion)."""
    model.eval()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        raise ValueError("DeepInversion needs a model with BatchNorm2d layers (use cnn-s-bn)")
    stats: list[torch.Tensor] = []

    def hook(module: nn.BatchNorm2d, inputs: tuple[torch.Tensor], _out: torch.Tensor) -> None:
        h = inputs[0]
        k = max(1, int(bn_fraction * h.shape[1]))
        ch = module.weight.detach().abs().topk(k).indices
        mean, var = h.mean((0, 2, 3))[ch], h.var((0, 2, 3), unbiased=False)[ch]
        stats.append(torch.norm(mean - module.running_mean[ch], 2) + torch.norm(var - module.running_var[ch], 2))

    handles = [m.register_forward_hook(hook) for m in bns]
    try:
        x = torch.rand((n, *input_shape), generator=generator).requires_grad_(True)
        targets = torch.randint(num_classes, (n,), generator=generator)
        opt = torch.optim.Adam([x], lr=lr)
        for _ in range(steps):
            stats.clear()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), targets) + sum(stats) + tv * total_variation(x)
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
    finally:
        for h in handles:
            h.remove()
    return x.detach()


@torch.no_grad()
def kl_distance(models: Sequence[nn.Module], probes: torch.Tensor) -> np.ndarray:
    """Symmetrised mean KL between clients' softmax outputs on the pooled probes, ``(K, K)``."""
    logp = [F.log_softmax(m.eval()(probes), dim=1) for m in models]
    k = len(models)
    d = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            kl_ij = (logp[i].exp() * (logp[i] - logp[j])).sum(1).mean()
            kl_ji = (logp[j].exp() * (logp[j] - logp[i])).sum(1).mean()
            d[i, j] = d[j, i] = float(kl_ij + kl_ji) / 2
    return d


def cluster_distance(distance: np.ndarray, *, n_clusters: int) -> np.ndarray:
    """Agglomerative clustering (average linkage) of a precomputed distance matrix → labels ``(K,)``."""
    from sklearn.cluster import AgglomerativeClustering

    if n_clusters >= len(distance):
        return np.arange(len(distance))
    algo = AgglomerativeClustering(n_clusters=n_clusters, metric="precomputed", linkage="average")
    return algo.fit_predict(distance)


class DistFL(Strategy):
    """FedAvg warm-up, one clustering round on uploaded models, then per-cluster FedAvg.

    ``fixed_groups`` replaces the probe clustering with a given assignment: the true groups give the
    oracle-clustering baseline, ``np.arange(num_clients)`` with ``warmup=0`` local-only training.
    """

    name = "distfl"

    def __init__(
        self,
        *,
        client_config: ClientConfig = ClientConfig(),
        n_clusters: int = 3,
        warmup: int = 5,
        local_epochs: int = 2,
        probes: int = 64,
        probe_steps: int = 200,
        seed: int = 0,
        fixed_groups: np.ndarray | None = None,
    ) -> None:
        super().__init__(client_config=client_config)
        self.n_clusters, self.warmup, self.local_epochs = n_clusters, warmup, local_epochs
        self.probes, self.probe_steps, self.seed, self.fixed_groups = probes, probe_steps, seed, fixed_groups
        self.distance: np.ndarray | None = None

    @property
    def cluster_round(self) -> int:
        return self.warmup + 1

    def sample(self, server_round: int, *, per_round: int, seed: int) -> list[int]:
        if server_round == self.cluster_round:
            return list(range(self.num_clients))  # every client uploads its model once
        return super().sample(server_round, per_round=per_round, seed=seed)

    def config_for(self, server_round: int, cid: int) -> ClientConfig:
        if server_round == self.cluster_round:
            from dataclasses import replace

            return replace(self.client_config, epochs=self.local_epochs)
        return self.client_config

    def after_round(self, server_round: int, updates: Sequence[ClientUpdate]) -> None:
        if server_round != self.cluster_round:
            return
        uploaded = {u.cid: u.weights for u in updates}
        if self.fixed_groups is not None:
            labels = np.asarray(self.fixed_groups)
        else:
            labels = self.cluster(uploaded)
        self.set_clusters(labels, start=uploaded)

    def cluster(self, uploaded: dict[int, list[np.ndarray]]) -> np.ndarray:
        if self.template is None:
            raise ValueError("DistFL needs the model template (engines pass it to initialize)")
        gen = torch_generator(self.seed)
        models, probes = [], []
        for cid in range(self.num_clients):
            m = set_weights(copy.deepcopy(self.template), uploaded[cid])
            probes.append(
                deep_inversion(m, input_shape=self.input_shape, n=self.probes, steps=self.probe_steps, generator=gen)
            )
            models.append(m)
        self.distance = kl_distance(models, torch.cat(probes))
        return cluster_distance(self.distance, n_clusters=self.n_clusters)


register_strategy("distfl")(DistFL)
