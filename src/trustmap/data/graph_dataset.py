"""Graphs as audit datasets (kind ``graph``): the registered graphs, and user graph files (``.npz``).

A node classifier predicts every node from the whole graph, so a graph dataset is one
:class:`~trustmap.data.graphs.Graph` plus a node split: ``train_nodes`` (the labelled nodes the model
learns from) and ``test_nodes`` (all the others). Its ``train``/``test`` splits hold those nodes' features
``(n, F)`` and labels ``(n,)`` so that the generic code (descriptions, hashes, label checks) works; the graph
probes read :attr:`GraphDataset.graph` and the node ids.

Registered (kind ``graph``, in ``trustmap data list``):

- ``csbm``: the seeded contextual SBM of :mod:`trustmap.data.graphs` (seed 0, 600 nodes, 3 blocks,
  **synthetic**), 20 labelled nodes per class (the Planetoid convention);
- ``karate-club``: Zachary's karate club (real, 34 nodes), 4 labelled nodes per club;
- ``davis-southern-women``: Davis's women/events graph (real, 32 nodes, structural label), 3 per side.

User graph files: an ``.npz`` with ``x`` float ``(N, F)``, ``y`` int ``(N,)``, ``edge_index`` int
``(2, E)`` (made undirected; self-loops dropped) and optionally ``train_idx`` (labelled node ids) or
``train_mask`` bool ``(N,)``; without them, up to 20 nodes per class (at most half of the class) are
labelled at random (seed 0). Read with ``np.load(allow_pickle=False)``: object arrays are refused.

>>> ds = load_dataset("csbm")
>>> ds.kind, ds.graph.num_nodes, len(ds.train_nodes), ds.input_shape
('graph', 600, 60, (32,))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustmap.data.dataset import Dataset, Split
from trustmap.data.graphs import Graph, edges_to_index, load_graph, node_split
from trustmap.data.registry import register_dataset
from trustmap.errors import DataError

PER_CLASS = {"csbm": 20, "karate-club": 4, "davis-southern-women": 3}
USER_PER_CLASS = 20


@dataclass(frozen=True, eq=False, kw_only=True)
class GraphDataset(Dataset):
    """A :class:`Dataset` of kind ``graph``: ``graph`` plus the labelled ``train_nodes`` and the
    ``test_nodes`` (sorted int64 node ids, disjoint, covering every node)."""

    graph: Graph
    train_nodes: np.ndarray
    test_nodes: np.ndarray

    def sha256(self) -> str:
        """The splits' hash plus the edges and the node split (an edge change is another dataset)."""
        h = hashlib.sha256(super().sha256().encode())
        for arr in (self.graph.edge_index, self.train_nodes, self.test_nodes):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "nodes": self.graph.num_nodes,
            "edges": self.graph.num_edges,
            "labelled_nodes": len(self.train_nodes),
            "synthetic": self.graph.synthetic,
        }


def graph_dataset(graph: Graph, train_nodes: np.ndarray, *, name: str | None = None, source: str = "") -> GraphDataset:
    """``graph`` with ``train_nodes`` labelled and every other node in the test split."""
    train = np.unique(np.asarray(train_nodes, dtype=np.int64))
    if len(train) == 0 or train.min() < 0 or train.max() >= graph.num_nodes:
        raise DataError(f"graph {graph.name}: labelled node ids must be in [0, {graph.num_nodes}) and not empty")
    test = np.setdiff1d(np.arange(graph.num_nodes), train)
    if len(test) == 0:
        raise DataError(f"graph {graph.name}: every node is labelled; leave some unlabelled nodes to test and attack")
    return GraphDataset(
        name=name or graph.name,
        kind="graph",
        train=Split(graph.x[train], graph.y[train]),
        test=Split(graph.x[test], graph.y[test]),
        classes=graph.classes,
        source=source or graph.source or graph.name,
        graph=graph,
        train_nodes=train,
        test_nodes=test,
    )


def registered_graph_dataset(name: str) -> GraphDataset:
    """The registered graph ``name`` (seed 0) with its seeded labelled nodes (``PER_CLASS[name]`` per class)."""
    graph = load_graph(name, seed=0)
    train, _ = node_split(graph.y, per_class=PER_CLASS[name], seed=0)
    return graph_dataset(graph, train)


@register_dataset(
    "csbm",
    kind="graph",
    summary="contextual SBM graph, 600 nodes, 3 blocks, 20 labels per block (synthetic, seeded)",
    install="built in (networkx)",
)
def csbm() -> Dataset:
    return registered_graph_dataset("csbm")


@register_dataset(
    "karate-club",
    kind="graph",
    summary="Zachary's karate club graph, 34 nodes, 2 clubs, 4 labels per club (real)",
    install="built in (networkx)",
)
def karate_club() -> Dataset:
    return registered_graph_dataset("karate-club")


@register_dataset(
    "davis-southern-women",
    kind="graph",
    summary="Davis southern women graph, 32 nodes, label = woman/event (real, structural)",
    install="built in (networkx)",
)
def davis_southern_women() -> Dataset:
    return registered_graph_dataset("davis-southern-women")


def npz_graph_dataset(p: Path, arrays: dict[str, np.ndarray]) -> GraphDataset:
    """A user graph from the arrays of an ``.npz`` (see the module docstring), with one-line errors."""
    x, y, ei = arrays["x"], arrays["y"], arrays["edge_index"]
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or len(x) == 0:
        raise DataError(f"{p.name}: x must be a non-empty numeric array of node features (N, F), got {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{p.name}: y must hold one label per node ({len(x)}), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{p.name}: y must be non-negative integer class indices, got dtype {y.dtype}")
    if ei.ndim != 2 or ei.shape[0] != 2 or not np.issubdtype(ei.dtype, np.integer):
        raise DataError(f"{p.name}: edge_index must be an integer array of shape (2, E), got {ei.dtype} {ei.shape}")
    n = len(y)
    if ei.size and (ei.min() < 0 or ei.max() >= n):
        raise DataError(f"{p.name}: edge_index names nodes outside [0, {n}); node ids must index x and y")
    if not np.isfinite(x).all():
        raise DataError(f"{p.name}: x contains NaN or Inf values; clean or impute them first")
    classes = tuple(str(c) for c in range(int(y.max()) + 1))
    graph = Graph(
        p.name,
        x.astype(np.float32),
        y.astype(np.int64),
        edges_to_index(list(zip(ei[0].tolist(), ei[1].tolist()))),
        classes,
        synthetic=False,
        source=str(p.resolve()),
    )
    if "train_idx" in arrays:
        train = arrays["train_idx"]
        if train.ndim != 1 or not np.issubdtype(train.dtype, np.integer):
            raise DataError(f"{p.name}: train_idx must be a 1-D integer array of labelled node ids")
    elif "train_mask" in arrays:
        mask = arrays["train_mask"]
        if mask.shape != (n,) or mask.dtype != bool:
            raise DataError(f"{p.name}: train_mask must be a boolean array with one entry per node ({n})")
        train = np.flatnonzero(mask)
    else:
        counts = np.bincount(graph.y)
        if counts.min() < 2:
            raise DataError(f"{p.name}: every class 0..{len(counts) - 1} needs at least 2 nodes, or give train_idx")
        train, _ = node_split(graph.y, per_class=min(USER_PER_CLASS, int(counts.min()) // 2), seed=0)
    return graph_dataset(graph, train, source=str(p.resolve()))
