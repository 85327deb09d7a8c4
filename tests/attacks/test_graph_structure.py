"""Structure attacks: the gradient attack hurts a GCN more than random edges; flips are exact."""

import numpy as np
import pytest
import torch

from trustmap.attacks.graph_structure import apply_flips, greedy_flips, random_insertions, train_surrogate
from trustmap.data.graphs import load_graph, node_split
from trustmap.errors import TrustmapError
from trustmap.models.graph import GraphTrainConfig, build_node_classifier, fit_node_classifier, node_predictions


@pytest.fixture(scope="module")
def setup():
    g = load_graph("csbm", seed=2, nodes=120, p_in=0.15, p_out=0.015)
    train, test = node_split(g.y, per_class=10, seed=2)
    gcn = build_node_classifier("gcn", in_dim=32, num_classes=3, seed=0)
    fit_node_classifier(gcn, g, train, config=GraphTrainConfig(epochs=100), seed=0)
    targets = [int(t) for t in np.random.default_rng(0).choice(test, 15, replace=False)]
    return g, train, gcn, targets


def _acc(model, g, atts, b):
    return np.mean([node_predictions(model, apply_flips(g, a.flips[:b]))[a.target] == g.y[a.target] for a in atts])


def test_surrogate_attack_lowers_gcn_accuracy_more_than_random_edges(setup):
    g, train, gcn, targets = setup
    sur = train_surrogate(g, train, seed=0)
    attacked = [greedy_flips(sur, g, target=t, budget=4, insert_only=True) for t in targets]
    randoms = [random_insertions(g, target=t, budget=4, seed=t) for t in targets]
    assert all(len(a.flips) == 4 and len(a.predictions) == 5 for a in attacked)
    clean = _acc(gcn, g, attacked, 0)
    assert _acc(gcn, g, attacked, 4) < _acc(gcn, g, randoms, 4) - 0.2
    assert _acc(gcn, g, attacked, 4) < clean


def test_adaptive_predictions_match_the_flipped_graph(setup):
    g, _, gcn, targets = setup
    att = greedy_flips(gcn, g, target=targets[0], budget=3)
    for b, pred in enumerate(att.predictions):
        assert pred == node_predictions(gcn, apply_flips(g, att.flips[:b]))[targets[0]]
    assert len({j for _, j in att.flips}) == 3  # never flips the same pair twice


def test_apply_flips_toggles_and_bad_input(setup):
    g, *_ = setup
    i, j = int(g.edge_index[0, 0]), int(g.edge_index[1, 0])
    removed = apply_flips(g, [(i, j)])
    assert removed.num_edges == g.num_edges - 1 and (min(i, j), max(i, j)) not in removed.edge_set()
    assert apply_flips(removed, [(j, i)]).edge_set() == g.edge_set()
    with pytest.raises(TrustmapError, match="target node"):
        random_insertions(g, target=10_000, budget=1, seed=0)
    with pytest.raises(TrustmapError, match="budget"):
        greedy_flips(torch.nn.Identity(), g, target=0, budget=-1)  # type: ignore[arg-type]
