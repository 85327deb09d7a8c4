"""Determinism: one seed gives the same numbers. No global numpy random state is used anywhere."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy state (for third-party code) and torch; make torch deterministic."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def derive_seed(seed: int, *keys: int) -> int:
    """An independent 32-bit seed for the stream ``keys`` of ``seed`` (numpy's SeedSequence mixing)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


@contextlib.contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded (for draws no generator reaches, such as dropout masks)
    and restore the caller's state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def torch_generator(seed: int) -> torch.Generator:
    """A private CPU generator, so that one component's draws never shift another's."""
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def seeded_generator(seed: int, *keys: int) -> torch.Generator:
    """A private generator for the stream ``keys`` of ``seed`` (:func:`derive_seed`; no global random state)."""
    return torch_generator(derive_seed(seed, *keys))


SEED_LIMIT = 2**32


def check_seed(seed: object) -> int:
    """Return ``seed`` if it is a whole number with ``0 <= seed < 2**32`` (what numpy, torch and
    scikit-learn all accept); raise a one-line :class:`TrustmapError` otherwise."""
    from trustmap.errors import TrustmapError

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < SEED_LIMIT:
        raise TrustmapError(f"--seed must be a whole number from 0 to {SEED_LIMIT - 1}, got {seed!r}")
    return int(seed)
