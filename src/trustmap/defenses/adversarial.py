"""Adversarial training on the one training loop: PGD-AT, TRADES and FRL-lite, plus the per-class
attack machinery that BAT (:mod:`trustmap.defenses.bat`) builds on.

- **PGD-AT** (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", arXiv
  1706.06083): minimise the cross-entropy on PGD adversarial examples (last iterate, random start).
- **TRADES** (Zhang et al., "Theoretically Principled Trade-off between Robustness and Accuracy", arXiv
  1901.08573): ``CE(f(x), y) + beta * KL(f(x) || f(x'))``, ``x'`` maximising that KL, ``beta = 6``. Our
  attack starts from a uniform point of the ball (the paper: a small Gaussian), *(ours)*.
- **FRL-lite** (after Xu et al., "To be Robust or to be Fair", arXiv 2010.06121): PGD-AT whose class loss
  weights are ``exp(robust error_c - mean)``, renormalised to mean 1 after each epoch *(ours: the
  reweighting half of FRL only)*.

Adversarial training is a ``loss_fn`` for :func:`trustmap.models.fit` that calls
:func:`trustmap.probes.evasion.pgd`; per-epoch updates use ``on_epoch_end``. Each class ``c`` has its own
budget ``eps_c`` and step count ``steps_c`` (:class:`AttackState`); examples are attacked in groups of
equal step count. During each epoch the loop counts, per class, the training adversarial examples the
model misclassified (``AttackState.rates()``): BAT and FRL-lite steer on them.

Defaults *(ours, the setting of the ``bat`` repro)*: L∞ ``eps = 0.1``, PGD-5 with step ``eps / 4`` and random
start, 5 epochs, SGD lr 0.05 (one-cycle), momentum 0.9, batch 128. Shapes: images ``(N, C, H, W)`` in
``[0, 1]``, labels ``(N,)``.

>>> out = pgd_at(model, train_split, config=AdvConfig(epochs=5), seed=0)
>>> out.model, out.result.metrics["train_robust_error"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.models.train import TrainConfig, fit
from trustmap.probes.evasion import pgd
from trustmap.probes.evasion.geometry import LossFn
from trustmap.utils.seed import seeded_generator


@dataclass(frozen=True)
class AdvConfig:
    """Threat model and training schedule shared by every adversarial-training method."""

    eps: float = 0.1
    steps: int = 5
    alpha: float | None = None  # PGD step; default eps / 4
    epochs: int = 5
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 128
    clip: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if not self.eps > 0 or self.steps < 1 or self.epochs < 1 or not self.lr > 0 or self.batch_size < 1:
            raise ValueError("adversarial training needs eps > 0, steps >= 1, epochs >= 1, lr > 0, batch_size >= 1")

    @property
    def step_size(self) -> float:
        return self.eps / 4 if self.alpha is None else self.alpha

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer="sgd",
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )


@dataclass
class AttackState:
    """Per-class attack budgets ``eps_c (K,)``, steps ``steps_c (K,)``, loss weights ``(K,)`` and the
    running count of misclassified training adversarial examples of the current epoch."""

    eps_c: torch.Tensor
    steps_c: torch.Tensor
    class_weight: torch.Tensor
    wrong: torch.Tensor = field(init=False)
    seen: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    @classmethod
    def uniform(cls, num_classes: int, config: AdvConfig) -> AttackState:
        return cls(
            torch.full((num_classes,), float(config.eps)),
            torch.full((num_classes,), config.steps, dtype=torch.long),
            torch.ones(num_classes),
        )

    def record(self, wrong: torch.Tensor, y: torch.Tensor) -> None:
        k = len(self.eps_c)
        self.wrong += torch.bincount(y[wrong], minlength=k).double()
        self.seen += torch.bincount(y, minlength=k).double()

    def rates(self) -> torch.Tensor:
        """``m_c``: the fraction of class-``c`` training adversarial examples misclassified this epoch ``(K,)``."""
        return (self.wrong / self.seen.clamp_min(1)).float()

    def reset(self) -> None:
        self.wrong = torch.zeros(len(self.eps_c), dtype=torch.float64)
        self.seen = torch.zeros(len(self.eps_c), dtype=torch.float64)


def per_class_pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    state: AttackState,
    alpha: float,
    generator: torch.Generator,
    loss_fn: LossFn | None = None,
    clip: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """PGD with example ``i`` attacked at ``eps_c[y_i]`` for ``steps_c[y_i]`` steps of size ``alpha``."""
    eps = state.eps_c[y]
    steps = state.steps_c[y]
    x_adv = torch.empty_like(x)
    for s in torch.unique(steps).tolist():
        m = steps == s
        x_adv[m] = pgd(
            model,
            x[m],
            y[m],
            eps=eps[m],
            alpha=alpha,
            steps=int(s),
            generator=generator,
            early_stop=False,
            loss_fn=loss_fn,
            clip=clip,
        )
    return x_adv


EpochUpdate = Callable[[AttackState, torch.Tensor], dict[str, float]]  # (state, rates) -> logged values


def adversarial_fit(
    model: nn.Module,
    data: Split,
    *,
    method: str,
    config: AdvConfig,
    num_classes: int,
    seed: int,
    attack_loss: LossFn | None = None,
    update: EpochUpdate | None = None,
    progress: bool | None = None,
) -> Defended:
    """Train a copy of ``model`` on adversarial examples of ``data``; ``update`` runs after each epoch."""
    net = fresh_copy(model)
    state = AttackState.uniform(num_classes, config)
    gen = seeded_generator(seed, 0x616476)  # "adv": the attack's random starts
    history: list[dict[str, float]] = []

    def loss(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        m.eval()
        x_adv = per_class_pgd(
            m, xb, yb, state=state, alpha=config.step_size, generator=gen, loss_fn=attack_loss, clip=config.clip
        )
        m.train()
        logits = m(x_adv)
        state.record(logits.detach().argmax(1) != yb, yb)
        per_example = F.cross_entropy(logits, yb, reduction="none")
        return (state.class_weight[yb] * per_example).mean()

    def on_epoch_end(m: nn.Module, epoch: int) -> None:
        rates = state.rates()
        row = {
            "epoch": float(epoch + 1),
            "robust_error": float(rates.mean()),
            "worst_class_error": float(rates.max()),
        }
        if update is not None:
            row.update(update(state, rates))
        history.append(row)
        state.reset()

    start = time.perf_counter()
    fit(
        net,
        data,
        config=config.train_config(),
        seed=seed,
        loss_fn=loss,
        on_epoch_end=on_epoch_end,
        progress=progress,
        description=method,
    )
    metrics = {
        "train_robust_error": history[-1]["robust_error"],
        "eps": config.eps,
        "steps": float(config.steps),
        "eps_min": float(state.eps_c.min()),
        "eps_max": float(state.eps_c.max()),
    }
    return Defended(
        net.eval(),
        DefenceResult(method, time.perf_counter() - start, 0, metrics, history),
    )


def pgd_at(
    model: nn.Module,
    data: Split,
    *,
    config: AdvConfig = AdvConfig(),
    num_classes: int = 10,
    seed: int = 0,
    progress: bool | None = None,
) -> Defended:
    """Madry PGD adversarial training (uniform budget, cross-entropy attack)."""
    return adversarial_fit(
        model, data, method="pgd-at", config=config, num_classes=num_classes, seed=seed, progress=progress
    )


def frl_weights(rates: torch.Tensor) -> torch.Tensor:
    """FRL-lite class weights ``exp(m_c - mean m)``, renormalised to mean 1 ``(K,)``."""
    w = torch.exp(rates - rates.mean())
    return w / w.mean()


def frl_lite(
    model: nn.Module,
    data: Split,
    *,
    config: AdvConfig = AdvConfig(),
    num_classes: int = 10,
    seed: int = 0,
    progress: bool | None = None,
) -> Defended:
    """PGD-AT with per-class loss weights from the last epoch's robust error (see the module docstring)."""

    def update(state: AttackState, rates: torch.Tensor) -> dict[str, float]:
        state.class_weight = frl_weights(rates)
        return {
            "weight_max": float(state.class_weight.max()),
            "weight_min": float(state.class_weight.min()),
        }

    return adversarial_fit(
        model,
        data,
        method="frl-lite",
        config=config,
        num_classes=num_classes,
        seed=seed,
        update=update,
        progress=progress,
    )


def trades(
    model: nn.Module,
    data: Split,
    *,
    config: AdvConfig = AdvConfig(),
    beta: float = 6.0,
    seed: int = 0,
    progress: bool | None = None,
) -> Defended:
    """TRADES: clean cross-entropy plus ``beta`` times the KL to the adversarial output."""
    net = fresh_copy(model)
    gen = seeded_generator(seed, 0x616476)

    def loss(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        m.eval()
        with torch.no_grad():
            p_clean = F.softmax(m(xb), dim=1)

        def kl_to_clean(logits: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
            return F.kl_div(F.log_softmax(logits, dim=1), p_clean, reduction="none").sum(1)

        x_adv = pgd(
            m,
            xb,
            yb,
            eps=config.eps,
            alpha=config.step_size,
            steps=config.steps,
            generator=gen,
            early_stop=False,
            loss_fn=kl_to_clean,
            clip=config.clip,
        )
        m.train()
        logits = m(xb)
        robust = F.kl_div(
            F.log_softmax(m(x_adv), dim=1),
            F.softmax(logits, dim=1),
            reduction="batchmean",
        )
        return F.cross_entropy(logits, yb) + beta * robust

    start = time.perf_counter()
    fit(
        net,
        data,
        config=replace(config.train_config()),
        seed=seed,
        loss_fn=loss,
        progress=progress,
        description="trades",
    )
    return Defended(
        net.eval(),
        DefenceResult(
            "trades",
            time.perf_counter() - start,
            0,
            {"beta": beta, "eps": config.eps, "steps": float(config.steps)},
        ),
    )


def harden_config(job: HardenJob) -> AdvConfig:
    """The adversarial-training settings of ``trustmap harden``: ``--eps`` and ``--epochs`` (default 5)."""
    return AdvConfig(eps=job.eps, epochs=job.epochs or 5)


@register_defence
class PGDAT(HardenDefence):
    id = "pgd-at"
    summary = "PGD adversarial training (Madry)"
    paper = "Towards Deep Learning Models Resistant to Adversarial Attacks, arXiv 1706.06083"

    def run(self, job: HardenJob) -> Defended:
        done = pgd_at(
            job.model, job.train, config=harden_config(job), num_classes=job.dataset.num_classes, seed=job.seed
        )
        return replace(done, meta={"eps": job.eps})


@register_defence
class TRADES(HardenDefence):
    id = "trades"
    summary = "TRADES: clean CE + 6 x KL to the adversarial output"
    paper = "Theoretically Principled Trade-off between Robustness and Accuracy, arXiv 1901.08573"

    def run(self, job: HardenJob) -> Defended:
        done = trades(job.model, job.train, config=harden_config(job), seed=job.seed)
        return replace(done, meta={"eps": job.eps})


@register_defence
class FRLLite(HardenDefence):
    id = "frl-lite"
    summary = "PGD-AT with class loss weights from each class's robust error"
    paper = "To be Robust or to be Fair: Towards Fairness in Adversarial Training, arXiv 2010.06121"

    def run(self, job: HardenJob) -> Defended:
        done = frl_lite(
            job.model, job.train, config=harden_config(job), num_classes=job.dataset.num_classes, seed=job.seed
        )
        return replace(done, meta={"eps": job.eps})
