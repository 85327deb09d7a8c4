"""TransTailor: target-aware pruning of a pre-trained CNN for transfer (Liu et al., "TransTailor: Pruning
the Pre-trained Model for Improved Transfer Learning", AAAI 2021, arXiv 2103.01542).

Starting from a model already fine-tuned on the target task, each iteration

1. learns one scaling factor ``alpha`` per filter on the target data, the weights frozen (the factor
   multiplies the filter's batch-norm output, or the conv output when there is no batch norm);
2. scores filters by target-aware importance ``|alpha * dL/dalpha|`` (first-order Taylor, computed on the
   whole target training set);
3. removes the lowest-scored filters across all layers until the MACs have dropped by ``step`` of the
   original (about 5% per iteration, as in the paper), restructuring the next layer;
4. folds ``alpha`` into the weights (the paper's target-aware "optimal" weights) and fine-tunes with each
   surviving filter's gradient scaled by its importance (normalised to mean 1 per layer, *ours*; the
   unofficial code github.com/locth/TransTailor multiplies raw scores);

until the MAC budget is met, then fine-tunes once more. :func:`prune_iteratively` runs the same schedule
with target-agnostic criteria (``"l1"``: layer-normalised L1 filter norms, Li et al. arXiv 1608.08710;
``"random"``), the baselines of the paper, so method and baselines differ only in the criterion.

Inputs: a ``nn.Sequential`` CNN (``cnn``/``cnn-s`` architectures; see :mod:`.filters`), images
``(N, C, H, W)`` float32 with int64 labels. Hyper-parameters the paper does not fix are marked *(ours)*.

>>> out = transtailor(finetuned, target_train, input_shape=(1, 28, 28), config=PruneConfig(flops_ratio=0.7))
>>> out.macs / out.base_macs <= 0.7, out.model(torch.zeros(2, 1, 28, 28)).shape
(True, torch.Size([2, 5]))
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.errors import TrustmapError
from trustmap.models.pruning.filters import (
    Scores,
    find_units,
    l1_scores,
    prune_filters,
    random_scores,
    select_to_budget,
)
from trustmap.models.pruning.flops import count_flops
from trustmap.models.train import TrainConfig, fit
from trustmap.utils.seed import derive_seed, seeded_generator, seeded_global_rng, torch_generator

CRITERIA = ("transtailor", "l1", "random")


@dataclass(frozen=True)
class PruneConfig:
    """``flops_ratio``: MACs kept (0.7 = -30% FLOPs); ``step``: fraction of the original MACs removed per
    iteration (paper: about 5%); the rest *(ours)*: ``alpha_epochs`` / ``alpha_lr`` (Adam) for the scaling
    factors, ``finetune_epochs`` after each pruning step, ``final_epochs`` at the end, Adam ``lr``, ``batch_size``."""

    flops_ratio: float = 0.7
    step: float = 0.05
    alpha_epochs: int = 10
    alpha_lr: float = 1e-2
    finetune_epochs: int = 4
    final_epochs: int = 10
    lr: float = 5e-4
    batch_size: int = 32

    def __post_init__(self) -> None:
        if not 0.0 < self.flops_ratio <= 1.0 or not 0.0 < self.step <= 1.0:
            raise TrustmapError(
                f"flops_ratio and step must be in (0, 1], got {self.flops_ratio!r} and {self.step!r}; e.g. 0.7 and 0.05"
            )
        if min(self.alpha_epochs, self.batch_size) < 1 or min(self.finetune_epochs, self.final_epochs) < 0:
            raise TrustmapError("epochs must be at least 0 (alpha_epochs and batch_size at least 1)")


@dataclass
class PruneResult:
    """The pruned, fine-tuned ``model``; its ``macs`` and ``params`` and the original ``base_macs``;
    ``first_scores``: the criterion's filter scores on the unpruned model (unit index -> ``(filters,)``);
    ``history``: one dict per iteration (``macs``, ``filters`` per unit)."""

    model: nn.Module
    macs: int
    params: int
    base_macs: int
    first_scores: Scores
    history: list[dict] = field(default_factory=list)


def _tensors(data: Split) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(np.asarray(data.x, np.float32)), torch.from_numpy(np.asarray(data.y, np.int64))


def _scale_hooks(model: nn.Sequential, factors: dict[int, torch.Tensor], *, grad: bool = False) -> list:
    """Multiply each unit's scaled output by ``factors`` (``grad=False``) or its gradient (``grad=True``)."""
    hooks = []
    for u in find_units(model):
        f = factors[u.conv]

        def hook(module, inputs, out, f=f):
            if not grad:
                return out * f.view(1, -1, 1, 1)
            if out.requires_grad:
                out.register_hook(lambda g: g * f.view(1, -1, 1, 1))
            return None

        hooks.append(model[u.scale].register_forward_hook(hook))
    return hooks


def train_scaling_factors(
    model: nn.Sequential, data: Split, *, epochs: int = 10, lr: float = 1e-2, batch_size: int = 32, seed: int = 0
) -> dict[int, torch.Tensor]:
    """Per-filter factors ``alpha`` (initialised to 1) trained on ``data`` with the weights frozen and the
    model in eval mode (batch-norm statistics and dropout fixed)."""
    alphas = {u.conv: torch.ones(model[u.conv].out_channels, requires_grad=True) for u in find_units(model)}
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    hooks = _scale_hooks(model, alphas)
    opt = torch.optim.Adam(alphas.values(), lr=lr)
    x, y = _tensors(data)
    gen = torch_generator(seed)
    was = model.training
    model.eval()
    try:
        for _ in range(epochs):
            for idx in torch.randperm(len(y), generator=gen).split(batch_size):
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
    finally:
        for h in hooks:
            h.remove()
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
        model.train(was)
    return {k: v.detach() for k, v in alphas.items()}


def taylor_importance(model: nn.Sequential, alphas: dict[int, torch.Tensor], data: Split) -> Scores:
    """Target-aware importance ``|alpha * dL/dalpha|`` of every filter, ``L`` the mean loss over ``data``."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in alphas.items()}
    hooks = _scale_hooks(model, leaves)
    x, y = _tensors(data)
    was = model.training
    model.eval()
    try:
        for idx in torch.arange(len(y)).split(256):
            (F.cross_entropy(model(x[idx]), y[idx], reduction="sum") / len(y)).backward()
    finally:
        for h in hooks:
            h.remove()
        model.zero_grad(set_to_none=True)
        model.train(was)
    return {k: (v.detach() * v.grad).abs() for k, v in leaves.items()}


def fold_scaling(model: nn.Sequential, alphas: dict[int, torch.Tensor]) -> None:
    """Fold ``alpha`` into the scaled module's weight and bias, in place (same outputs as with the hooks)."""
    with torch.no_grad():
        for u in find_units(model):
            m, a = model[u.scale], alphas[u.conv]
            m.weight.mul_(a.view(-1, *([1] * (m.weight.dim() - 1))))
            if m.bias is not None:
                m.bias.mul_(a)


def _finetune(model: nn.Module, data: Split, *, epochs: int, cfg: PruneConfig, seed: int, grad_scale=None) -> None:
    if epochs == 0:
        return
    hooks = _scale_hooks(model, grad_scale, grad=True) if grad_scale is not None else []
    try:
        fit(
            model,
            data,
            config=TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr),
            seed=seed,
            progress=False,
        )
    finally:
        for h in hooks:
            h.remove()


def prune_iteratively(
    model: nn.Sequential,
    data: Split,
    *,
    input_shape: tuple[int, ...],
    criterion: str = "transtailor",
    config: PruneConfig = PruneConfig(),
    seed: int = 0,
) -> PruneResult:
    """Prune a copy of ``model`` (fine-tuned on the target) to ``config.flops_ratio`` of its MACs with
    ``criterion`` (``transtailor``, ``l1`` or ``random``), fine-tuning on ``data`` after every step."""
    if criterion not in CRITERIA:
        raise TrustmapError(f"unknown pruning criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
    if len(data) == 0:
        raise TrustmapError("the target training data is empty; give at least one labelled example")
    with seeded_global_rng(derive_seed(seed, 7)):  # dropout masks: deterministic per seed
        return _prune(model, data, input_shape=input_shape, criterion=criterion, config=config, seed=seed)


def _prune(
    model: nn.Sequential, data: Split, *, input_shape: tuple[int, ...], criterion: str, config: PruneConfig, seed: int
) -> PruneResult:
    current = copy.deepcopy(model)
    base = count_flops(current, input_shape).macs
    target = config.flops_ratio * base
    first: Scores | None = None
    history: list[dict] = []
    it = 0
    while count_flops(current, input_shape).macs > target + 1e-9:
        macs = count_flops(current, input_shape).macs
        goal = max(target, macs - config.step * base)
        alphas = None
        if criterion == "transtailor":
            alphas = train_scaling_factors(
                current,
                data,
                epochs=config.alpha_epochs,
                lr=config.alpha_lr,
                batch_size=config.batch_size,
                seed=derive_seed(seed, it, 1),
            )
            scores = taylor_importance(current, alphas, data)
        elif criterion == "l1":
            scores = l1_scores(current)
        else:
            scores = random_scores(current, generator=seeded_generator(seed, it, 2))
        first = first if first is not None else scores
        keep = select_to_budget(current, scores, budget=goal, input_shape=input_shape)
        grad_scale = None
        if alphas is not None:
            fold_scaling(current, alphas)
            grad_scale = {}
            for c, idx in keep.items():
                s = scores[c][idx]
                grad_scale[c] = s / s.mean() if float(s.mean()) > 0 else torch.ones_like(s)
        current = prune_filters(current, keep)
        _finetune(
            current,
            data,
            epochs=config.finetune_epochs,
            cfg=config,
            seed=derive_seed(seed, it, 3),
            grad_scale=grad_scale,
        )
        history.append(
            {"macs": count_flops(current, input_shape).macs, "filters": {c: len(k) for c, k in keep.items()}}
        )
        it += 1
        if it > math.ceil(1.0 / config.step) + 5:
            raise TrustmapError("pruning did not reach the FLOP budget; choose a larger flops_ratio")
    _finetune(current, data, epochs=config.final_epochs, cfg=config, seed=derive_seed(seed, 99, 3))
    fc = count_flops(current, input_shape)
    if first is None:  # budget already met: score once for the record
        first = l1_scores(current) if criterion != "transtailor" else {}
    return PruneResult(current.eval(), fc.macs, fc.params, base, first, history)


def transtailor(
    model: nn.Sequential,
    data: Split,
    *,
    input_shape: tuple[int, ...],
    config: PruneConfig = PruneConfig(),
    seed: int = 0,
) -> PruneResult:
    """TransTailor pruning (see the module docstring); ``prune_iteratively(criterion="transtailor")``."""
    return prune_iteratively(model, data, input_shape=input_shape, criterion="transtailor", config=config, seed=seed)


__all__ = [
    "CRITERIA",
    "PruneConfig",
    "PruneResult",
    "fold_scaling",
    "prune_iteratively",
    "taylor_importance",
    "train_scaling_factors",
    "transtailor",
]
