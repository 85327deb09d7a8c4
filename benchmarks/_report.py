"""How a benchmark hands its ratios to ``benchmarks/run_all.py``: one ``BENCH {json}`` line per ratio on stdout.

A benchmark may print the lines itself; this helper only builds them::

    BENCH {"name": "pgd", "measure": "wall time", "method": "trustmap", "baseline": "art", "ratio": 0.21,
           "meaning": "trustmap's time / ART's", "target": "<= 0.333", "passed": true}

Required: ``method``, ``baseline``, ``ratio`` (a number: method / baseline unless ``measure`` says
otherwise, e.g. a difference) and ``meaning`` (how to read it). Optional: ``name`` (the benchmark),
``measure`` (what is compared), ``target`` and ``passed`` (absent or null: reported without a target);
other keys are kept in the runner's JSON but not shown in its table.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

PREFIX = "BENCH "


@dataclass(frozen=True)
class Ratio:
    measure: str  # what is compared: "wall time", "peak memory", ...
    method: str
    baseline: str
    ratio: float
    meaning: str  # one short sentence: how to read ``ratio``
    target: str | None = None  # e.g. "<= 0.333"
    passed: bool | None = None


def at_most(value: float, limit: float) -> tuple[str, bool]:
    """``(target, passed)`` for an upper bound (NaN never passes)."""
    return f"<= {limit:.3g}", bool(math.isfinite(value) and value <= limit)


def at_least(value: float, limit: float) -> tuple[str, bool]:
    """``(target, passed)`` for a lower bound (NaN never passes)."""
    return f">= {limit:.3g}", bool(math.isfinite(value) and value >= limit)


def report(benchmark: str, ratios: list[Ratio]) -> None:
    """Print one ``BENCH`` line per ratio (flushed, so the runner sees them even if a later step fails)."""
    for r in ratios:
        print(PREFIX + json.dumps({"name": benchmark, **asdict(r)}), flush=True)
