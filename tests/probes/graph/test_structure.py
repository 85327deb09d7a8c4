"""The graph-robustness probe for node classifiers (library API)."""

import json

import pytest

from trustmap.data.graphs import load_graph, node_split
from trustmap.errors import TrustmapError
from trustmap.models.graph import GraphTrainConfig, build_node_classifier, fit_node_classifier
from trustmap.probes.graph import GraphStructureProbe


def test_probe_measures_attacked_accuracy_and_declares_directions():
    g = load_graph("csbm", seed=0, nodes=90, p_in=0.15, p_out=0.015)
    train, _ = node_split(g.y, per_class=8, seed=0)
    gcn = build_node_classifier("gcn", in_dim=32, num_classes=3, seed=0)
    fit_node_classifier(gcn, g, train, config=GraphTrainConfig(epochs=60), seed=0)
    probe = GraphStructureProbe.for_budget("quick", targets=8)
    result = probe.run(gcn, g, train_idx=train, seed=0)
    m = result.metrics
    assert result.probe == "graph-structure" and result.status == "ok" and result.headline == "attacked_accuracy"
    assert m["targets"] == 8 and 0 <= m["attacked_accuracy"] <= m["target_clean_accuracy"] + 1e-9
    assert m["accuracy_drop"] == pytest.approx(m["target_clean_accuracy"] - m["attacked_accuracy"])
    assert result.curves[0].x == [0.0, 1.0, 2.0, 3.0] and result.curves[0].y[0] == m["target_clean_accuracy"]
    assert result.directions["attacked_accuracy"] == "higher" and result.options["budget"] == 3
    again = probe.run(gcn, g, train_idx=train, seed=0)
    assert again.metrics == m  # deterministic
    json.dumps(result.to_dict())


def test_probe_rejects_bad_options():
    with pytest.raises(TrustmapError, match="attack"):
        GraphStructureProbe(attack="metattack")
    with pytest.raises(TrustmapError, match="budget"):
        GraphStructureProbe.for_budget("huge")
