"""`trustmap train` and `trustmap audit` on a graph: a node classifier, the graph-robustness probe in the
report, every other probe skipped with its reason, resume, determinism, the gate, and black-box audits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.helpers import run_cli
from trustmap.data.graphs import load_graph
from trustmap.probes import budget_probes


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory):
    """A small CSBM saved as a user graph .npz and a GCN trained on it with `trustmap train`."""
    root = tmp_path_factory.mktemp("graph-audit")
    g = load_graph("csbm", seed=0, nodes=90, p_in=0.15, p_out=0.015)
    a, b = g.edge_index
    keep = a < b
    np.savez(root / "g.npz", x=g.x, y=g.y, edge_index=np.stack([a[keep], b[keep]]))
    return root


def _train(capsys, root, arch: str) -> str:
    out = root / f"{arch}.safetensors"
    if not out.exists():
        res = run_cli(
            capsys, "train", "--data", str(root / "g.npz"), "--arch", arch, "--epochs", "60", "--out", str(out)
        )
        assert res.code == 0, res.err
        assert f"arch={arch}" in res.out
    return str(out)


def _audit(capsys, root, model, out, *extra):
    return run_cli(
        capsys, "audit", "--model", model, "--data", str(root / "g.npz"), "--budget", "quick", "--out", str(out), *extra
    )


def test_graph_audit_report_resume_and_determinism(capsys, graph_files, tmp_path):
    root = graph_files
    model = _train(capsys, root, "gcn")
    res = _audit(capsys, root, model, tmp_path / "a")
    assert res.code == 0, res.err
    doc = json.loads((tmp_path / "a" / "report.json").read_text())
    assert doc["data"]["kind"] == "graph" and doc["model"]["kind"] == "graph" and doc["model"]["arch"] == "gcn"
    probes = {p["probe"]: p for p in doc["probes"]}
    assert list(probes) == budget_probes("quick")
    graph = probes.pop("graph-structure")
    assert graph["status"] == "ok" and graph["headline"] == "attacked_accuracy"
    assert graph["metrics"]["targets"] == 10 and graph["metrics"]["flips"] == 3
    # every image/table/text probe declines graph data in one line
    assert all(p["status"] == "skipped" and "not graph" in p["reason"] for p in probes.values())
    robustness = next(g for g in doc["scorecard"] if g["dimension"] == "robustness")
    assert robustness["score"] == pytest.approx(round(graph["metrics"]["kept_fraction"], 4))
    assert robustness["evidence"][0].startswith("targeted edge attack")
    for weak in doc["weaknesses"]:  # a weak graph score is mended by training GAgN-lite on the same graph
        assert weak["defence"] == "gagn" and weak["command"].startswith("trustmap train --data g.npz --arch gagn")
    html = (tmp_path / "a" / "report.html").read_text()
    assert 'id="probe-graph-structure"' in html and "Node classification under targeted edge attacks" in html

    # the same audit resumes every probe from the store and writes an identical JSON; --fresh recomputes it
    res = _audit(capsys, root, model, tmp_path / "b")
    assert res.code == 0 and res.out.count("resumed from the store") == len(budget_probes("quick"))
    assert (tmp_path / "a" / "report.json").read_text() == (tmp_path / "b" / "report.json").read_text()
    res = _audit(capsys, root, model, tmp_path / "c", "--fresh")
    assert res.code == 0 and "resumed" not in res.out
    assert (tmp_path / "a" / "report.json").read_text() == (tmp_path / "c" / "report.json").read_text()

    # the gate tracks the probe's declared metrics: identical passes, a lower attacked accuracy fails
    a = str(tmp_path / "a" / "report.json")
    assert run_cli(capsys, "gate", a, a).code == 0
    worse = json.loads((tmp_path / "a" / "report.json").read_text())
    next(p for p in worse["probes"] if p["probe"] == "graph-structure")["metrics"]["attacked_accuracy"] -= 0.1
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    res = run_cli(capsys, "gate", a, str(tmp_path / "worse.json"))
    assert res.code == 1 and "graph-structure.attacked_accuracy" in res.out


def test_black_box_graph_audit_runs_the_surrogate_attack_and_skips_the_adaptive_one(capsys, graph_files, tmp_path):
    root = graph_files
    model = _train(capsys, root, "gagn")
    res = _audit(capsys, root, model, tmp_path / "bb", "--black-box", "--probes", "graph-structure,fgsm")
    assert res.code == 0, res.err
    graph, fgsm = json.loads((tmp_path / "bb" / "report.json").read_text())["probes"]
    assert graph["status"] == "ok" and graph["options"]["attack"] == "surrogate" and fgsm["status"] == "skipped"
    cfg = tmp_path / "adaptive.toml"
    cfg.write_text('[probes.graph-structure]\nattack = "adaptive"\ntargets = 3\nflips = 2\n')
    res = _audit(
        capsys, root, model, tmp_path / "ad", "--black-box", "--probes", "graph-structure", "--config", str(cfg)
    )
    assert res.code == 0, res.err
    (graph,) = json.loads((tmp_path / "ad" / "report.json").read_text())["probes"]
    assert graph["status"] == "skipped" and "gradients" in graph["reason"]
