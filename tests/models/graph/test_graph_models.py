"""Graph node classifiers: GCN and its robust variants, GAgN-lite's agents and edge filter."""

import numpy as np
import pytest
import torch

from trustmap.data.graphs import Graph, edges_to_index, load_graph, node_split
from trustmap.errors import ModelError
from trustmap.models.graph import (
    NODE_CLASSIFIERS,
    GraphTrainConfig,
    JaccardGCN,
    build_node_classifier,
    fit_node_classifier,
    graph_tensors,
    jaccard_similarity,
    node_accuracy,
    node_predictions,
)


@pytest.fixture(scope="module")
def small():
    g = load_graph("csbm", seed=1, nodes=120, p_in=0.15, p_out=0.015)
    train, test = node_split(g.y, per_class=10, seed=1)
    return g, train, test


def test_jaccard_drops_planted_dissimilar_edges():
    # two feature groups with disjoint binary features; real edges inside groups, planted ones across
    x = np.zeros((8, 6), np.float32)
    x[:4, :3] = 1.0
    x[4:, 3:] = 1.0
    real = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7)]
    planted = [(0, 4), (3, 7)]
    g = Graph("toy", x, np.array([0] * 4 + [1] * 4), edges_to_index(real + planted), ("a", "b"), True)
    xt, ei = graph_tensors(g)
    sim = jaccard_similarity(xt, ei)
    cross = (ei[0] < 4) != (ei[1] < 4)
    assert torch.all(sim[cross] == 0) and torch.all(sim[~cross] == 1)
    model = JaccardGCN(in_dim=6, num_classes=2, threshold=0.01, seed=0)
    kept = model.edge_filter(xt, ei, torch.ones(ei.shape[1]))
    assert kept[cross].sum() == 0 and kept[~cross].sum() == (~cross).sum()


@pytest.mark.parametrize("name", list(NODE_CLASSIFIERS))
def test_every_model_learns_and_is_deterministic(small, name):
    g, train, test = small
    preds = []
    for _ in range(2):
        m = build_node_classifier(name, in_dim=32, num_classes=3, seed=0)
        fit_node_classifier(m, g, train, config=GraphTrainConfig(epochs=60), seed=0)
        preds.append(node_predictions(m, g))
    assert np.array_equal(preds[0], preds[1])
    majority = np.bincount(g.y[test]).max() / len(test)
    assert node_accuracy(m, g, test) > majority + 0.2
    x, ei = graph_tensors(g)
    assert m(x, ei).shape == (120, 3)


def test_gagn_filter_trusts_real_edges_more_than_random_ones(small):
    g, train, _ = small
    m = build_node_classifier("gagn", in_dim=32, num_classes=3, seed=0)
    fit_node_classifier(m, g, train, config=GraphTrainConfig(epochs=150), seed=0)
    assert m.confidence_min is not None  # fixed from the clean graph halfway through training
    x, ei = graph_tensors(g)
    real = m.edge_scores(x, ei)
    rng = np.random.default_rng(0)
    fake = [(int(i), int(j)) for i, j in rng.integers(0, 120, (200, 2)) if g.y[i] != g.y[j]]
    fake_scores = m.edge_scores(x, torch.from_numpy(edges_to_index(fake)))
    assert real.kept.mean() > fake_scores.kept.mean() + 0.2
    assert real.plausibility.shape == (ei.shape[1],)


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown node classifier"):
        build_node_classifier("gat", in_dim=3, num_classes=2)
