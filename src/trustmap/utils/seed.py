"""Determinism: one seed gives the same numbers. No global numpy random state is used anywhere."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy state (for third-party code) and torch; make torch deterministic."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def torch_generator(seed: int) -> torch.Generator:
    """A private CPU generator, so that one component's draws never shift another's."""
    g = torch.Generator()
    g.manual_seed(seed)
    return g
