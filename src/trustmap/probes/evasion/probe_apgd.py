"""Probe ``apgd-ce``: robust accuracy under APGD-CE, AutoAttack's step-size-free PGD (Croce and Hein,
arXiv 2003.01690).

Harder to fool by a badly tuned step than PGD, so it is the stronger check of a defended model. Steps by
budget: quick 25, standard 50, thorough 100 (the paper's setting); one start; early stopping. ``norm`` is
``linf`` (default ``eps`` 0.1 for images in [0, 1]) or ``l2`` (1.5).

Metrics: ``clean_accuracy``, ``robust_accuracy``, ``attack_success_rate``, ``eps``, ``steps``;
``tables["per_class"]`` rows ``{class, n, clean, robust}``.

>>> make_probe("apgd-ce", budget="thorough").run(handle, audit_data, seed=0).metrics["robust_accuracy"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from trustmap.probes.base import register_probe
from trustmap.probes.evasion.attack_apgd import apgd_ce
from trustmap.probes.evasion.common import AttackProbe, kept_accuracy_rule, seeded
from trustmap.probes.evasion.geometry import Clip
from trustmap.probes.evasion.robust import Attack


@register_probe
@dataclass
class APGDProbe(AttackProbe):
    id = "apgd-ce"
    title = "APGD-CE evasion (AutoAttack)"
    audit_budgets = ("thorough",)
    rule = kept_accuracy_rule("APGD-CE keeps")
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"steps": 25},
        "standard": {"steps": 50},
        "thorough": {"steps": 100},
    }

    steps: int = 50
    norm: str = "linf"

    def attack_norm(self) -> str:
        return self.norm

    def steps_taken(self) -> int:
        return self.steps

    def make_attack(self, *, eps: float, clip: Clip, seed: int) -> Attack:
        return seeded(apgd_ce, seed=seed, eps=eps, steps=self.steps, norm=self.norm, clip=clip)
