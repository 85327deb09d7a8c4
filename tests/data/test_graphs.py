"""Graph registry: offline graphs, the seeded CSBM generator, node splits, bad input."""

import numpy as np
import pytest

from trustmap.data.graphs import Graph, edges_to_index, graph_names, load_graph, node_split
from trustmap.errors import DataError


def test_registered_graphs_load_offline_with_labels():
    assert {"csbm", "karate-club", "davis-southern-women"} <= set(graph_names())
    karate = load_graph("karate-club")
    assert karate.num_nodes == 34 and karate.num_edges == 78 and karate.num_classes == 2
    assert not karate.synthetic and karate.x.shape == (34, 34)
    assert np.bincount(karate.y).tolist() == [17, 17]
    davis = load_graph("davis-southern-women")
    assert davis.num_nodes == 32 and np.bincount(davis.y).tolist() == [18, 14]


def test_csbm_is_seeded_and_shaped():
    a, b, c = (load_graph("csbm", seed=s, nodes=90) for s in (3, 3, 4))
    assert a.synthetic and a.x.shape == (90, 32) and a.x.dtype == np.float32
    assert np.array_equal(a.x, b.x) and np.array_equal(a.edge_index, b.edge_index)
    assert not np.array_equal(a.edge_index, c.edge_index)
    # undirected: both directions, no self-loops
    assert a.edge_index.shape[1] == 2 * a.num_edges and (a.edge_index[0] != a.edge_index[1]).all()
    same = a.y[a.edge_index[0]] == a.y[a.edge_index[1]]
    assert same.mean() > 0.6  # p_in = 10 p_out: mostly within-block edges


def test_node_split_and_bad_input():
    g = load_graph("csbm", seed=0, nodes=90)
    train, test = node_split(g.y, per_class=5, seed=0)
    assert len(train) == 15 and np.bincount(g.y[train]).tolist() == [5, 5, 5]
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 90
    with pytest.raises(DataError):
        node_split(g.y, per_class=40, seed=0)
    with pytest.raises(DataError, match="unknown graph"):
        load_graph("cora")
    with pytest.raises(DataError):
        load_graph("csbm", nodes=2)
    with pytest.raises(DataError):
        load_graph("karate-club", nodes=5)
    with pytest.raises(DataError, match="edge_index"):
        Graph("bad", np.zeros((3, 2), np.float32), np.zeros(3, np.int64), edges_to_index([(0, 7)]), ("a",), True)
