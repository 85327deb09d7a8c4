"""Node classifiers for graphs: GCN and its robust variants (GCN-Jaccard, GNNGuard-lite, RGCN) and GAgN-lite.

Each is a :class:`NodeClassifier` (``forward(x, edge_index, edge_weight) -> logits``) trained by
:func:`fit_node_classifier`; :func:`build_node_classifier` makes one by name.
"""

from __future__ import annotations

from typing import Any

from trustmap.errors import ModelError
from trustmap.models.graph.gagn import GAgN
from trustmap.models.graph.gcn import (
    GCN,
    GNNGuardLite,
    GraphTrainConfig,
    JaccardGCN,
    NodeClassifier,
    fit_node_classifier,
    graph_tensors,
    jaccard_similarity,
    node_accuracy,
    node_predictions,
)
from trustmap.models.graph.rgcn import RGCN

NODE_CLASSIFIERS: dict[str, type[NodeClassifier]] = {
    "gcn": GCN,
    "gcn-jaccard": JaccardGCN,
    "gnnguard-lite": GNNGuardLite,
    "rgcn": RGCN,
    "gagn": GAgN,
}


def build_node_classifier(name: str, *, in_dim: int, num_classes: int, seed: int = 0, **options: Any) -> NodeClassifier:
    """A fresh node classifier ``name`` (one of :data:`NODE_CLASSIFIERS`)."""
    if name not in NODE_CLASSIFIERS:
        raise ModelError(f"unknown node classifier {name!r}; choose from {', '.join(NODE_CLASSIFIERS)}")
    return NODE_CLASSIFIERS[name](in_dim=in_dim, num_classes=num_classes, seed=seed, **options)


__all__ = [
    "GCN",
    "NODE_CLASSIFIERS",
    "RGCN",
    "GAgN",
    "GNNGuardLite",
    "GraphTrainConfig",
    "JaccardGCN",
    "NodeClassifier",
    "build_node_classifier",
    "fit_node_classifier",
    "graph_tensors",
    "jaccard_similarity",
    "node_accuracy",
    "node_predictions",
]
