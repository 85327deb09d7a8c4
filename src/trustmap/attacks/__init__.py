"""Attacks that build compromised models for tests, demos and benchmarks (the audit's probes detect them).

- :mod:`trustmap.attacks.backdoor`: BadNets patch triggers (Gu et al., arXiv 1708.06733) and blended
  triggers (Chen et al., arXiv 1712.05526), data poisoning at a given rate toward one target class, and
  :func:`train_poisoned`, which trains a backdoored model whose metadata records the poisoning.

>>> from trustmap.attacks import Trigger, apply_trigger, poison_split
>>> poisoned = poison_split(ds.train, trigger=Trigger("patch"), target=3, rate=0.1, seed=0)
"""

from trustmap.attacks.backdoor import (
    BackdooredModel,
    PoisonedSplit,
    Poisoning,
    Trigger,
    apply_trigger,
    attack_success_rate,
    poison_split,
    poisoning,
    train_poisoned,
)

__all__ = [
    "BackdooredModel",
    "PoisonedSplit",
    "Poisoning",
    "Trigger",
    "apply_trigger",
    "attack_success_rate",
    "poison_split",
    "poisoning",
    "train_poisoned",
]
