"""Output-perturbation defences against model stealing, the inference-time baselines of InI.

- **Reverse sigmoid** (Lee et al., "Defending Against NN Model Stealing Attacks Using Deceptive
  Perturbations", IEEE S&P Workshops 2019, arXiv 1806.00054): ``y^ = alpha * (y - beta * (s(gamma *
  s^-1(y)) - 1/2))`` with ``s`` the sigmoid and ``alpha`` renormalising to a distribution; negative
  entries are clipped to 0 *(ours)*. ``gamma = 0.2`` *(ours)*; ``beta`` is tuned as the largest value of
  a grid that keeps every top-1 label of a check set (:func:`tune_reverse_sigmoid`).
- **Top-1 rounding**: answer the one-hot top-1 label only.

Both wrap a trained model and add work at every query. They return log-probabilities ``(N, K)``, so a
softmax of the output is the perturbed probability vector that a thief sees.

>>> guarded = ReverseSigmoid(model, beta=tune_reverse_sigmoid(model, x_check))
>>> guarded(x).softmax(1)
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.defenses.base import DefenceResult, Defended
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.errors import ModelError

BETA_GRID = (1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01)
TINY = 1e-12


def reverse_sigmoid_probs(p: torch.Tensor, *, beta: float, gamma: float) -> torch.Tensor:
    """The reverse-sigmoid perturbation of probabilities ``p (N, K)``, renormalised ``(N, K)``."""
    p = p.clamp(1e-7, 1 - 1e-7)
    r = beta * (torch.sigmoid(gamma * torch.log(p / (1 - p))) - 0.5)
    q = (p - r).clamp_min(0.0)
    return q / q.sum(1, keepdim=True).clamp_min(TINY)


class ReverseSigmoid(nn.Module):
    """``model`` with reverse-sigmoid perturbed outputs (log-probabilities)."""

    def __init__(self, model: nn.Module, *, beta: float = 0.3, gamma: float = 0.2) -> None:
        super().__init__()
        if not beta >= 0 or not gamma > 0:
            raise ValueError(f"reverse sigmoid needs beta >= 0 and gamma > 0, got {beta}, {gamma}")
        self.model, self.beta, self.gamma = model, float(beta), float(gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = F.softmax(self.model(x), dim=1)
        return torch.log(reverse_sigmoid_probs(p, beta=self.beta, gamma=self.gamma) + TINY)


class TopOne(nn.Module):
    """``model`` answering only its top-1 label (a one-hot vector, as log-probabilities)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return torch.log(F.one_hot(logits.argmax(1), logits.shape[1]).to(logits.dtype) + TINY)


@torch.no_grad()
def tune_reverse_sigmoid(
    model: nn.Module,
    x: torch.Tensor,
    *,
    gamma: float = 0.2,
    grid: tuple[float, ...] = BETA_GRID,
) -> float:
    """The largest ``beta`` of ``grid`` whose perturbation keeps every top-1 label on ``x`` (0.0 if none)."""
    model.eval()
    p = F.softmax(model(x), dim=1)
    for beta in sorted(grid, reverse=True):
        if bool((reverse_sigmoid_probs(p, beta=beta, gamma=gamma).argmax(1) == p.argmax(1)).all()):
            return float(beta)
    return 0.0


def trained_base(job: HardenJob) -> nn.Module:
    """The model a wrapper wraps: ``job.wrap`` loaded, else ``job.model`` trained with its default recipe."""
    from trustmap.models import fit, load_model
    from trustmap.models.recipes import recipe

    if job.wrap is not None:
        base = load_model(job.wrap).module
        if base is None:
            raise ModelError(
                f"{job.wrap.name} exposes no PyTorch module to wrap; give a .pt2, .pt or .safetensors model"
            )
        return base
    cfg = recipe(job.dataset.kind, job.arch)
    fit(job.model, job.train, config=replace(cfg, epochs=job.epochs or cfg.epochs), seed=job.seed, progress=None)
    return job.model.eval()


@register_defence
class ReverseSigmoidDefence(HardenDefence):
    id = "reverse-sigmoid"
    summary = "wrapper: reverse-sigmoid perturbed probabilities (top-1 labels kept)"
    paper = "Defending Against NN Model Stealing Attacks Using Deceptive Perturbations, arXiv 1806.00054"
    wrapper = True

    def run(self, job: HardenJob) -> Defended:
        base = trained_base(job)
        beta = tune_reverse_sigmoid(base, torch.from_numpy(job.train.x[:1000]))
        return Defended(
            ReverseSigmoid(base, beta=beta).eval(), DefenceResult(self.id, 0.0, 0, {"beta": beta}), meta={"beta": beta}
        )


@register_defence
class TopOneDefence(HardenDefence):
    id = "top1"
    summary = "wrapper: answer only the one-hot top-1 label"
    wrapper = True

    def run(self, job: HardenJob) -> Defended:
        return Defended(TopOne(trained_base(job)).eval(), DefenceResult(self.id, 0.0, 0, {"beta": 0.0}))
