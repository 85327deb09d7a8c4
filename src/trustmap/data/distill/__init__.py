"""Dataset distillation: learn a small support set that stands in for a training set.

- :mod:`trustmap.data.distill.kip`: Kernel Inducing Points (KIP, Nguyen, Chen & Lee, arXiv 2011.00050) with
  the closed-form NTK of a one-hidden-layer ReLU network, and kernel ridge regression on the support.

>>> from trustmap.data.distill import KIPConfig, kip_distill, krr_predict
>>> out = kip_distill(train.x, train.y, num_classes=10, config=KIPConfig(steps=100), seed=0)
"""

from trustmap.data.distill.kip import (
    KIPConfig,
    KIPResult,
    balanced_indices,
    kip_distill,
    kip_loss,
    krr_accuracy,
    krr_predict,
    one_hot,
    relu_ntk,
)

__all__ = [
    "KIPConfig",
    "KIPResult",
    "balanced_indices",
    "kip_distill",
    "kip_loss",
    "krr_accuracy",
    "krr_predict",
    "one_hot",
    "relu_ntk",
]
