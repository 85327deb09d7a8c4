"""CPU threads for experiments: the project's convention is 2 torch threads, ``TRUSTMAP_THREADS`` overrides.

The test suite sets ``TRUSTMAP_THREADS=1``: its two pytest workers then share the 2 cores without
oversubscribing them (two workers at 2 threads each made the smoke tests up to 10x slower).

>>> set_threads()   # before an experiment; returns the thread count it set
2
"""

from __future__ import annotations

import os

from trustmap.errors import TrustmapError


def thread_count(default: int | None = 2) -> int | None:
    """The thread count ``TRUSTMAP_THREADS`` names (``default`` when unset); a value that is not a
    positive whole number is a one-line error. Cheap: torch is not imported."""
    raw = os.environ.get("TRUSTMAP_THREADS")
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise TrustmapError(f"TRUSTMAP_THREADS={raw!r} is not a positive whole number; unset it or use e.g. 2")
    return int(raw)


def set_threads(default: int | None = 2) -> int:
    """Set torch's thread count from ``TRUSTMAP_THREADS`` (else ``default``; None keeps torch's own) and
    return the count in effect."""
    n = thread_count(default)
    import torch

    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()
