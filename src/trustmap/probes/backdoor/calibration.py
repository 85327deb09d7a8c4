"""Reference calibration for ``backdoor-scan``: tell a backdoor from a class's natural shortcut.

Neural Cleanse assumes that no clean class has a much smaller trigger than the others. On a well-trained
Fashion-MNIST CNN that is false: the *Bag* class has a natural shortcut (a handle, a bright rectangle), so
its inverted trigger is several times smaller than the median, survives STRIP superimposition, and the
clean reference model of ``trustmap demo`` (test accuracy 0.916) was flagged with an anomaly index of 4.9.
This is the known false positive of trigger inversion on classes with strong natural features (Wang et al.
discuss it in §IV; later work calls them "natural backdoors").

Calibration asks whether the suspected class's trigger is small *for this data*, not just for this model:
it trains ``R`` clean reference models on the auditor's pool (same-distribution data the target never
saw; the target's architecture when trustmap can train it, see
:func:`trustmap.probes.membership.reference.reference_arch`), inverts every class on each with the same
settings, and compares log-norm offsets from the median:

- ``offset_M(k) = log n_k(M) - median_j log n_j(M)`` for the target ``M = T`` and each reference ``M = R_r``;
- **calibrated index** ``= (mean_r offset_{R_r}(k) - offset_T(k)) / (1.4826 * MAD_j log n_j(T))``.

for every class ``k``; the class with the largest calibrated index is the suspect. A natural shortcut gives
the references the same small offset, so its calibrated index stays near 0; a backdoor makes the target's
trigger far smaller than any clean model's, so its index stays large, even when a natural shortcut class
has the smaller raw trigger. The STRIP ratio
is calibrated the same way: ``strip_ratio / mean_r strip_ratio(R_r)`` (capped at 1 in the score).

Shapes: norms ``(K,)`` per model; ``x (N, C, H, W)`` clean images. Example:

>>> index_of_bag = calibrated_indices(target_norms, [ref0_norms, ref1_norms])[8]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from trustmap.attacks.backdoor import stamp
from trustmap.probes.backdoor.strip import strip_entropy

MAD_CONSISTENCY = 1.4826


def log_offsets(norms: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-class ``log norm - median log norm`` and the MAD scale ``1.4826 * MAD`` of the log norms."""
    logs = np.log(np.maximum(np.asarray(norms, dtype=np.float64), 1e-6))
    med = float(np.median(logs))
    return logs - med, MAD_CONSISTENCY * float(np.median(np.abs(logs - med)))


def calibrated_indices(target_norms: np.ndarray, reference_norms: Sequence[np.ndarray]) -> np.ndarray:
    """Per class, how far its trigger is below the clean references' in the target's own MAD units (see the
    module docstring): ``(K,)``; zeros when the target's log norms have no spread, ``nan`` without references."""
    offsets, scale = log_offsets(target_norms)
    if len(reference_norms) == 0:
        return np.full(len(offsets), np.nan)
    ref = np.mean([log_offsets(n)[0] for n in reference_norms], axis=0)
    return (ref - offsets) / scale if scale > 0 else np.zeros(len(offsets))


@dataclass
class Calibration:
    """The outcome of calibration: the suspect ``k`` (largest calibrated index), its ``index``, every class's
    ``indices``, its STRIP ratio over the references' and one row per reference model."""

    k: int
    index: float
    indices: list[float]
    strip_ratio: float
    reference_arch: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def strip_ratio(
    model: nn.Module,
    xs: torch.Tensor,
    ys: torch.Tensor,
    mask: torch.Tensor,
    pattern: torch.Tensor,
    k: int,
    *,
    overlays: torch.Tensor,
    n_overlays: int,
    clip: tuple[float, float],
    generator: torch.Generator,
) -> float:
    """STRIP entropy of ``xs`` (not of class ``k``) stamped with ``(mask, pattern)`` over that of clean ``xs``."""
    opts = {"overlays": overlays, "n_overlays": n_overlays, "clip": clip, "generator": generator}
    clean = float(strip_entropy(model, xs, **opts).mean())
    trig = float(strip_entropy(model, stamp(xs[ys != k], mask, pattern), **opts).mean())
    return trig / clean if clean > 0 else 0.0


def calibrate(
    target_norms: np.ndarray,
    target_strip_ratios: np.ndarray,
    references: Sequence[nn.Module],
    *,
    reference_arch: str,
    invert: Any,
    strip: Any,
) -> Calibration:
    """Calibrate a scanned model (its per-class trigger norms and STRIP ratios, ``(K,)`` each) against clean
    ``references``; the suspect is the class with the largest calibrated index.

    ``invert(model, r)`` returns a reference's :class:`~trustmap.probes.backdoor.inversion.Inversion`
    (the scan's own settings, seed ``r``); ``strip(model, mask, pattern, k)`` its STRIP ratio for class ``k``.
    """
    inversions = [invert(model, r) for r, model in enumerate(references)]
    indices = calibrated_indices(target_norms, [inv.l1 for inv in inversions])
    k = int(np.nanargmax(indices)) if np.isfinite(indices).any() else int(np.argmin(target_norms))
    ref_strip, rows = [], []
    for r, (model, inv) in enumerate(zip(references, inversions, strict=True)):
        ratio = strip(model, torch.from_numpy(inv.masks[k]), torch.from_numpy(inv.patterns[k]), k)
        ref_strip.append(ratio)
        rows.append(
            {
                "reference": r,
                "arch": reference_arch,
                "class": k,
                "mask_l1": round(float(inv.l1[k]), 2),
                "median_mask_l1": round(float(np.median(inv.l1)), 2),
                "log_offset": round(float(log_offsets(inv.l1)[0][k]), 3),
                "strip_ratio": round(ratio, 4),
            }
        )
    mean_strip = float(np.mean(ref_strip))
    target_strip = float(target_strip_ratios[k])
    return Calibration(
        k=k,
        index=float(indices[k]),
        indices=[round(float(v), 3) for v in indices],
        strip_ratio=target_strip / mean_strip if mean_strip > 0 else target_strip,
        reference_arch=reference_arch,
        rows=rows,
    )
