"""Targeted structure attacks on node classifiers: edge flips at one target node.

- :func:`greedy_flips`: the gradient-greedy attack of Nettack/Metattack style (Zügner et al., arXiv
  1805.07984; Zügner & Günnemann, arXiv 1902.08412). The target's adjacency row is made a continuous
  weight vector (0 = no edge); each step takes the gradient of the model's cross-entropy at the target
  with respect to that row, flips the entry with the largest first-order gain (inserting where the gradient
  is positive, removing where it is negative) and recomputes. Run on a surrogate it is a transfer attack;
  run on the defended model it is the adaptive ("secondary") attack, whose gradient passes through the
  defence's edge filter (a filtered candidate has zero gradient, so it is never worth picking).
- :class:`LinearGCN` + :func:`train_surrogate`: Nettack's surrogate, a linearised two-layer GCN
  ``softmax(A_hat^2 X W)`` (``torch_geometric.nn.SGConv``, K=2), trained on the attacker's labelled nodes.
- :func:`random_insertions`: the control, edges from the target to uniformly random non-neighbours.

Attacks return the flipped pairs ``(target, j)`` in order, so budget ``b`` is the first ``b`` of them;
:func:`apply_flips` toggles them in a :class:`trustmap.data.graphs.Graph`.

>>> sur = train_surrogate(graph, train_idx, seed=0)
>>> att = greedy_flips(sur, graph, target=5, budget=5, insert_only=True)
>>> perturbed = apply_flips(graph, att.flips[:3])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F
from torch_geometric.nn import SGConv

from trustmap.data.graphs import Graph
from trustmap.errors import TrustmapError
from trustmap.models.graph.gcn import GraphTrainConfig, NodeClassifier, fit_node_classifier, graph_tensors
from trustmap.utils.seed import seeded_global_rng


@dataclass
class TargetAttack:
    """The flips at one target, in order, and (for :func:`greedy_flips`) the attacked model's prediction for
    the target after 0, 1, ..., ``len(flips)`` of them."""

    target: int
    flips: list[tuple[int, int]]
    predictions: list[int] = field(default_factory=list)


class LinearGCN(NodeClassifier):
    """Nettack's surrogate: two propagation steps, one linear map, no nonlinearity."""

    def __init__(self, *, in_dim: int, num_classes: int, seed: int = 0) -> None:
        super().__init__()
        with seeded_global_rng(seed):
            self.conv = SGConv(in_dim, num_classes, K=2)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.conv(x, edge_index, edge_weight)


def train_surrogate(graph: Graph, train_idx: np.ndarray, *, seed: int = 0) -> LinearGCN:
    """A :class:`LinearGCN` fitted to the labelled nodes (Adam lr 0.01, weight decay 5e-4, 200 epochs)."""
    model = LinearGCN(in_dim=graph.x.shape[1], num_classes=graph.num_classes, seed=seed)
    fit_node_classifier(model, graph, train_idx, config=GraphTrainConfig(), seed=seed)
    return model


def _check_target(graph: Graph, target: int, budget: int) -> None:
    if not 0 <= target < graph.num_nodes:
        raise TrustmapError(f"target node {target} is not in the graph (0..{graph.num_nodes - 1})")
    if budget < 0 or budget > graph.num_nodes - 1:
        raise TrustmapError(f"attack budget must be 0..{graph.num_nodes - 1} edge flips, not {budget}")


def greedy_flips(
    model: NodeClassifier,
    graph: Graph,
    *,
    target: int,
    budget: int,
    label: int | None = None,
    insert_only: bool = False,
) -> TargetAttack:
    """Greedy gradient flips of the target's edges that raise ``model``'s loss at ``target``.

    ``label``: the class the attacker pushes away from (default: the true label). ``insert_only``: only
    insert edges (Nettack-style insertion attack); otherwise edges may also be removed.
    """
    _check_target(graph, target, budget)
    model.eval()
    x, ei = graph_tensors(graph)
    n = graph.num_nodes
    y = torch.tensor([int(graph.y[target] if label is None else label)])
    incident = (ei[0] == target) | (ei[1] == target)
    base = ei[:, ~incident]
    row = torch.zeros(n)
    row[ei[1, ei[0] == target]] = 1.0
    others = torch.tensor([j for j in range(n) if j != target], dtype=torch.long)
    tcol = torch.full_like(others, target)
    edge_index = torch.cat([base, torch.stack([tcol, others]), torch.stack([others, tcol])], 1)
    out = TargetAttack(target=target, flips=[])
    blocked = torch.zeros(n, dtype=torch.bool)
    blocked[target] = True
    for step in range(budget + 1):
        w_row = row.clone().requires_grad_(True)
        weight = torch.cat([torch.ones(base.shape[1]), w_row[others], w_row[others]])
        logits = model(x, edge_index, weight)
        out.predictions.append(int(logits[target].argmax()))
        if step == budget:
            break
        (grad,) = torch.autograd.grad(F.cross_entropy(logits[target : target + 1], y), w_row)
        gain = grad * (1 - 2 * row)  # insert: +grad; remove: -grad
        gain[blocked] = -torch.inf
        if insert_only:
            gain[row > 0] = -torch.inf
        j = int(gain.argmax())
        if not torch.isfinite(gain[j]):
            break  # nothing left to flip
        row[j] = 1.0 - row[j]
        blocked[j] = True
        out.flips.append((target, j))
    return out


def random_insertions(graph: Graph, *, target: int, budget: int, seed: int) -> TargetAttack:
    """Insert ``budget`` edges from ``target`` to uniformly random non-neighbours (the control)."""
    _check_target(graph, target, budget)
    rng = np.random.default_rng(seed)
    a, b = graph.edge_index
    neighbours = set(b[a == target].tolist()) | {target}
    pool = np.array([j for j in range(graph.num_nodes) if j not in neighbours])
    picks = rng.choice(pool, min(budget, len(pool)), replace=False)
    return TargetAttack(target=target, flips=[(target, int(j)) for j in picks])


def apply_flips(graph: Graph, flips: list[tuple[int, int]]) -> Graph:
    """``graph`` with each undirected pair in ``flips`` toggled (inserted if absent, removed if present)."""
    edges = graph.edge_set()
    for i, j in flips:
        pair = (min(i, j), max(i, j))
        edges.symmetric_difference_update({pair})
    return graph.with_edges(edges)
