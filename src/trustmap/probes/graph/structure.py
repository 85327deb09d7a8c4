"""Probe ``graph-structure``: how many target nodes a node classifier still classifies correctly after a
targeted edge attack (Nettack-style greedy insertions on a linearised-GCN surrogate, Zügner et al.,
arXiv 1805.07984, or the adaptive greedy flips through the model itself), next to random edges.

It runs in ``trustmap audit`` on graph data (dataset kind ``graph``: ``csbm``, ``karate-club``, a graph
``.npz``) and a node classifier (model kind ``graph``, ``trustmap train --data csbm --arch gcn``); every
other probe skips graph data, and this one skips every other kind. Targets are ``targets`` random
unlabelled nodes (``dataset.test_nodes``), attacked one at a time on the trained model (evasion); the
attacker's surrogate learns from the labelled nodes (``dataset.train_nodes``). The ``surrogate`` attack
only queries the model's predictions (black-box); ``adaptive`` follows its gradients (white-box).

Metrics: ``clean_accuracy`` (unlabelled nodes), ``target_clean_accuracy``, ``attacked_accuracy`` and
``random_accuracy`` (targets after ``flips`` adversarial / random edges per target), ``accuracy_drop``
(target clean minus attacked), ``kept_fraction`` (attacked / target clean) and ``attack_vs_random``
(random minus attacked: how much worse than random edges the attack is). Curves: target accuracy by number
of flips, adversarial and random. Table ``targets``: each target's degree, flips and outcome.

Scorecard: ``kept_fraction``; the mend is a robust node classifier, GAgN-lite (``trustmap train --arch
gagn``), which kept 0.98 of its target accuracy under this surrogate attack and 0.75 under the adaptive one
in ``trustmap repro gagn`` (GCN: 0.61, 0.57).

>>> probe = make_probe("graph-structure", budget="standard")   # 40 targets x 5 surrogate insertions
>>> result = probe.run(handle, AuditData(dataset=load_dataset("csbm"), eval=...), seed=0)
>>> result.metrics["attacked_accuracy"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.data.graph_dataset import GraphDataset
from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import (
    BUDGET_NAMES,
    AuditData,
    Curve,
    Dimension,
    Direction,
    Probe,
    ProbeResult,
    ScoreRule,
    kept_fraction,
    register_probe,
)

ATTACKS = ("surrogate", "adaptive")


def _evidence(m: Mapping[str, float]) -> str:
    return (
        f"targeted edge attack: target accuracy {m.get('target_clean_accuracy', 0):.1%} -> "
        f"{m.get('attacked_accuracy', 0):.1%} after {m.get('flips', 0):.0f} edge flips per target "
        f"(random edges: {m.get('random_accuracy', 0):.1%})"
    )


@register_probe
@dataclass
class GraphStructureProbe(Probe):
    """Target accuracy of a node classifier under ``flips`` adversarial edge flips at each of ``targets``
    random unlabelled nodes; ``attack``: ``surrogate`` (transfer, black-box) or ``adaptive`` (white-box)."""

    id: ClassVar[str] = "graph-structure"
    title: ClassVar[str] = "Node classification under targeted edge attacks"
    dimension: ClassVar[Dimension] = "robustness"
    kinds: ClassVar[tuple[str, ...]] = ("graph",)
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"targets": 10, "flips": 3},
        "standard": {"targets": 40, "flips": 5},
        "thorough": {"targets": 100, "flips": 5, "attack": "adaptive"},
    }
    audit_budgets: ClassVar[tuple[str, ...]] = BUDGET_NAMES
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: kept_fraction(m, "attacked_accuracy", "target_clean_accuracy"),
        evidence=_evidence,
        defence="gagn",
        command="trustmap train --data {data} --arch gagn --out hardened.safetensors",
    )
    directions: ClassVar[Mapping[str, Direction]] = {
        "clean_accuracy": "higher",
        "target_clean_accuracy": "higher",
        "attacked_accuracy": "higher",
        "random_accuracy": "higher",
        "kept_fraction": "higher",
        "accuracy_drop": "lower",
        "attack_vs_random": "lower",
    }
    headline: ClassVar[str | None] = "attacked_accuracy"

    targets: int = 40
    flips: int = 5
    attack: str = "surrogate"

    def __post_init__(self) -> None:
        if self.attack not in ATTACKS:
            raise TrustmapError(f"attack must be one of {', '.join(ATTACKS)}, not {self.attack!r}")
        if not isinstance(self.targets, int) or not isinstance(self.flips, int) or self.targets < 1 or self.flips < 1:
            raise TrustmapError("targets and flips must be whole numbers of at least 1")

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        base = super().skip_reason(model, data)
        if base:
            return base
        if not isinstance(data.dataset, GraphDataset):
            return f"{self.title} needs a graph dataset (nodes, edges and labelled nodes)"
        if model.meta.kind != "graph":
            return f"{self.title} needs a node classifier, not a {model.meta.kind} model"
        if self.attack == "adaptive" and not model.white_box:
            return f"the adaptive {self.title.lower()} follow the model's gradients and this model exposes none"
        if self.flips > data.dataset.graph.num_nodes - 1:
            return f"flips {self.flips} is more edge flips than the graph has other nodes"
        return None

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        from trustmap.attacks.graph_structure import greedy_flips, random_insertions, train_surrogate

        ds = data.dataset
        assert isinstance(ds, GraphDataset)  # skip_reason checked it
        graph, train, pool = ds.graph, ds.train_nodes, ds.test_nodes
        rng = np.random.default_rng(seed)
        targets = [int(t) for t in np.sort(rng.choice(pool, min(self.targets, len(pool)), replace=False))]
        clean_pred = model.predict_nodes(graph).argmax(1)
        if self.attack == "surrogate":
            sur = train_surrogate(graph, train, seed=seed)
            attacks = [greedy_flips(sur, graph, target=t, budget=self.flips, insert_only=True) for t in targets]
        else:
            assert model.module is not None  # skip_reason checked it
            attacks = [greedy_flips(model.module, graph, target=t, budget=self.flips) for t in targets]
        randoms = [random_insertions(graph, target=t, budget=self.flips, seed=seed * 100_003 + t) for t in targets]

        edges = graph.edge_set()  # built once; each perturbed graph toggles its flips in a copy

        def hits(flips: list[tuple[int, int]], target: int) -> bool:
            perturbed = edges ^ {(min(i, j), max(i, j)) for i, j in flips}  # as attacks.apply_flips
            return bool(model.predict_nodes(graph.with_edges(perturbed)).argmax(1)[target] == graph.y[target])

        clean_hits = [bool(clean_pred[t] == graph.y[t]) for t in targets]
        adv = [clean_hits] + [[hits(a.flips[:b], a.target) for a in attacks] for b in range(1, self.flips + 1)]
        rnd = [clean_hits] + [[hits(r.flips[:b], r.target) for r in randoms] for b in range(1, self.flips + 1)]
        adv_curve, rnd_curve = [float(np.mean(h)) for h in adv], [float(np.mean(h)) for h in rnd]
        metrics = {
            "clean_accuracy": float(np.mean(clean_pred[pool] == graph.y[pool])),
            "target_clean_accuracy": adv_curve[0],
            "attacked_accuracy": adv_curve[-1],
            "random_accuracy": rnd_curve[-1],
            "accuracy_drop": adv_curve[0] - adv_curve[-1],
            "attack_vs_random": rnd_curve[-1] - adv_curve[-1],
            "targets": float(len(targets)),
            "flips": float(self.flips),
        }
        kept = kept_fraction(metrics, "attacked_accuracy", "target_clean_accuracy")
        if kept is not None:
            metrics["kept_fraction"] = kept
        degree = np.bincount(graph.edge_index[0], minlength=graph.num_nodes)
        rows = [
            {
                "node": a.target,
                "degree": int(degree[a.target]),
                "label": graph.classes[int(graph.y[a.target])],
                "clean_correct": clean_hits[i],
                "attacked_correct": adv[-1][i],
                "flips": " ".join(f"{'-' if (min(p), max(p)) in edges else '+'}{p[1]}" for p in a.flips),
            }
            for i, a in enumerate(attacks)
        ]
        flips_axis = [float(b) for b in range(self.flips + 1)]
        curves = [
            Curve(f"{self.attack} attack", flips_axis, adv_curve, "edge flips per target", "target accuracy"),
            Curve("random edges", flips_axis, rnd_curve, "edge flips per target", "target accuracy"),
        ]
        return self.result(metrics=metrics, curves=curves, tables={"targets": rows})
