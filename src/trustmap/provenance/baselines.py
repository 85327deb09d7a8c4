"""Baselines for ModelDiff (arXiv 2106.08890): IPGuard-style label agreement and weight cosine.

**Label agreement** (after IPGuard, Cao, Jia & Gong, AsiaCCS 2021, arXiv 1910.12903): find inputs near
model ``a``'s decision boundary and count how often ``b`` gives them ``a``'s label. Boundary points come
from black-box bisection: for each profiling input, a partner that ``a`` labels differently is chosen,
and the segment between them is halved ``bisect_steps`` (5) times, keeping the end that ``a`` still
labels like the input: within 1/32 of the segment from the boundary (closer points flip at random). Only top-1 labels are used, so the output spaces must share class indices to mean much.

**Weight cosine** (the paper's white-box baseline): the mean over weight tensors (``ndim >= 2``: conv and
linear weights) of the cosine of ``a``'s and ``b``'s flattened tensors. Defined only for two white-box
models with the same parameter names (one architecture); otherwise ``None`` with the reason. Tensors
whose shapes differ (a replaced head for another class count) are skipped.

Shapes: inputs ``(M, *input_shape)``; labels ``(M,)``.

>>> label_agreement(a, b, inputs)          # in [0, 1]
>>> weight_cosine(a, b)                    # (0.97, "3 of 3 weight tensors") or (None, "reason")
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trustmap.models.handle import ModelHandle

Model = ModelHandle | nn.Module


@torch.no_grad()
def _labels(model: Model, x: torch.Tensor, *, batch_size: int = 500) -> torch.Tensor:
    if isinstance(model, nn.Module):
        model.eval()
    return torch.cat([model(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def boundary_inputs(model: Model, inputs: torch.Tensor, *, bisect_steps: int = 5) -> torch.Tensor:
    """Points just on ``model``'s side of its decision boundary, one per input (black-box bisection)."""
    x = torch.as_tensor(inputs, dtype=torch.float32)
    labels = _labels(model, x)
    m = len(x)
    # a deterministic partner with another label for each input, spread over the candidates
    other = labels[None, :] != labels[:, None]  # (m, m)
    count = other.sum(1)
    rank = (torch.arange(m) * 7919) % count.clamp_min(1)
    partner = torch.where(count > 0, (other.cumsum(1) == (rank + 1)[:, None]).int().argmax(1), torch.arange(m))
    has = partner != torch.arange(m)
    if not has.any():
        return x
    shape = (-1,) + (1,) * (x.ndim - 1)
    lo, hi = torch.zeros(m), torch.ones(m)
    xa, xb = x, x[partner]
    for _ in range(bisect_steps):
        mid = (lo + hi) / 2
        xm = xa + mid.view(shape) * (xb - xa)
        same = _labels(model, xm) == labels
        lo = torch.where(same, mid, lo)
        hi = torch.where(same, hi, mid)
    lo = torch.where(has, lo, torch.zeros(m))
    return xa + lo.view(shape) * (xb - xa)


def label_agreement(
    a: Model,
    b: Model,
    inputs: torch.Tensor,
    *,
    value_range: tuple[float, float] | None = None,
    bisect_steps: int = 5,
    boundary: torch.Tensor | None = None,
) -> float:
    """Fraction of ``a``'s near-boundary points (from ``inputs``, or ready ``boundary`` points from
    :func:`boundary_inputs`) that ``b`` labels as ``a`` does."""
    x = boundary if boundary is not None else boundary_inputs(a, inputs, bisect_steps=bisect_steps)
    if value_range is not None:
        x = x.clamp(*value_range)
    return float((_labels(a, x) == _labels(b, x)).float().mean())


def _module(model: Model) -> nn.Module | None:
    if isinstance(model, nn.Module):
        return model
    return model.module


def _arch(model: Model) -> str | None:
    return None if isinstance(model, nn.Module) else model.meta.arch


def weight_cosine(a: Model, b: Model) -> tuple[float | None, str]:
    """Mean per-tensor cosine of the weights, or ``(None, why not)`` unless both share one architecture."""
    ma, mb = _module(a), _module(b)
    if ma is None or mb is None:
        return None, "needs both models' weights (white-box); a model is black-box"
    arch_a, arch_b = _arch(a), _arch(b)
    if arch_a and arch_b and arch_a != arch_b:
        return None, f"different architectures ({arch_a} and {arch_b}); weights are not comparable"
    sa, sb = ma.state_dict(), mb.state_dict()
    if set(sa) != set(sb):
        return None, "different architectures (parameter names differ); weights are not comparable"
    sims, skipped = [], 0
    for k, wa in sa.items():
        wb = sb[k]
        if not torch.is_floating_point(wa) or wa.ndim < 2:
            continue
        if wa.shape != wb.shape:
            skipped += 1
            continue
        va, vb = wa.detach().double().flatten(), wb.detach().double().flatten()
        denom = float(va.norm() * vb.norm())
        sims.append(float(va @ vb) / denom if denom > 0 else 0.0)
    if not sims:
        return None, "no weight tensors of matching shape; weights are not comparable"
    note = f"{len(sims)} of {len(sims) + skipped} weight tensors" + (" (shape changes skipped)" if skipped else "")
    return float(np.mean(sims)), note
