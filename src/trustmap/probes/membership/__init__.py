"""Membership inference probes (dimension ``privacy``): was this example in the training set?

``mia-loss`` (Yeom et al. 2018, arXiv 1709.01604), ``mia-confidence`` (Salem et al. 2019, arXiv
1806.01246) and ``mia-rmia`` (Zarifzadeh et al. 2024, arXiv 2312.03262; offline, with reference models
trained on the audit pool). ROC metrics live in
:mod:`trustmap.probes.membership.metrics`.
"""

from trustmap.probes.membership.base import MembershipProbe
from trustmap.probes.membership.confidence import ConfidenceAttack
from trustmap.probes.membership.loss import LossAttack
from trustmap.probes.membership.metrics import advantage, membership_metrics, roc_auc, roc_curve, tpr_at_fpr
from trustmap.probes.membership.rmia import RMIA, rmia_scores

__all__ = [
    "MembershipProbe",
    "ConfidenceAttack",
    "LossAttack",
    "RMIA",
    "advantage",
    "membership_metrics",
    "rmia_scores",
    "roc_auc",
    "roc_curve",
    "tpr_at_fpr",
]
