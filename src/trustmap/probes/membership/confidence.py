"""Confidence-threshold membership inference (Salem et al., "ML-Leaks: Model and Data Independent
Membership Inference Attacks and Defenses on Machine Learning Models", NDSS 2019, arXiv 1806.01246).

Models are more confident on their training examples. The attack says "member" when the softmax
confidence is above a threshold. ``signal="max"`` (the default, ML-Leaks' label-free adversary) uses
the top softmax probability and needs no labels; ``signal="true"`` uses the true class's probability
(Song & Mittal, arXiv 2003.10595), which ranks examples exactly like the loss attack ``mia-loss``.
Black-box: only :meth:`ModelHandle.predict` is used.

Shapes: members/non-members ``x (n, ...)``; scores ``(n,)``: log-probabilities, which rank like
probabilities but keep confident examples apart. Defaults: ``n`` = 500 / 2,000 /
10,000 of each for the quick / standard / thorough budgets; ``signal="max"``.

>>> probe = make_probe("mia-confidence", budget="quick", signal="max")
>>> probe.run(handle, audit_data, seed=0).metrics["tpr_at_1fpr"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import BUDGET_NAMES, AuditData, ProbeResult, register_probe
from trustmap.probes.membership.base import MembershipProbe, auc_rule, class_log_prob

SIGNALS = ("max", "true")


@register_probe
@dataclass
class ConfidenceAttack(MembershipProbe):
    """Confidence-threshold attack. ``signal``: ``max`` (top softmax probability) or ``true`` (p(y | x))."""

    id: ClassVar[str] = "mia-confidence"
    title: ClassVar[str] = "Membership inference (confidence threshold)"
    audit_budgets = BUDGET_NAMES
    rule = auc_rule("confidence-threshold")

    signal: str = "max"

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise TrustmapError(f"mia-confidence signal must be one of {', '.join(SIGNALS)}, not {self.signal!r}")

    def score(self, model: ModelHandle, split: Split) -> np.ndarray:
        """Log-probabilities ``(n,)`` (same ranking as probabilities, without ties at ``p = 1``)."""
        logits = model.predict(split.x)
        return class_log_prob(logits, logits.argmax(axis=1) if self.signal == "max" else split.y)

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        members, nonmembers = self.balanced(data, seed=seed)
        return self.finish(self.score(model, members), self.score(model, nonmembers))
