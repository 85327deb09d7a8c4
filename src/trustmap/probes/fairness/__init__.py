"""Fairness probes: robust fairness across classes (``robust-fairness``), group fairness across a
sensitive attribute (``group-fairness``) and accuracy across colour contrast (``ddi-coco``), plus the
group-fairness metric functions they use."""

from trustmap.probes.fairness.ddi_coco import ColourContrast
from trustmap.probes.fairness.group import GroupFairness
from trustmap.probes.fairness.metrics import (
    GroupMetrics,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    group_metrics,
    selection_rate,
    true_positive_rate,
)
from trustmap.probes.fairness.robust_fairness import RobustFairness

__all__ = [
    "ColourContrast",
    "GroupFairness",
    "GroupMetrics",
    "RobustFairness",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "false_positive_rate",
    "group_metrics",
    "selection_rate",
    "true_positive_rate",
]
