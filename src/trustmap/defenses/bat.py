"""BAT: Balance Adversarial Training (Sun et al., "Improving Robust Fairness via Balance Adversarial
Training", AAAI 2023, arXiv 2209.07534).

Madry PGD adversarial training with two changes that balance robustness across classes:

1. **Source-class fairness** — each class ``c`` gets its own attack strength, so that its training
   adversarial examples land near the decision boundary instead of overshooting it. The paper's
   schedule is not published; ours *(ours)*: after each epoch, with ``m_c`` the fraction of
   class-``c`` training adversarial examples the model misclassified,
   ``eps_c <- clip(eps_c * exp(-(m_c - mean m)), 0.5 eps, 1.5 eps)`` and
   ``steps_c = round(K * eps_c / eps)`` at a fixed step ``eps / 4`` (:func:`update_class_eps`).
   Overshooting (often fooled) classes get weaker attacks.
2. **Target-class fairness** — the attack maximises ``CE(f(x'), y) - lambda_u * KL(U || p~(x'))``, where
   ``p~`` is the softmax renormalised over the non-true classes and ``U`` is uniform over them
   (:func:`uniform_kl`), so one class's adversarial examples do not collapse into a few target
   classes. ``lambda_u = 1`` *(ours)*.

Shapes: logits ``(N, K)``, labels ``(N,)``; budgets ``(K,)``. Defaults as :class:`AdvConfig`
(L∞ ``eps = 0.1``, PGD-5, 5 epochs, SGD lr 0.05, momentum 0.9).

>>> out = bat(model, train_split, config=AdvConfig(epochs=5), num_classes=10, seed=0)
>>> out.result.history[-1]["eps_min"], out.model
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.adversarial import (
    AdvConfig,
    AttackState,
    adversarial_fit,
    harden_config,
)
from trustmap.defenses.base import Defended
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.probes.evasion.geometry import LossFn

LAMBDA_U = 1.0
EPS_RANGE = (0.5, 1.5)


def uniform_kl(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``KL(U || p~)`` per example ``(N,)``: ``p~`` = softmax over the ``K - 1`` non-true classes, ``U`` uniform.

    Zero exactly when the non-true probabilities are all equal; large when one wrong class dominates.
    """
    k = logits.shape[1]
    if k < 3:
        return torch.zeros(len(y), dtype=logits.dtype, device=logits.device)
    true = F.one_hot(y, k).bool()
    log_p = F.log_softmax(logits.masked_fill(true, float("-inf")), dim=1)  # -inf at the true class
    mean_log_p = log_p.masked_fill(true, 0.0).sum(1) / (k - 1)
    return -math.log(k - 1) - mean_log_p


def bat_attack_loss(lambda_u: float = LAMBDA_U) -> LossFn:
    """The BAT attack objective ``CE(logits, y) - lambda_u * KL(U || p~)``, per example ``(N,)``."""

    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y, reduction="none") - lambda_u * uniform_kl(logits, y)

    return loss


def update_class_eps(
    eps_c: torch.Tensor,
    rates: torch.Tensor,
    *,
    eps: float,
    steps: int,
    eps_range: tuple[float, float] = EPS_RANGE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One BAT source-class update: ``(eps_c, rates m_c) -> (new eps_c (K,), steps_c (K,))``."""
    new = (eps_c * torch.exp(-(rates - rates.mean()))).clamp(eps_range[0] * eps, eps_range[1] * eps)
    steps_c = torch.round(steps * new / eps).long().clamp_min(1)
    return new, steps_c


def bat(
    model: nn.Module,
    data: Split,
    *,
    config: AdvConfig | None = None,
    num_classes: int = 10,
    seed: int = 0,
    lambda_u: float = LAMBDA_U,
    eps_range: tuple[float, float] = EPS_RANGE,
    progress: bool | None = None,
) -> Defended:
    """Balance Adversarial Training of a copy of ``model`` on ``data`` (see the module docstring)."""
    config = config or AdvConfig()
    if lambda_u < 0 or not 0 < eps_range[0] <= 1 <= eps_range[1]:
        raise ValueError(f"BAT needs lambda_u >= 0 and eps_range with lo <= 1 <= hi, got {lambda_u}, {eps_range}")

    def update(state: AttackState, rates: torch.Tensor) -> dict[str, float]:
        state.eps_c, state.steps_c = update_class_eps(
            state.eps_c, rates, eps=config.eps, steps=config.steps, eps_range=eps_range
        )
        return {
            "eps_min": float(state.eps_c.min()),
            "eps_max": float(state.eps_c.max()),
            **{f"eps_{c}": float(e) for c, e in enumerate(state.eps_c)},
        }

    return adversarial_fit(
        model,
        data,
        method="bat",
        config=config,
        num_classes=num_classes,
        seed=seed,
        attack_loss=bat_attack_loss(lambda_u),
        update=update,
        progress=progress,
    )


@register_defence
class BAT(HardenDefence):
    id = "bat"
    summary = "Balance Adversarial Training: per-class attack budgets for robust fairness"
    paper = "Improving Robust Fairness via Balance Adversarial Training, arXiv 2209.07534"

    def run(self, job: HardenJob) -> Defended:
        done = bat(job.model, job.train, config=harden_config(job), num_classes=job.dataset.num_classes, seed=job.seed)
        return replace(done, meta={"eps": job.eps})
