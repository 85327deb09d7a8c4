"""Backdoors that survive kernel dataset distillation (KIP): simple-trigger and relax-trigger.

Chung et al., "Rethinking Backdoor Attacks on Dataset Distillation: A Kernel Method Perspective"
(arXiv 2311.16646, ICLR 2024). The attacker poisons the training set (a fraction ``rate`` of it gets a trigger
and the label ``target``) before it is distilled with KIP (:mod:`trustmap.data.distill.kip`); KRR on the
distilled support then carries the backdoor. The paper bounds the surviving backdoor effect by

- the **conflict loss**: how badly KRR fitted on the mixed batch ``A u B`` (clean ``A``, triggered ``B``
  relabelled ``target``) fits that batch, ``mean((Y_AB - K_AB (K_AB + r)^-1 Y_AB)^2)``;
- the **projection loss**: how well the span of the distilled support represents ``A u B``,
  ``mean(((K_AB - K_AB,S (K_SS + r)^-1 K_S,AB)^2) @ alpha^2)`` with ``alpha = (K_AB + r)^-1 Y_AB``;
- a generalisation gap.

**simple-trigger**: a larger patch lowers the bound, so ASR rises with trigger size at no cost in clean
accuracy. **relax-trigger** (:func:`relax_trigger`): optimise the trigger pattern on
``rho * conflict + projection`` with the support fixed to a KIP set distilled from clean data, a single-level
problem (cheaper than bilevel DoorPing). Following the released notebook, the trigger is blended,
``x' = (1 - a m) x + a m p`` with the patch mask ``m``, opacity ``a = budget`` (0.3) and pattern ``p`` in
``[0, 1]`` (initialised white), so ``|x' - x| <= budget`` on the patch and ``x' = x`` elsewhere (an L-inf
budget); Adam lr 0.01, ``rho = 1e10``, clean batch 100 and triggered batch 10 (class-balanced), pattern
clipped to ``[0, 1]`` after each step.

Shapes: images ``(N, C, H, W)`` in ``[0, 1]``; labels ``(N,)``; masks ``(1, H, W)``; patterns ``(C, H, W)``.
Stamping uses :func:`trustmap.attacks.backdoor.stamp`.

>>> clean = kip_distill(train.x, train.y, num_classes=10, seed=0)
>>> relax = relax_trigger(train.x, train.y, clean.x, clean.y, target=0, num_classes=10, seed=0)
>>> xp, yp, idx = poison_with(train.x, train.y, mask=relax.mask, pattern=relax.pattern, target=0, rate=0.1, seed=0)
>>> backdoored = kip_distill(xp, yp, num_classes=10, init_x=clean.init_x, init_y=clean.y, seed=0)
>>> kernel_asr(backdoored.x, backdoored.y, test.x, test.y, mask=relax.mask, pattern=relax.pattern, target=0,
...            num_classes=10)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from trustmap.attacks.backdoor import Trigger, stamp
from trustmap.data.distill.kip import Adam, _flat, _ridge, balanced_indices, krr_predict, one_hot, relu_ntk
from trustmap.errors import DataError, TrustmapError
from trustmap.utils.seed import derive_seed


def patch_mask_pattern(
    size: int, shape: tuple[int, int, int], *, value: float = 1.0, margin: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Mask ``(1, H, W)`` and pattern ``(C, H, W)`` of a solid ``size`` x ``size`` bottom-right patch of
    brightness ``value``, ``margin`` pixels from the edges (the paper's white squares)."""
    return Trigger(
        "patch", size=size, position="bottom-right", pattern="solid", value=value, margin=margin
    ).mask_pattern(shape)


def poison_with(
    x: np.ndarray,
    y: np.ndarray,
    *,
    mask: np.ndarray,
    pattern: np.ndarray,
    target: int,
    rate: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stamp ``round(rate * N)`` images whose label is not ``target`` (drawn with ``seed``; the same indices
    for every trigger) and relabel them ``target``. Returns new ``(x, y)`` and the poisoned indices."""
    if not (isinstance(rate, (int, float)) and 0.0 < rate < 1.0):
        raise TrustmapError(f"the poisoning rate must be a fraction in (0, 1), got {rate!r}")
    candidates = np.flatnonzero(np.asarray(y) != target)
    n = round(rate * len(y))
    if n < 1 or n > len(candidates):
        raise TrustmapError(f"cannot poison {n} of {len(y)} examples ({len(candidates)} are not class {target})")
    rng = np.random.default_rng(derive_seed(seed, 0xBAD))
    idx = np.sort(rng.choice(candidates, size=n, replace=False))
    xp, yp = np.asarray(x, np.float32).copy(), np.asarray(y).copy()
    xp[idx] = stamp(xp[idx], mask, pattern)
    yp[idx] = target
    return xp, yp, idx


@torch.no_grad()
def kernel_asr(
    x_s: np.ndarray,
    y_s: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    mask: np.ndarray,
    pattern: np.ndarray,
    target: int,
    num_classes: int,
    ridge: float = 1e-6,
) -> float:
    """Attack success rate of KRR on the support ``(x_s, y_s)``: the fraction of non-``target`` images of
    ``(x, y)`` predicted ``target`` once the trigger ``(mask, pattern)`` is stamped on them."""
    keep = np.asarray(y) != target
    if not keep.any():
        raise DataError(f"ASR needs test images outside the target class {target}")
    xt = stamp(np.asarray(x, np.float32)[keep], mask, pattern)
    pred = krr_predict(x_s, one_hot(y_s, num_classes), xt, ridge=ridge).argmax(1).numpy()
    return float((pred == target).mean())


def trigger_losses(
    x_s: torch.Tensor,
    x_a: torch.Tensor,
    y_a: torch.Tensor,
    x_b: torch.Tensor,
    y_b: torch.Tensor,
    *,
    ridge: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(conflict, projection)`` losses of the paper for a clean batch ``(x_a, y_a)``, a triggered batch
    ``(x_b, y_b)`` (one-hot targets, already stamped and relabelled) and the support images ``x_s``."""
    x_ab, y_ab = torch.cat([_flat(x_a), _flat(x_b)]), torch.cat([y_a, y_b]).to(torch.float64)
    k_ab = relu_ntk(x_ab, x_ab)
    k_abs = relu_ntk(x_ab, x_s)
    k_ss = relu_ntk(x_s, x_s)
    alpha = torch.linalg.solve(_ridge(k_ab, ridge), y_ab)
    conflict = ((y_ab - k_ab @ alpha) ** 2).mean()
    residual = k_ab - k_abs @ torch.linalg.solve(_ridge(k_ss, ridge), k_abs.T)
    projection = ((residual**2) @ (alpha**2)).mean()
    return conflict, projection


@dataclass(frozen=True)
class RelaxConfig:
    """relax-trigger options (defaults from the released notebook unless marked): ``size`` x ``size``
    bottom-right patch (12 px, *(ours)*: the paper's 6 px on 8x8 scaled to 28x28) ``margin`` from the edges,
    opacity ``budget`` (the L-inf bound, 0.3), ``steps`` Adam steps at ``lr``, batches of ``clean_batch``
    clean and ``poison_batch`` triggered images (class-balanced), weight ``rho`` on the conflict loss."""

    size: int = 12
    margin: int = 1
    budget: float = 0.3
    steps: int = 1000
    lr: float = 0.01
    clean_batch: int = 100
    poison_batch: int = 10
    rho: float = 1e10
    ridge: float = 1e-6

    def __post_init__(self) -> None:
        if not 0.0 < self.budget <= 1.0:
            raise TrustmapError(f"the relax-trigger budget (L-inf bound) must be in (0, 1], got {self.budget}")
        if self.steps < 0 or self.clean_batch < 1 or self.poison_batch < 1 or self.lr <= 0:
            raise TrustmapError("relax-trigger needs steps >= 0, batches >= 1 and lr > 0")


@dataclass
class RelaxTrigger:
    """The optimised trigger: ``mask (1, H, W)`` (``budget`` on the patch, 0 elsewhere), ``pattern (C, H, W)``
    in ``[0, 1]`` (0 off the patch), and ``rho * conflict + projection`` per step (with its two parts)."""

    mask: np.ndarray
    pattern: np.ndarray
    losses: list[float] = field(default_factory=list)
    conflict: list[float] = field(default_factory=list)
    projection: list[float] = field(default_factory=list)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Stamp the trigger on images ``(N, C, H, W)``."""
        return stamp(np.asarray(x, np.float32), self.mask, self.pattern).astype(np.float32)


def relax_trigger(
    x: np.ndarray,
    y: np.ndarray,
    support_x: np.ndarray,
    support_y: np.ndarray,
    *,
    target: int,
    num_classes: int,
    config: RelaxConfig | None = None,
    seed: int = 0,
) -> RelaxTrigger:
    """Optimise a relax-trigger for clean training data ``(x, y)`` against a clean KIP support ``support_x``
    (its labels ``support_y`` are not used by the losses). Deterministic given ``seed``."""
    cfg = config or RelaxConfig()
    x, y = np.asarray(x, np.float32), np.asarray(y)
    if x.ndim != 4:
        raise DataError(f"relax-trigger needs images (N, C, H, W), got shape {x.shape}")
    if not 0 <= target < num_classes:
        raise TrustmapError(f"the target must be a class index in 0..{num_classes - 1}, got {target}")
    del support_y
    shape = tuple(int(s) for s in x.shape[1:])
    m01, p0 = patch_mask_pattern(cfg.size, shape, value=1.0, margin=cfg.margin)
    mask = torch.from_numpy(m01).to(torch.float64)
    pattern = torch.from_numpy(p0).to(torch.float64).requires_grad_(True)
    opt = Adam(pattern, lr=cfg.lr)
    xs = _flat(support_x)
    xt = torch.from_numpy(x).to(torch.float64)
    rng = np.random.default_rng(derive_seed(seed, 0x7E1A))
    per_a, per_b = max(1, cfg.clean_batch // num_classes), max(1, cfg.poison_batch // num_classes)
    y_b = one_hot(np.full(per_b * num_classes, target), num_classes)
    out = RelaxTrigger(m01 * cfg.budget, p0)
    for _ in range(cfg.steps):
        a = balanced_indices(y, per_a, rng=rng, num_classes=num_classes)
        b = balanced_indices(y, per_b, rng=rng, num_classes=num_classes)
        x_b = stamp(xt[b], cfg.budget * mask, pattern)
        conflict, projection = trigger_losses(xs, xt[a], one_hot(y[a], num_classes), x_b, y_b, ridge=cfg.ridge)
        loss = cfg.rho * conflict + projection
        loss.backward()
        opt.step()
        with torch.no_grad():
            pattern.clamp_(0.0, 1.0).mul_(mask)
        out.losses.append(float(loss.detach()))
        out.conflict.append(float(conflict.detach()))
        out.projection.append(float(projection.detach()))
    out.pattern = pattern.detach().to(torch.float32).numpy()
    out.mask = (m01 * cfg.budget).astype(np.float32)
    return out
