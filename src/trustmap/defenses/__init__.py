"""Defences: each takes a model (or a training setup) plus data and returns a new model and a
:class:`DefenceResult` saying what it cost. One file per method.

- adversarial robustness: :func:`bat` (BAT, arXiv 2209.07534); baselines :func:`pgd_at`, :func:`trades`,
  :func:`frl_lite` (:mod:`trustmap.defenses.adversarial`)
- model stealing: :func:`ini` (InI, arXiv 2308.00958); baselines :class:`ReverseSigmoid`, :class:`TopOne`
  (:mod:`trustmap.defenses.perturbation`)
- backdoors: :func:`neural_cleanse_unlearning`, :func:`unlearn_trigger` (Neural Cleanse, IEEE S&P 2019),
  :func:`fine_prune` (arXiv 1805.12185) (:mod:`trustmap.defenses.backdoor_removal`)
- unlearning: :func:`sfr_on` (SFR-on, arXiv 2409.19732); baselines :func:`gradient_ascent`,
  :func:`finetune`, :func:`salun_lite` (:mod:`trustmap.defenses.unlearning`) and retraining

Each method is registered by id in :data:`DEFENCES` (:mod:`trustmap.defenses.registry`); ``trustmap
harden`` and ``trustmap unlearn`` find it there through :mod:`trustmap.defenses.workflows`.
"""

from trustmap.defenses.adversarial import AdvConfig, frl_lite, pgd_at, trades
from trustmap.defenses.base import DefenceResult, Defended
from trustmap.defenses.bat import bat
from trustmap.defenses.ini import INIConfig, defender_ood, ini
from trustmap.defenses.perturbation import ReverseSigmoid, TopOne, tune_reverse_sigmoid
from trustmap.defenses.backdoor_removal import fine_prune, neural_cleanse_unlearning, unlearn_trigger  # noqa: I001
from trustmap.defenses.registry import (
    DEFENCES,
    Defence,
    HardenDefence,
    HardenJob,
    UnlearnDefence,
    UnlearnJob,
    defence_ids,
    register_defence,
)
from trustmap.defenses.sfr_on import SFROnConfig, sfr_on
from trustmap.defenses.unlearning import finetune, gradient_ascent, salun_lite

__all__ = [
    "fine_prune",
    "neural_cleanse_unlearning",
    "unlearn_trigger",
    "DEFENCES",
    "AdvConfig",
    "Defence",
    "DefenceResult",
    "Defended",
    "HardenDefence",
    "HardenJob",
    "INIConfig",
    "ReverseSigmoid",
    "SFROnConfig",
    "TopOne",
    "UnlearnDefence",
    "UnlearnJob",
    "bat",
    "defence_ids",
    "defender_ood",
    "finetune",
    "frl_lite",
    "gradient_ascent",
    "ini",
    "pgd_at",
    "register_defence",
    "salun_lite",
    "sfr_on",
    "trades",
    "tune_reverse_sigmoid",
]
