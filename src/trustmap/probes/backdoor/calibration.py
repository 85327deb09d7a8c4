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

A natural shortcut gives the references the same small offset, so the calibrated index stays near 0; a
backdoor makes the target's trigger far smaller than any clean model's, so it stays large. The STRIP ratio
is calibrated the same way: ``strip_ratio / mean_r strip_ratio(R_r)`` (capped at 1 in the score).

Shapes: norms ``(K,)`` per model; ``x (N, C, H, W)`` clean images. Example:

>>> index = calibrated_index(target_norms, [ref0_norms, ref1_norms], k=8)
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


def calibrated_index(target_norms: np.ndarray, reference_norms: Sequence[np.ndarray], k: int) -> float:
    """How far class ``k``'s trigger is below the clean references' in the target's own MAD units (see the
    module docstring); 0 when the target's log norms have no spread, ``nan`` without references."""
    if len(reference_norms) == 0:
        return float("nan")
    offsets, scale = log_offsets(target_norms)
    ref = float(np.mean([log_offsets(n)[0][k] for n in reference_norms]))
    return (ref - float(offsets[k])) / scale if scale > 0 else 0.0


@dataclass
class Calibration:
    """The outcome of calibrating the suspected class ``k`` against clean reference models."""

    k: int
    index: float
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
    target_strip_ratio: float,
    k: int,
    references: Sequence[nn.Module],
    *,
    reference_arch: str,
    invert: Any,
    strip: Any,
) -> Calibration:
    """Calibrate class ``k`` of a scanned model against clean ``references``.

    ``invert(model, r)`` returns a reference's :class:`~trustmap.probes.backdoor.neural_cleanse.Inversion`
    (the scan's own settings, seed ``r``); ``strip(model, mask, pattern, k)`` its STRIP ratio for class ``k``.
    """
    ref_norms, ref_strip, rows = [], [], []
    for r, model in enumerate(references):
        inv = invert(model, r)
        ratio = strip(model, torch.from_numpy(inv.masks[k]), torch.from_numpy(inv.patterns[k]), k)
        offsets, _ = log_offsets(inv.l1)
        ref_norms.append(inv.l1)
        ref_strip.append(ratio)
        rows.append(
            {
                "reference": r,
                "arch": reference_arch,
                "mask_l1": round(float(inv.l1[k]), 2),
                "median_mask_l1": round(float(np.median(inv.l1)), 2),
                "log_offset": round(float(offsets[k]), 3),
                "strip_ratio": round(ratio, 4),
            }
        )
    mean_strip = float(np.mean(ref_strip))
    return Calibration(
        k=k,
        index=calibrated_index(target_norms, ref_norms, k),
        strip_ratio=target_strip_ratio / mean_strip if mean_strip > 0 else float(target_strip_ratio),
        reference_arch=reference_arch,
        rows=rows,
    )
