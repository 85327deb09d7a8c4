"""The graph-robustness probe for node classifiers, as a registered audit probe."""

import json

import numpy as np
import pytest

from trustmap.data.graph_dataset import graph_dataset
from trustmap.data.graphs import load_graph, node_split
from trustmap.errors import TrustmapError
from trustmap.models import ModelHandle
from trustmap.models.graph.workflow import train_node_classifier
from trustmap.probes import AuditData, make_probe, probe_class


@pytest.fixture(scope="module")
def audit_graph():
    g = load_graph("csbm", seed=0, nodes=90, p_in=0.15, p_out=0.015)
    train, _ = node_split(g.y, per_class=8, seed=0)
    ds = graph_dataset(g, train)
    model, _, meta = train_node_classifier(ds, "gcn", seed=0, epochs=60)
    return ModelHandle.from_module(model, meta), AuditData(dataset=ds, eval=ds.test)


def test_probe_measures_attacked_accuracy_and_declares_directions(audit_graph):
    handle, data = audit_graph
    probe = make_probe("graph-structure", budget="quick", targets=8)
    result = probe.run(handle, data, seed=0)
    m = result.metrics
    assert result.probe == "graph-structure" and result.status == "ok" and result.headline == "attacked_accuracy"
    assert m["targets"] == 8 and 0 <= m["attacked_accuracy"] <= m["target_clean_accuracy"] + 1e-9
    assert m["accuracy_drop"] == pytest.approx(m["target_clean_accuracy"] - m["attacked_accuracy"])
    assert m["attacked_accuracy"] < m["random_accuracy"]  # the attack beats random edges on a GCN
    adv, rnd = result.curves
    assert (
        adv.x == [0.0, 1.0, 2.0, 3.0] and adv.y[0] == m["target_clean_accuracy"] and rnd.y[-1] == m["random_accuracy"]
    )
    assert result.directions["attacked_accuracy"] == "higher" and result.options["flips"] == 3
    rows = result.tables["targets"]
    assert len(rows) == 8 and all(set(r["node"] for r in rows) <= set(data.dataset.test_nodes) for r in rows)
    assert all(r["flips"].count("+") == 3 for r in rows)  # the surrogate attack only inserts
    again = probe.run(handle, data, seed=0)
    assert again.metrics == m  # deterministic
    # the surrogate attack only queries predictions: a black-box handle gives the same numbers
    assert probe.run(handle.black_box(), data, seed=0).metrics == m
    json.dumps(result.to_dict())


def test_adaptive_attack_needs_gradients_and_other_data_is_skipped(audit_graph):
    from trustmap.data import load_dataset
    from trustmap.models import build_model
    from trustmap.models.workflows import meta_for

    handle, data = audit_graph
    digits = load_dataset("digits")
    image_model = ModelHandle.from_module(
        build_model("mlp", input_shape=(1, 8, 8), num_classes=10), meta_for(digits, "mlp")
    )
    adaptive = make_probe("graph-structure", budget="thorough", targets=4, flips=2)
    assert adaptive.attack == "adaptive"
    assert adaptive.run(handle, data, seed=0).status == "ok"
    skipped = adaptive.run(handle.black_box(), data, seed=0)
    assert skipped.status == "skipped" and "gradients" in skipped.reason
    image = make_probe("graph-structure").run(image_model, AuditData(digits, eval=digits.test), seed=0)
    assert image.status == "skipped" and "graph data, not image" in image.reason
    # and the image probes skip graph data with a reason
    fgsm = make_probe("fgsm").run(handle, data, seed=0)
    assert fgsm.status == "skipped" and "not graph" in fgsm.reason


def test_probe_rejects_bad_options_and_points_to_gagn():
    with pytest.raises(TrustmapError, match="attack"):
        make_probe("graph-structure", attack="metattack")
    with pytest.raises(TrustmapError, match="at least 1"):
        make_probe("graph-structure", targets=0)
    rule = probe_class("graph-structure").rule
    assert rule.defence == "gagn"
    assert rule.filled_command(data="csbm") == "trustmap train --data csbm --arch gagn --out hardened.safetensors"
    assert rule.score({"attacked_accuracy": 0.3, "target_clean_accuracy": 0.6}) == pytest.approx(0.5)
    assert np.isclose(rule.score({"attacked_accuracy": 0.9, "target_clean_accuracy": 0.9}), 1.0)
