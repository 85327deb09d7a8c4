"""CPU threads for experiments: methods.md's convention is 2 torch threads, ``TRUSTMAP_THREADS`` overrides.

The test suite sets ``TRUSTMAP_THREADS=1``: its two pytest workers then share the 2 cores without
oversubscribing them (two workers at 2 threads each made the smoke tests up to 10x slower).

>>> set_threads()   # before an experiment; returns the thread count it set
2
"""

from __future__ import annotations

import os

from trustmap.errors import TrustmapError


def set_threads() -> int:
    raw = os.environ.get("TRUSTMAP_THREADS", "2")
    if not raw.strip().isdigit() or int(raw) < 1:
        raise TrustmapError(f"TRUSTMAP_THREADS={raw!r} is not a positive whole number; unset it or use e.g. 2")
    import torch

    torch.set_num_threads(int(raw))
    return int(raw)
