"""What every defence returns: a new model and a :class:`DefenceResult` saying what it cost.

A defence never changes the model it is given: it trains a copy (or wraps it) and returns it in a
:class:`Defended`. ``DefenceResult.metrics`` holds the method's own numbers (final per-class budgets,
loss terms, ...); the cost is ``seconds`` of training and ``extra_parameters`` added at inference
(0 for training-time defences such as BAT, InI and SFR-on).

>>> out = bat(model, train_split, config=AdvConfig(epochs=5), num_classes=10, seed=0)
>>> out.model, out.result.seconds, out.result.metrics["eps_min"]
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass
class DefenceResult:
    """``method`` id, wall-clock ``seconds``, ``extra_parameters`` at inference and the method's metrics."""

    method: str
    seconds: float
    extra_parameters: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # e.g. one row per epoch or step


@dataclass
class Defended:
    """The defended model (eval mode), what the defence cost, and what the saved model's metadata records
    about the defence beyond its id and seed (e.g. ``{"eps": 0.1}``)."""

    model: nn.Module
    result: DefenceResult
    meta: dict[str, Any] = field(default_factory=dict)


def fresh_copy(model: nn.Module) -> nn.Module:
    """A deep copy in train mode: the caller's model is never modified."""
    return copy.deepcopy(model).train()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
