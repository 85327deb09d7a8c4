"""Probe ``fgsm``: robust accuracy under the fast gradient sign method (Goodfellow et al., arXiv 1412.6572).

One L∞ step of size ``eps`` per example: the cheapest white-box check, and a lower bound on what PGD finds.
Metrics: ``clean_accuracy``, ``robust_accuracy``, ``attack_success_rate``; ``tables["per_class"]``.

>>> make_probe("fgsm", eps=0.1).run(handle, audit_data, seed=0).metrics["robust_accuracy"]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from trustmap.probes.base import BUDGET_NAMES, register_probe
from trustmap.probes.evasion.attack_fgsm import fgsm
from trustmap.probes.evasion.common import AttackProbe, kept_accuracy_rule
from trustmap.probes.evasion.geometry import Clip
from trustmap.probes.evasion.robust import Attack


@register_probe
@dataclass
class FGSMProbe(AttackProbe):
    id = "fgsm"
    title = "FGSM evasion (L∞)"
    audit_budgets = BUDGET_NAMES
    rule = kept_accuracy_rule("FGSM keeps")

    def make_attack(self, *, eps: float, clip: Clip, seed: int) -> Attack:
        return functools.partial(fgsm, eps=eps, clip=clip)  # deterministic: no random draws
