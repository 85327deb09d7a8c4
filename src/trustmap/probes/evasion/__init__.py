"""Evasion probes (robustness): white-box gradient attacks and common corruptions.

Functional attacks, usable from Python and by defences (all take ``(model, x, y, *, eps, ...)`` and return
adversarial inputs of the same shape):

- :func:`fgsm` (Goodfellow et al., arXiv 1412.6572)
- :func:`pgd` (Madry et al., arXiv 1706.06083), L∞ or L2, with early stopping and a custom ``loss_fn``
- :func:`apgd_ce` (Croce and Hein, arXiv 2003.01690), AutoAttack's step-size-free PGD

:func:`robust_accuracy` runs any of them over a dataset in batches and returns a :class:`RobustEval`
(clean and robust masks, per-class rows). Probes: ``fgsm``, ``pgd-linf``, ``pgd-l2``, ``apgd-ce``,
``eps-sweep`` and ``corruptions``.

>>> from trustmap.probes.evasion import pgd, robust_accuracy
>>> x_adv = pgd(model, x, y, eps=0.1, steps=20, generator=torch.Generator().manual_seed(0))
"""

# the probe modules register themselves on import
from trustmap.probes.evasion import (  # noqa: F401,E402,I001
    probe_apgd,
    probe_corruptions,
    probe_eps_sweep,
    probe_fgsm,
    probe_pgd,
)
from trustmap.probes.evasion.attack_apgd import apgd_ce
from trustmap.probes.evasion.attack_fgsm import fgsm
from trustmap.probes.evasion.attack_pgd import pgd
from trustmap.probes.evasion.robust import (
    RobustEval,
    per_class_rows,
    robust_accuracy,
    survivors,
)

__all__ = ["RobustEval", "apgd_ce", "fgsm", "per_class_rows", "pgd", "robust_accuracy", "survivors"]
