"""Graphs for node classification, by name, offline: real networkx graphs and a seeded contextual SBM.

A :class:`Graph` holds node features ``x`` float32 ``(N, F)``, labels ``y`` int64 ``(N,)`` and the
undirected edges as ``edge_index`` int64 ``(2, 2E)`` (each edge in both directions, no self-loops), the
layout PyTorch Geometric expects. Graphs live in their own registry, :data:`GRAPHS`, because a node is not
an independent example (its prediction depends on the whole graph), so a graph is not a
:class:`trustmap.data.Dataset`.

Registered graphs:

- ``csbm`` *(synthetic)*: a contextual stochastic block model, ``networkx.stochastic_block_model`` plus
  Gaussian node features around per-class means; seeded, so ``load_graph("csbm", seed=s)`` is reproducible.
- ``karate-club`` *(real)*: Zachary's karate club, 34 nodes, 78 edges, label = club after the split,
  one-hot (identity) features.
- ``davis-southern-women`` *(real)*: 18 women and 14 events (bipartite, 89 edges); label = side of the
  bipartition (woman / event), one-hot features. The label is structural, so it is a plumbing check only.

networkx's ``florentine_families_graph`` and ``les_miserables_graph`` carry no node labels, so they are
not registered.

>>> g = load_graph("csbm", seed=0, nodes=300)
>>> g.x.shape, g.num_classes, g.synthetic
((300, 32), 3, True)
>>> train, test = node_split(g.y, per_class=20, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from trustmap.errors import DataError
from trustmap.registry import Registry, check_id


@dataclass(frozen=True, eq=False)
class Graph:
    """One node-classification graph (see the module docstring for shapes)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    edge_index: np.ndarray
    classes: tuple[str, ...]
    synthetic: bool
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.y)
        if self.x.ndim != 2 or len(self.x) != n:
            raise DataError(f"graph {self.name}: x must be (N, F) with N = {n} nodes, got {self.x.shape}")
        ei = self.edge_index
        if ei.ndim != 2 or ei.shape[0] != 2 or (ei.size and (ei.min() < 0 or ei.max() >= n)):
            raise DataError(f"graph {self.name}: edge_index must be (2, E) with node ids in [0, {n})")
        if not np.isfinite(self.x).all():
            raise DataError(f"graph {self.name}: node features contain NaN or infinity; clean them first")

    @property
    def num_nodes(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_edges(self) -> int:
        """Undirected edges."""
        return int(self.edge_index.shape[1] // 2)

    def edge_set(self) -> set[tuple[int, int]]:
        """The undirected edges as ``(low, high)`` pairs."""
        a, b = self.edge_index
        return {(int(min(i, j)), int(max(i, j))) for i, j in zip(a, b, strict=True)}

    def with_edges(self, edges: set[tuple[int, int]] | list[tuple[int, int]]) -> Graph:
        """The same nodes with another undirected edge set."""
        return Graph(self.name, self.x, self.y, edges_to_index(edges), self.classes, self.synthetic, self.source)


def edges_to_index(edges: set[tuple[int, int]] | list[tuple[int, int]]) -> np.ndarray:
    """Undirected pairs -> ``(2, 2E)`` int64, both directions, sorted; self-loops dropped."""
    pairs = sorted({(min(i, j), max(i, j)) for i, j in edges if i != j})
    if not pairs:
        return np.zeros((2, 0), dtype=np.int64)
    a = np.array(pairs, dtype=np.int64).T
    return np.concatenate([a, a[::-1]], axis=1)


def from_networkx(name: str, g: Any, *, label: str, synthetic: bool, source: str) -> Graph:
    """A :class:`Graph` from a networkx graph whose nodes carry ``label``; one-hot (identity) features."""
    nodes = list(g.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    raw = [str(g.nodes[v][label]) for v in nodes]
    classes = tuple(sorted(set(raw)))
    y = np.array([classes.index(r) for r in raw], dtype=np.int64)
    edges = [(index[u], index[v]) for u, v in g.edges]
    x = np.eye(len(nodes), dtype=np.float32)
    return Graph(name, x, y, edges_to_index(edges), classes, synthetic, source)


# --- registry -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphInfo:
    name: str
    summary: str
    synthetic: bool
    loader: Callable[..., Graph]


GRAPHS: Registry[GraphInfo] = Registry(
    "graph",
    builtins=("trustmap.data.graphs",),
    error=DataError,
    hint="Graphs are listed by trustmap.data.graphs.graph_names().",
    summary=lambda info: info.summary,
)


def register_graph(
    name: str, *, summary: str, synthetic: bool
) -> Callable[[Callable[..., Graph]], Callable[..., Graph]]:
    """Decorator that registers a graph loader ``(*, seed, **params) -> Graph`` under ``name``."""
    check_id(GRAPHS.kind, name)

    def deco(fn: Callable[..., Graph]) -> Callable[..., Graph]:
        GRAPHS.add(name, GraphInfo(name, summary, synthetic, fn))
        return fn

    return deco


def graph_names() -> list[str]:
    return sorted(GRAPHS.ids())


def load_graph(name: str, *, seed: int = 0, **params: Any) -> Graph:
    """Load the registered graph ``name``; ``seed`` and ``params`` matter only for synthetic graphs."""
    info = GRAPHS.get(name)
    try:
        return info.loader(seed=seed, **params)
    except TypeError as exc:
        raise DataError(f"graph {name}: bad parameters {sorted(params)} ({exc})") from None


@register_graph("csbm", summary="contextual SBM: 3 blocks, Gaussian features (synthetic, seeded)", synthetic=True)
def csbm(
    *,
    seed: int = 0,
    nodes: int = 600,
    classes: int = 3,
    p_in: float = 0.05,
    p_out: float = 0.005,
    features: int = 32,
    separation: float = 1.8,
) -> Graph:
    """A contextual SBM: equal blocks, ``networkx.stochastic_block_model`` edges, features ``N(mu_c, I)``.

    Class means are ``separation`` times random orthonormal directions, so every feature dimension carries
    a little class signal. ``separation=1.8`` *(ours)* makes logistic regression on the features alone
    reach about 70% with 20 labels per class (methods.md's target).
    """
    import networkx as nx

    if nodes < 2 * classes or classes < 2 or not (0 <= p_out <= 1 and 0 <= p_in <= 1) or features < classes:
        raise DataError("csbm needs nodes >= 2*classes, classes >= 2, features >= classes, 0 <= p_in, p_out <= 1")
    rng = np.random.default_rng(seed)
    sizes = [nodes // classes + (1 if c < nodes % classes else 0) for c in range(classes)]
    probs = [[p_in if a == b else p_out for b in range(classes)] for a in range(classes)]
    g = nx.stochastic_block_model(sizes, probs, seed=int(rng.integers(2**31)))
    y = np.repeat(np.arange(classes), sizes).astype(np.int64)
    q, _ = np.linalg.qr(rng.normal(size=(features, classes)))
    means = separation * q.T  # (classes, features), orthonormal rows
    x = (means[y] + rng.normal(size=(nodes, features))).astype(np.float32)
    return Graph(
        "csbm",
        x,
        y,
        edges_to_index(list(g.edges)),
        tuple(f"block {c}" for c in range(classes)),
        synthetic=True,
        source=f"networkx.stochastic_block_model seed={seed} p_in={p_in} p_out={p_out}",
    )


@register_graph("karate-club", summary="Zachary's karate club: 34 nodes, 2 clubs (real)", synthetic=False)
def karate_club(*, seed: int = 0) -> Graph:
    import networkx as nx

    return from_networkx("karate-club", nx.karate_club_graph(), label="club", synthetic=False, source="networkx")


@register_graph(
    "davis-southern-women", summary="Davis southern women: 18 women, 14 events; label = side (real)", synthetic=False
)
def davis_southern_women(*, seed: int = 0) -> Graph:
    import networkx as nx

    g = nx.davis_southern_women_graph()
    return from_networkx("davis-southern-women", g, label="bipartite", synthetic=False, source="networkx")


def node_split(y: np.ndarray, *, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` random labelled nodes per class (train) and all the others (test), both sorted."""
    rng = np.random.default_rng(seed)
    train = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) <= per_class:
            raise DataError(f"class {c} has {len(idx)} nodes; ask for fewer than that per class")
        train.append(rng.choice(idx, per_class, replace=False))
    tr = np.sort(np.concatenate(train))
    return tr, np.setdiff1d(np.arange(len(y)), tr)
