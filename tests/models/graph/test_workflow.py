"""Node classifiers as trustmap models: train on a graph dataset, save as safetensors, load the same model."""

import numpy as np
import pytest

from trustmap.data.graph_dataset import graph_dataset
from trustmap.data.graphs import load_graph, node_split
from trustmap.errors import DataError, ModelError
from trustmap.models import arch_names, load_model, save_model
from trustmap.models.graph.workflow import check_node_classifier, node_logits, train_node_classifier


@pytest.fixture(scope="module")
def small():
    g = load_graph("csbm", seed=2, nodes=90, p_in=0.15, p_out=0.015)
    train, _ = node_split(g.y, per_class=8, seed=2)
    return graph_dataset(g, train)


def test_node_classifiers_are_architectures_for_graph_data():
    assert {"gcn", "gcn-jaccard", "gnnguard-lite", "rgcn", "gagn"} == set(arch_names("graph"))
    assert "gcn" not in arch_names("image") and "cnn" not in arch_names("graph")


@pytest.mark.parametrize("arch", ["gcn-jaccard", "gagn"])
def test_save_and_load_give_the_trained_model_thresholds_included(small, arch, tmp_path):
    model, _, meta = train_node_classifier(small, arch, seed=0, epochs=120)
    assert meta.kind == "graph" and meta.input_shape == (32,) and meta.num_classes == 3
    key = "threshold" if arch == "gcn-jaccard" else "confidence_min"
    assert isinstance(meta.arch_options[key], float)  # fixed by training, kept in the metadata
    path = save_model(model, tmp_path / "m.safetensors", meta=meta)
    loaded = load_model(path)
    assert loaded.meta.kind == "graph" and loaded.meta.arch_options[key] == meta.arch_options[key]
    from trustmap.models import ModelHandle

    before = ModelHandle.from_module(model, meta).predict_nodes(small.graph)
    np.testing.assert_allclose(loaded.predict_nodes(small.graph), before, rtol=1e-5, atol=1e-5)
    logits, labels = node_logits(loaded, small)
    assert logits.shape == (len(small.test_nodes), 3) and (logits.argmax(1) == labels).mean() > 0.8
    # the black-box view answers the same queries without a module
    np.testing.assert_allclose(loaded.black_box().predict_nodes(small.graph), before, rtol=1e-5, atol=1e-5)


def test_graph_models_are_safetensors_only_and_mismatches_are_one_line(small, tmp_path):
    from trustmap.data import load_dataset
    from trustmap.models import ModelHandle, build_model
    from trustmap.models.workflows import meta_for

    digits = load_dataset("digits")
    image_model = ModelHandle.from_module(
        build_model("mlp", input_shape=(1, 8, 8), num_classes=10), meta_for(digits, "mlp")
    )
    model, _, meta = train_node_classifier(small, "gcn", seed=0, epochs=2)
    for suffix in (".pt2", ".pt"):
        with pytest.raises(ModelError, match="saved as .safetensors"):
            save_model(model, tmp_path / f"m{suffix}", meta=meta)
        assert not (tmp_path / f"m{suffix}").exists()
    handle = load_model(save_model(model, tmp_path / "m.safetensors", meta=meta))
    other = graph_dataset(load_graph("karate-club"), np.array([0, 33]))
    for bad, message in ((other, "expects 32 node features"), (digits, "not a graph")):
        with pytest.raises((ModelError, DataError), match=message) as info:
            check_node_classifier(handle, bad)
        assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match="is graph data but the model is for image data"):
        check_node_classifier(image_model, small)
    with pytest.raises(DataError, match="not a graph"):
        train_node_classifier(digits, "gcn", seed=0)
