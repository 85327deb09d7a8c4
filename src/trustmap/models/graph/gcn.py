"""GCN node classifiers and the training loop every graph model shares, plus two edge-filtering baselines.

- :class:`GCN`: Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks"
  (arXiv 1609.02907): two ``torch_geometric.nn.GCNConv`` layers, hidden 64, dropout 0.5.
- :class:`JaccardGCN`: Wu et al., "Adversarial Examples on Graph Data: Deep Insights into Attack and
  Defense" (arXiv 1903.01610): drop edges whose endpoints' binary features have Jaccard similarity below a
  threshold, then GCN. Features are binarised at 0 *(ours, for real-valued features)*; with no threshold
  given it is the 10th percentile of the training graph's edge similarities *(ours)*.
- :class:`GNNGuardLite`: after Zhang & Zitnik, "GNNGuard" (arXiv 2006.08149), per methods.md: drop edges
  whose feature cosine is below 0.1 and weight the rest by the cosine, then GCN.

Every model is a :class:`NodeClassifier`: ``forward(x (N, F), edge_index (2, E), edge_weight (E,) | None)
-> logits (N, C)``. Filters multiply the edge weights, so the gradient of a loss with respect to
``edge_weight`` (what a structure attack follows) passes through the defence exactly as it acts.

>>> model = GCN(in_dim=32, num_classes=3, seed=0)
>>> fit_node_classifier(model, graph, train_idx, seed=0)
>>> node_accuracy(model, graph, test_idx)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import GCNConv

from trustmap.data.graphs import Graph
from trustmap.utils.seed import seeded_global_rng


def graph_tensors(graph: Graph) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x float32 (N, F), edge_index int64 (2, E))`` as torch tensors."""
    return torch.from_numpy(np.ascontiguousarray(graph.x)), torch.from_numpy(np.ascontiguousarray(graph.edge_index))


class NodeClassifier(nn.Module):
    """Base class: ``forward(x, edge_index, edge_weight=None) -> logits``; override the hooks as needed."""

    def training_loss(
        self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        """The loss one training step minimises (cross-entropy on the labelled nodes by default)."""
        return F.cross_entropy(self(x, edge_index)[idx], y[idx])

    def calibrate(self, x: torch.Tensor, edge_index: torch.Tensor) -> None:
        """Called once on the (clean) training graph before training; set data-dependent thresholds here."""

    def saved_options(self) -> dict[str, Any]:
        """Constructor options that rebuild the trained model beside its weights: the thresholds that
        training fixed (not tensors, so not in the state dict). Saved in the model file's metadata."""
        return {}


class GCN(NodeClassifier):
    """Two-layer GCN (hidden 64, dropout 0.5); ``edge_filter`` maps ``(x, edge_index, w) -> w``."""

    def __init__(self, *, in_dim: int, num_classes: int, hidden: int = 64, dropout: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        with seeded_global_rng(seed):
            self.conv1 = GCNConv(in_dim, hidden)
            self.conv2 = GCNConv(hidden, num_classes)
        self.dropout = dropout

    def edge_filter(self, x: torch.Tensor, edge_index: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return w

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        w = torch.ones(edge_index.shape[1]) if edge_weight is None else edge_weight
        w = self.edge_filter(x, edge_index, w)
        h = F.dropout(x, self.dropout, self.training)
        h = F.relu(self.conv1(h, edge_index, w))
        h = F.dropout(h, self.dropout, self.training)
        return self.conv2(h, edge_index, w)


def jaccard_similarity(x: torch.Tensor, edge_index: torch.Tensor, *, binarize_at: float = 0.0) -> torch.Tensor:
    """Jaccard similarity of the binarised features (``x > binarize_at``) of each edge's endpoints, ``(E,)``."""
    b = (x > binarize_at).float()
    inter = (b[edge_index[0]] * b[edge_index[1]]).sum(1)
    union = b[edge_index[0]].sum(1) + b[edge_index[1]].sum(1) - inter
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.zeros_like(inter))


class JaccardGCN(GCN):
    """GCN on the edges whose Jaccard feature similarity is at least ``threshold``."""

    def __init__(self, *, threshold: float | None = None, quantile: float = 0.1, **kw: Any) -> None:
        super().__init__(**kw)
        self.threshold = threshold
        self.quantile = quantile

    def calibrate(self, x: torch.Tensor, edge_index: torch.Tensor) -> None:
        if self.threshold is None and edge_index.shape[1]:
            self.threshold = float(torch.quantile(jaccard_similarity(x, edge_index), self.quantile))

    def saved_options(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "quantile": self.quantile}

    def edge_filter(self, x: torch.Tensor, edge_index: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        thr = 0.01 if self.threshold is None else self.threshold  # DeepRobust's default for binary features
        return w * (jaccard_similarity(x, edge_index) >= thr).float()


class GNNGuardLite(GCN):
    """GCN whose edges are weighted by feature cosine and dropped below ``cutoff`` (0.1, methods.md)."""

    def __init__(self, *, cutoff: float = 0.1, **kw: Any) -> None:
        super().__init__(**kw)
        self.cutoff = cutoff

    def saved_options(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff}

    def edge_filter(self, x: torch.Tensor, edge_index: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        cos = F.cosine_similarity(x[edge_index[0]], x[edge_index[1]], dim=1)
        return w * cos * (cos >= self.cutoff).float()


@dataclass(frozen=True)
class GraphTrainConfig:
    """Adam, full batch (PyG's GCN example settings: lr 0.01, weight decay 5e-4, 200 epochs)."""

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4


def fit_node_classifier(
    model: NodeClassifier,
    graph: Graph,
    train_idx: np.ndarray,
    *,
    config: GraphTrainConfig = GraphTrainConfig(),
    seed: int = 0,
) -> NodeClassifier:
    """Train ``model`` on the labelled nodes ``train_idx`` of ``graph`` (full batch); returns it in eval mode."""
    x, ei = graph_tensors(graph)
    y = torch.from_numpy(graph.y)
    idx = torch.from_numpy(np.asarray(train_idx, dtype=np.int64))
    model.calibrate(x, ei)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    model.train()
    with seeded_global_rng(seed):
        for _ in range(config.epochs):
            opt.zero_grad()
            model.training_loss(x, ei, y, idx).backward()
            opt.step()
    model.eval()
    return model


@torch.no_grad()
def node_predictions(model: NodeClassifier, graph: Graph) -> np.ndarray:
    """Predicted class of every node, ``(N,)``."""
    model.eval()
    x, ei = graph_tensors(graph)
    return model(x, ei).argmax(1).numpy()


def node_accuracy(model: NodeClassifier, graph: Graph, idx: np.ndarray) -> float:
    """Accuracy on the nodes ``idx``."""
    return float((node_predictions(model, graph)[idx] == graph.y[idx]).mean())
