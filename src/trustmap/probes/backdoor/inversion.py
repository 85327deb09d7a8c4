"""Neural Cleanse's trigger search (Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor
Attacks in Neural Networks", IEEE S&P 2019), the anomaly index of the inverted triggers' norms, and a
trigger's attack success rate. The probe that grades them is
:mod:`trustmap.probes.backdoor.neural_cleanse` (whose docstring describes the search and its schedule).

Shapes: clean images ``x (N, C, H, W)``; per class ``k`` a mask ``m (H, W)`` in ``[0, 1]`` and a pattern
``p (C, H, W)``, applied as ``x' = (1 - m) * x + m * p``.

>>> inv = invert_triggers(module, x, y, num_classes=10, steps=80)
>>> anomaly_indices(np.log(inv.l1))  # one index per class; Neural Cleanse flags > 2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.attacks.backdoor import stamp
from trustmap.probes.backdoor.calibration import MAD_CONSISTENCY
from trustmap.utils.seed import torch_generator

TANH_EPS = 1e-7


@dataclass
class Inversion:
    """Per class ``k`` (row ``k``, classes in ``classes``): the kept ``masks (K, H, W)`` and ``patterns
    (K, C, H, W)``, their ``l1`` norms, ``asr`` on the optimisation batches, the ``steps`` run and the final
    ``cost`` (λ)."""

    classes: list[int]
    masks: np.ndarray
    patterns: np.ndarray
    l1: np.ndarray
    asr: np.ndarray
    steps: np.ndarray
    cost: np.ndarray


def _to_tanh(v: torch.Tensor) -> torch.Tensor:
    return torch.atanh((v - 0.5) * (2 - TANH_EPS))


def _from_tanh(t: torch.Tensor) -> torch.Tensor:
    return torch.tanh(t) / (2 - TANH_EPS) + 0.5


def invert_triggers(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    num_classes: int,
    classes: list[int] | None = None,
    steps: int = 80,
    batch_size: int = 32,
    lr: float = 0.1,
    init_cost: float = 1e-3,
    patience: int = 5,
    cost_multiplier: float = 2.0,
    asr_threshold: float = 0.99,
    early_stop_threshold: float = 0.99,
    early_stop_patience: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    generator: torch.Generator | None = None,
) -> Inversion:
    """Neural Cleanse's trigger search for every class in ``classes`` (default all) on clean ``x (N, C, H, W)``
    with labels ``y`` (used only to leave a class's own images out of its ASR). See the module docstring."""
    classes = list(range(num_classes)) if classes is None else list(classes)
    es_patience = 5 * patience if early_stop_patience is None else early_stop_patience
    k_n, (c, h, w) = len(classes), tuple(x.shape[1:])
    lo, hi = value_range
    gen = generator if generator is not None else torch_generator(0)
    mask_t = _to_tanh(torch.rand(k_n, 1, h, w, generator=gen)).requires_grad_(True)
    pattern_t = _to_tanh(torch.rand(k_n, c, h, w, generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([mask_t, pattern_t], lr=lr, betas=(0.5, 0.9))
    targets = torch.tensor(classes)
    model.eval()
    grad_flags = [(q, q.requires_grad) for q in model.parameters()]
    for q, _ in grad_flags:
        q.requires_grad_(False)
    cost = np.full(k_n, float(init_cost))
    up_n, down_n, es_n = np.zeros(k_n, int), np.zeros(k_n, int), np.zeros(k_n, int)
    went_up, went_down = np.zeros(k_n, bool), np.zeros(k_n, bool)
    reg_best, es_best = np.full(k_n, np.inf), np.full(k_n, np.inf)
    best_mask = _from_tanh(mask_t.detach())[:, 0].clone()
    best_pattern = lo + (hi - lo) * _from_tanh(pattern_t.detach())
    best_asr, ran = np.zeros(k_n), np.zeros(k_n, int)
    active = np.ones(k_n, bool)
    try:
        for _ in range(steps):
            act = np.flatnonzero(active)
            if len(act) == 0:
                break
            idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
            xb, yb = x[idx], y[idx]
            a = torch.from_numpy(act)
            m = _from_tanh(mask_t[a])  # (A, 1, H, W)
            p = lo + (hi - lo) * _from_tanh(pattern_t[a])  # (A, C, H, W)
            xadv = (1 - m[:, None]) * xb[None] + (m * p)[:, None]  # (A, B, C, H, W)
            logits = model(xadv.reshape(-1, c, h, w)).reshape(len(act), len(xb), -1)
            tgt = targets[a][:, None].expand(-1, len(xb))
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
            ce = ce.reshape(len(act), len(xb)).mean(1)
            l1 = m.abs().sum(dim=(1, 2, 3))
            loss = (ce + torch.from_numpy(cost[act]).float() * l1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                hit = logits.argmax(-1) == tgt
                others = yb[None] != tgt
                asr = ((hit & others).sum(1) / others.sum(1).clamp_min(1)).numpy()
            l1n = l1.detach().numpy()
            for j, k in enumerate(act):
                ran[k] += 1
                if asr[j] >= asr_threshold and l1n[j] < reg_best[k]:
                    reg_best[k], best_asr[k] = l1n[j], asr[j]
                    best_mask[k], best_pattern[k] = m[j, 0].detach(), p[j].detach()
                if reg_best[k] < np.inf:  # early stop: only once a valid trigger exists
                    if reg_best[k] < early_stop_threshold * es_best[k]:
                        es_n[k], es_best[k] = 0, reg_best[k]
                    else:
                        es_n[k] += 1
                if went_up[k] and went_down[k] and es_n[k] >= es_patience:
                    active[k] = False
                    continue
                up_n[k], down_n[k] = (up_n[k] + 1, 0) if asr[j] >= asr_threshold else (0, down_n[k] + 1)
                if up_n[k] >= patience:
                    up_n[k], went_up[k] = 0, True
                    cost[k] *= cost_multiplier
                elif down_n[k] >= patience:
                    down_n[k], went_down[k] = 0, True
                    cost[k] /= cost_multiplier**1.5
    finally:
        for q, flag in grad_flags:
            q.requires_grad_(flag)
    no_hit = ~np.isfinite(reg_best)  # never reached the threshold: keep the last trigger (as the paper does)
    if no_hit.any():
        with torch.no_grad():
            rows = torch.from_numpy(np.flatnonzero(no_hit))
            best_mask[rows] = _from_tanh(mask_t[rows])[:, 0]
            best_pattern[rows] = lo + (hi - lo) * _from_tanh(pattern_t[rows])
    masks, patterns = best_mask.numpy(), best_pattern.numpy()
    return Inversion(classes, masks, patterns, masks.reshape(k_n, -1).sum(1).astype(np.float64), best_asr, ran, cost)


def anomaly_indices(norms: np.ndarray) -> np.ndarray:
    """``|norm - median| / (1.4826 * MAD)`` per class (Neural Cleanse's outlier test; 0 when MAD is 0)."""
    norms = np.asarray(norms, dtype=np.float64)
    med = np.median(norms)
    mad = MAD_CONSISTENCY * np.median(np.abs(norms - med))
    return np.abs(norms - med) / mad if mad > 0 else np.zeros_like(norms)


@torch.no_grad()
def trigger_asr(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    pattern: torch.Tensor,
    target: int,
    *,
    batch_size: int = 512,
) -> float:
    """Attack success rate of ``(mask (H, W), pattern (C, H, W))`` toward ``target`` on inputs not of it."""
    keep = y != target
    if not bool(keep.any()):
        return float("nan")
    xt = stamp(x[keep], mask, pattern)
    pred = torch.cat([model(xt[i : i + batch_size]).argmax(1) for i in range(0, len(xt), batch_size)])
    return float((pred == target).float().mean())
