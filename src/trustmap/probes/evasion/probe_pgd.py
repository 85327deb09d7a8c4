"""Probes ``pgd-linf`` and ``pgd-l2``: robust accuracy under PGD (Madry et al., arXiv 1706.06083).

The same attack in two threat models, the L∞ ball (default ``eps`` 0.1 for images in [0, 1]) and the L2
ball (default 1.5); see :mod:`trustmap.probes.evasion.common` for table defaults. Steps by budget:
quick 10, standard 20, thorough 50; step size ``2.5 * eps / steps``; one random start; early stopping
(misclassified examples stop being attacked, which never weakens the attack).

Metrics: ``clean_accuracy``, ``robust_accuracy``, ``attack_success_rate``, ``eps``, ``steps``;
``tables["per_class"]`` rows ``{class, n, clean, robust}``.

>>> make_probe("pgd-linf", budget="quick").run(handle, audit_data, seed=0).metrics["robust_accuracy"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from trustmap.probes.base import BUDGET_NAMES, register_probe
from trustmap.probes.evasion.attack_pgd import pgd
from trustmap.probes.evasion.common import AttackProbe, kept_accuracy_rule, seeded
from trustmap.probes.evasion.geometry import Clip
from trustmap.probes.evasion.robust import Attack

PGD_BUDGETS: dict[str, dict[str, Any]] = {"quick": {"steps": 10}, "standard": {"steps": 20}, "thorough": {"steps": 50}}


@dataclass
class PGDProbe(AttackProbe):
    """PGD with ``steps`` steps of size ``alpha`` (``None``: ``2.5 * eps / steps``)."""

    NORM: ClassVar[str] = "linf"
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = PGD_BUDGETS

    steps: int = 20
    alpha: float | None = None
    random_start: bool = True
    early_stop: bool = True

    def attack_norm(self) -> str:
        return self.NORM

    def steps_taken(self) -> int:
        return self.steps

    def make_attack(self, *, eps: float, clip: Clip, seed: int) -> Attack:
        return seeded(
            pgd,
            seed=seed,
            eps=eps,
            alpha=self.alpha,
            steps=self.steps,
            norm=self.NORM,
            random_start=self.random_start,
            clip=clip,
            early_stop=self.early_stop,
        )


@register_probe
@dataclass
class PGDLinfProbe(PGDProbe):
    id = "pgd-linf"
    title = "PGD evasion (L∞)"
    NORM = "linf"
    audit_budgets = BUDGET_NAMES
    rule = kept_accuracy_rule("PGD L-inf keeps", clean_too=True)


@register_probe
@dataclass
class PGDL2Probe(PGDProbe):
    id = "pgd-l2"
    title = "PGD evasion (L2)"
    NORM = "l2"
    audit_budgets = ("standard", "thorough")
    rule = kept_accuracy_rule("PGD L2 keeps")
