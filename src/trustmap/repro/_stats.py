"""Per-seed statistics for repro experiments: a mean with its 95% Student-t interval over seeds.

>>> iv = mean_interval([1.0, 2.0, 3.0]); round(iv.mean, 3), round(iv.low, 2), round(iv.high, 2)
(2.0, -0.48, 4.48)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """``mean`` of ``n`` values and the ``level`` Student-t interval ``[low, high]`` (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    def verdict(self, threshold: float, *, above: bool) -> str:
        """``passed`` when the whole interval is on the good side of ``threshold``, ``failed`` when it is
        wholly on the bad side, else ``inconclusive`` (one seed alone is judged by its value)."""
        lo, hi = (self.low, self.high) if self.n > 1 else (self.mean, self.mean)
        good_lo, good_hi = (lo >= threshold, hi >= threshold) if above else (hi <= threshold, lo <= threshold)
        if good_lo:
            return "passed"
        return "inconclusive" if good_hi else "failed"

    def text(self, scale: float = 1.0, digits: int = 3) -> str:
        if self.n < 2:
            return f"{self.mean * scale:.{digits}f}"
        return f"{self.mean * scale:.{digits}f} [{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}]"


def mean_interval(values: Sequence[float], *, level: float = 0.95) -> Interval:
    """The mean of ``values`` and its two-sided Student-t confidence interval."""
    from scipy import stats

    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("mean_interval needs at least one value")
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)
