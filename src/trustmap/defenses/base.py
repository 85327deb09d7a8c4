"""What every defence returns: a new model and a :class:`DefenceResult` saying what it cost.

A defence never changes the model it is given: it trains a copy (or wraps it) and returns it in a
:class:`Defended`. ``DefenceResult.metrics`` holds the method's own numbers (final per-class budgets,
loss terms, ...); the cost is ``seconds`` of training and ``extra_parameters`` added at inference
(0 for training-time defences such as BAT, InI and SFR-on).

>>> out = bat(model, train_split, config=BATConfig(epochs=5), seed=0)
>>> out.model, out.result.seconds, out.result.metrics["eps_min"]
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class DefenceResult:
    """``method`` id, wall-clock ``seconds``, ``extra_parameters`` at inference and the method's metrics."""

    method: str
    seconds: float
    extra_parameters: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(
        default_factory=list
    )  # e.g. one row per epoch or step


@dataclass
class Defended:
    """The defended model (eval mode) and what the defence cost."""

    model: nn.Module
    result: DefenceResult


def fresh_copy(model: nn.Module) -> nn.Module:
    """A deep copy in train mode: the caller's model is never modified."""
    return copy.deepcopy(model).train()


def seeded_generator(seed: int, *keys: int) -> torch.Generator:
    """A private generator from ``seed`` and stream keys (no global random state)."""
    from trustmap.utils.seed import derive_seed

    g = torch.Generator()
    g.manual_seed(derive_seed(seed, *keys))
    return g


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
