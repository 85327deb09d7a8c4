"""Probe ``graph-structure``: how many target nodes a node classifier still classifies correctly after a
targeted edge attack (Nettack-style greedy insertions on a linearised-GCN surrogate, Zügner et al.,
arXiv 1805.07984, or the adaptive greedy flips through the model itself), next to random edges.

The audit (``trustmap audit``) takes a :class:`trustmap.models.ModelHandle` that maps a batch of
independent examples to logits and a :class:`trustmap.data.Dataset` of such examples; a node classifier
needs the whole graph for every prediction, so this probe is a library API with the same
:class:`trustmap.results.ProbeResult` (its ``directions`` and ``headline`` filled in, so ``trustmap gate``
rules and the report renderers can read it).

Metrics: ``clean_accuracy`` (unlabelled nodes), ``target_clean_accuracy``, ``attacked_accuracy`` and
``random_accuracy`` (targets after ``budget`` adversarial / random edges), ``accuracy_drop``
(target clean minus attacked), ``kept_fraction`` (attacked / target clean) and ``attack_vs_random``
(random minus attacked: how much worse than random edges the attack is). Curve: target accuracy by budget.

>>> probe = GraphStructureProbe(targets=40, budget=5, attack="surrogate")
>>> result = probe.run(model, graph, train_idx=train, seed=0)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trustmap.attacks.graph_structure import (
    TargetAttack,
    apply_flips,
    greedy_flips,
    random_insertions,
    train_surrogate,
)
from trustmap.data.graphs import Graph
from trustmap.errors import TrustmapError
from trustmap.models.graph.gcn import NodeClassifier, node_predictions
from trustmap.probes.base import BUDGET_NAMES, kept_fraction
from trustmap.results import Curve, Dimension, Direction, ProbeResult

ATTACKS = ("surrogate", "adaptive")


@dataclass
class GraphStructureProbe:
    """Target accuracy of a node classifier under ``budget`` adversarial edge flips at each of ``targets``
    random unlabelled nodes (attacked one at a time, on the trained model: evasion)."""

    id: ClassVar[str] = "graph-structure"
    title: ClassVar[str] = "Node classification under targeted edge attacks"
    dimension: ClassVar[Dimension] = "robustness"
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"targets": 10, "budget": 3},
        "standard": {"targets": 40, "budget": 5},
        "thorough": {"targets": 100, "budget": 5, "attack": "adaptive"},
    }
    directions: ClassVar[Mapping[str, Direction]] = {
        "clean_accuracy": "higher",
        "attacked_accuracy": "higher",
        "kept_fraction": "higher",
        "accuracy_drop": "lower",
    }
    headline: ClassVar[str | None] = "attacked_accuracy"

    targets: int = 40
    budget: int = 5
    attack: str = "surrogate"

    def __post_init__(self) -> None:
        if self.attack not in ATTACKS:
            raise TrustmapError(f"attack must be one of {', '.join(ATTACKS)}, not {self.attack!r}")
        if self.targets < 1 or self.budget < 1:
            raise TrustmapError("targets and budget must be at least 1")

    @classmethod
    def for_budget(cls, budget: str, **options: Any) -> GraphStructureProbe:
        """The probe with an audit budget's defaults (``quick``, ``standard``, ``thorough``), then ``options``."""
        if budget not in BUDGET_NAMES:
            raise TrustmapError(f"unknown budget {budget!r}; use quick, standard or thorough")
        return cls(**{**cls.BUDGETS[budget], **options})

    def run(self, model: NodeClassifier, graph: Graph, *, train_idx: np.ndarray, seed: int = 0) -> ProbeResult:
        """Attack ``model`` on ``graph``; ``train_idx``: the labelled nodes (the attacker's surrogate uses them,
        targets are drawn from the others)."""
        start = time.perf_counter()
        train = np.asarray(train_idx, dtype=np.int64)
        pool = np.setdiff1d(np.arange(graph.num_nodes), train)
        if len(pool) == 0:
            raise TrustmapError("every node is labelled; leave some unlabelled nodes to attack")
        rng = np.random.default_rng(seed)
        targets = [int(t) for t in rng.choice(pool, min(self.targets, len(pool)), replace=False)]
        model.eval()
        clean_pred = node_predictions(model, graph)
        if self.attack == "surrogate":
            sur = train_surrogate(graph, train, seed=seed)
            attacks = [greedy_flips(sur, graph, target=t, budget=self.budget, insert_only=True) for t in targets]
        else:
            attacks = [greedy_flips(model, graph, target=t, budget=self.budget) for t in targets]
        randoms = [random_insertions(graph, target=t, budget=self.budget, seed=seed * 100_003 + t) for t in targets]

        def acc(atts: list[TargetAttack], b: int) -> float:
            hits = [
                node_predictions(model, apply_flips(graph, a.flips[:b]))[a.target] == graph.y[a.target] for a in atts
            ]
            return float(np.mean(hits))

        curve = [float(np.mean(clean_pred[targets] == graph.y[targets]))]
        curve += [acc(attacks, b) for b in range(1, self.budget + 1)]
        random_acc = acc(randoms, self.budget)
        metrics = {
            "clean_accuracy": float(np.mean(clean_pred[pool] == graph.y[pool])),
            "target_clean_accuracy": curve[0],
            "attacked_accuracy": curve[-1],
            "random_accuracy": random_acc,
            "accuracy_drop": curve[0] - curve[-1],
            "attack_vs_random": random_acc - curve[-1],
            "targets": float(len(targets)),
        }
        kept = kept_fraction(metrics, "attacked_accuracy", "target_clean_accuracy")
        if kept is not None:
            metrics["kept_fraction"] = kept
        result = ProbeResult(
            probe=self.id,
            dimension=self.dimension,
            title=self.title,
            metrics=metrics,
            curves=[
                Curve(
                    f"target accuracy under {self.attack} edge flips",
                    list(map(float, range(self.budget + 1))),
                    curve,
                    "edge flips per target",
                    "target accuracy",
                )
            ],
            options=dataclasses.asdict(self),
            directions=dict(self.directions),
            headline=self.headline,
        )
        result.seconds = time.perf_counter() - start
        return result
