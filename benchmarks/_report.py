"""How a benchmark hands its ratios to ``benchmarks/run_all.py`` (imported by the ``bench_*.py`` scripts).

The runner sets ``TRUSTMAP_BENCH_RESULT`` to a file path; :func:`report` writes the benchmark's ratios
there as JSON (and does nothing when the variable is unset, i.e. when the script is run by hand)::

    {"benchmark": "pgd", "ratios": [{"measure": "wall time", "method": "trustmap", "baseline": "art",
      "value": 0.21, "target": "<= 0.33", "passed": true, "meaning": "trustmap's time / ART's"}]}

``value`` is a ratio (method / baseline) unless ``measure`` says otherwise (e.g. a difference);
``target`` and ``passed`` are ``None`` for figures reported without a target.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULT_ENV = "TRUSTMAP_BENCH_RESULT"


@dataclass(frozen=True)
class Ratio:
    measure: str  # what is compared: "wall time", "peak memory", ...
    method: str
    baseline: str
    value: float
    meaning: str  # one short sentence: how to read ``value``
    target: str | None = None  # e.g. "<= 0.33"
    passed: bool | None = None


def at_most(value: float, limit: float) -> tuple[str, bool]:
    """``(target, passed)`` for an upper bound (NaN never passes)."""
    return f"<= {limit:.3g}", bool(math.isfinite(value) and value <= limit)


def at_least(value: float, limit: float) -> tuple[str, bool]:
    """``(target, passed)`` for a lower bound (NaN never passes)."""
    return f">= {limit:.3g}", bool(math.isfinite(value) and value >= limit)


def report(benchmark: str, ratios: list[Ratio]) -> None:
    """Write ``ratios`` to the runner's result file, if the runner asked for one."""
    path = os.environ.get(RESULT_ENV)
    if not path:
        return
    doc = {"benchmark": benchmark, "ratios": [asdict(r) for r in ratios]}
    Path(path).write_text(json.dumps(doc, indent=1))
