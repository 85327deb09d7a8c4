"""Loss-threshold membership inference (Yeom et al., "Privacy Risk in Machine Learning: Analyzing the
Connection to Overfitting", CSF 2018, arXiv 1709.01604).

A model's loss is lower on the examples it trained on. The attack says "member" when the
cross-entropy loss ``-log p(y | x)`` is below a threshold; sweeping the threshold gives the ROC curve,
so the score is the negative loss. Black-box: only :meth:`ModelHandle.predict` (logits) is used, plus
the true labels of the examples under test.

Shapes: members/non-members ``x (n, ...)``, ``y (n,)``; scores ``(n,)``. Defaults: ``n`` = 500 / 2,000 /
10,000 of each for the quick / standard / thorough budgets. Besides the ROC metrics the result holds
``member_accuracy`` and ``nonmember_accuracy`` (the generalisation gap that drives this attack).

>>> probe = make_probe("mia-loss", budget="quick")
>>> probe.run(handle, AuditData(ds, eval=ds.test, members=m, nonmembers=nm), seed=0).metrics["auc"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from trustmap.models.handle import ModelHandle
from trustmap.probes.base import BUDGET_NAMES, AuditData, ProbeResult, register_probe
from trustmap.probes.membership.base import MembershipProbe, auc_rule, true_class_log_prob


@register_probe
@dataclass
class LossAttack(MembershipProbe):
    """Loss-threshold attack: score = ``log p(y | x)`` (= minus the cross-entropy loss)."""

    id: ClassVar[str] = "mia-loss"
    title: ClassVar[str] = "Membership inference (loss threshold)"
    audit_budgets = BUDGET_NAMES
    rule = auc_rule("loss-threshold")

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        members, nonmembers = self.balanced(data, seed=seed)
        logits_in, logits_out = model.predict(members.x), model.predict(nonmembers.x)
        extra = {
            "member_accuracy": float((logits_in.argmax(1) == members.y).mean()),
            "nonmember_accuracy": float((logits_out.argmax(1) == nonmembers.y).mean()),
        }
        return self.finish(
            true_class_log_prob(logits_in, members.y), true_class_log_prob(logits_out, nonmembers.y), extra=extra
        )
