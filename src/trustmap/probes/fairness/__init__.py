"""Fairness probes: robust fairness across classes (``robust-fairness``) and group fairness across a
sensitive attribute (``group-fairness``), plus the group-fairness metric functions they use."""

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
