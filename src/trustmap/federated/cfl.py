"""Clustering clients by the cosine similarity of their weight updates (CFL-style baseline for DistFL).

Paper: Clustered Federated Learning: Model-Agnostic Distributed Multi-Task Optimization under Privacy
Constraints (Sattler et al., arXiv 1910.01991). CFL splits clients whose weight updates point in
different directions. Here it replaces DistFL's probe-based distance with ``1 - cos(Δw_i, Δw_j)``, where
``Δw_i`` is client ``i``'s upload minus the global model it started the clustering round from, and keeps
everything else (warm-up, the clustering round, average-linkage clustering into ``n_clusters``, per-cluster
FedAvg) identical, so a difference between the two is the probes' doing. One-shot clustering at DistFL's
clustering round is ours (CFL itself splits recursively when the mean update is near stationary).

Shapes: flattened updates ``(clients, parameters)``; distance matrix ``(clients, clients)``.

>>> s = UpdateClustering(n_clusters=3, warmup=5)
>>> run_inprocess(fed, strategy=s, rounds=21, per_round=12, model="cnn-s-bn")
>>> s.assignment
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trustmap.federated.client import ClientUpdate
from trustmap.federated.distfl import DistFL, cluster_distance
from trustmap.federated.strategy import register_strategy


def cosine_distance(updates: np.ndarray) -> np.ndarray:
    """``1 - cos`` between the rows of ``updates`` ``(K, P)`` → ``(K, K)``, zero on the diagonal."""
    norms = np.linalg.norm(updates, axis=1, keepdims=True)
    unit = updates / np.maximum(norms, 1e-12)
    d = 1.0 - np.clip(unit @ unit.T, -1.0, 1.0)
    np.fill_diagonal(d, 0.0)
    return d


class UpdateClustering(DistFL):
    """DistFL's schedule with clients clustered by weight-update direction instead of synthesised probes."""

    name = "cfl"

    def aggregate(self, server_round: int, updates: Sequence[ClientUpdate]) -> None:
        if server_round == self.cluster_round:  # the global model every client started this round from
            self._start = np.concatenate([np.ravel(w) for w in self.model_for(0)])
        super().aggregate(server_round, updates)

    def cluster(self, uploaded: dict[int, list[np.ndarray]]) -> np.ndarray:
        flat = np.stack([np.concatenate([np.ravel(w) for w in uploaded[cid]]) for cid in range(self.num_clients)])
        self.distance = cosine_distance(flat - self._start)
        return cluster_distance(self.distance, n_clusters=self.n_clusters)


register_strategy("cfl")(UpdateClustering)
