"""Graphs as audit datasets: the registered graphs, user graph .npz files, and one-line errors."""

import numpy as np
import pytest

from trustmap.data import dataset_info, dataset_names, load_dataset
from trustmap.data.graph_dataset import GraphDataset, graph_dataset
from trustmap.data.graphs import load_graph
from trustmap.errors import DataError


def test_registered_graphs_are_graph_datasets_with_a_seeded_node_split():
    assert {"csbm", "karate-club", "davis-southern-women"} <= set(dataset_names("graph"))
    assert dataset_info("csbm").kind == "graph" and "csbm" not in dataset_names("image")
    karate = load_dataset("karate-club")
    assert isinstance(karate, GraphDataset) and karate.kind == "graph" and karate.input_shape == (34,)
    assert np.bincount(karate.graph.y[karate.train_nodes]).tolist() == [4, 4]
    assert len(karate.train_nodes) + len(karate.test_nodes) == 34
    assert not set(karate.train_nodes) & set(karate.test_nodes)
    # the generic splits are the labelled / unlabelled nodes' features and labels
    assert np.array_equal(karate.test.y, karate.graph.y[karate.test_nodes])
    assert karate.describe()["edges"] == 78 and karate.describe()["labelled_nodes"] == 8


def test_the_hash_covers_the_edges_and_the_node_split():
    g = load_graph("csbm", seed=0, nodes=60)
    train = np.arange(0, 60, 10)
    a, b = graph_dataset(g, train), graph_dataset(g, train)
    assert a.sha256() == b.sha256()
    edges = g.edge_set()
    edges.discard(next(iter(edges)))
    assert graph_dataset(g.with_edges(edges), train).sha256() != a.sha256()  # same features, one edge fewer
    assert graph_dataset(g, train + 1).sha256() != a.sha256()


def _save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_user_graph_npz(tmp_path):
    x = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    y = np.array([0, 1, 2] * 4)
    ei = np.array([[0, 1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 0]])  # one direction only: made undirected
    ds = load_dataset(_save(tmp_path / "g.npz", x=x, y=y, edge_index=ei))
    assert isinstance(ds, GraphDataset) and ds.kind == "graph" and ds.graph.num_edges == 7
    assert ds.graph.edge_index.shape == (2, 14) and len(ds.train_nodes) == 6  # 2 per class (half of 4)
    ds = load_dataset(_save(tmp_path / "i.npz", x=x, y=y, edge_index=ei, train_idx=np.array([0, 1, 2])))
    assert ds.train_nodes.tolist() == [0, 1, 2]
    mask = np.zeros(12, bool)
    mask[[3, 4]] = True
    assert load_dataset(_save(tmp_path / "m.npz", x=x, y=y, edge_index=ei, train_mask=mask)).train_nodes.tolist() == [
        3,
        4,
    ]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"edge_index": np.array([[0, 1], [1, 99]])}, "outside"),
        ({"edge_index": np.array([[0.0, 1.0], [1.0, 2.0]])}, "integer array of shape"),
        ({"edge_index": np.array([0, 1, 2])}, "shape"),
        ({"edge_index": np.array([[0], [1]]), "y": np.arange(12) * 0.5}, "integer class"),
        ({"edge_index": np.array([[0], [1]]), "train_idx": np.arange(12)}, "every node is labelled"),
        ({"edge_index": np.array([[0], [1]]), "train_mask": np.ones(3, bool)}, "train_mask"),
        ({"edge_index": np.array([[0], [1]]), "y": np.array([0] * 11 + [1])}, "at least 2 nodes"),
    ],
)
def test_bad_user_graphs_are_one_line_errors(tmp_path, arrays, message):
    base = {"x": np.zeros((12, 4), np.float32), "y": np.array([0, 1] * 6)}
    with pytest.raises(DataError, match=message) as info:
        load_dataset(_save(tmp_path / "bad.npz", **{**base, **arrays}))
    assert "\n" not in str(info.value)


def test_pickled_object_arrays_are_refused(tmp_path):
    ei = np.array([{"edges": 1}, {"edges": 2}], dtype=object)
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(_save(tmp_path / "obj.npz", x=np.zeros((4, 2), np.float32), y=np.arange(4) % 2, edge_index=ei))
