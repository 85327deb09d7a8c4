"""DP-SGD: differentially private training with per-sample gradient clipping and Gaussian noise, on Opacus.

Abadi et al., "Deep Learning with Differential Privacy" (CCS 2016, arXiv 1607.00133). Each step samples a
Poisson batch (every example independently with rate ``batch_size / n``), clips each example's gradient
to L2 norm ``max_grad_norm``, sums, adds ``N(0, sigma^2 max_grad_norm^2)`` noise and averages. The noise
multiplier ``sigma`` is chosen by Opacus' RDP accountant so that the whole run is
``(epsilon, delta)``-differentially private; ``delta`` defaults to ``1 / (10 n)`` (below ``1 / n``, as
the paper advises).

DP-SGD needs its own loop: Poisson sampling and per-sample gradients do not fit
:func:`trustmap.models.fit`'s shuffled batches, and the privacy accounting depends on that sampling.
Batch-norm layers mix examples and so are replaced by group norm (Opacus' ``ModuleValidator.fix``); the
saved model is that fixed architecture, loaded by its own ``torch.export`` graph.

Shapes: ``split.x`` ``(N, ...)`` floats, ``split.y`` ``(N,)``. Defaults *(ours)*: 5 epochs, batch 256,
SGD lr 0.5 with momentum 0.9 (large batches and a large learning rate suit DP-SGD), clip norm 1.0.

As a defence: ``trustmap harden --method dp-sgd --epsilon 8 --data fashion-mnist --out private.pt2``. It
also trains the same architecture without privacy (its usual recipe, same data and seed) and reports a
loss-threshold membership attack on both (training images against test images): the MIA before and after.

>>> out = dp_sgd(model, train_split, config=DPConfig(epsilon=8.0), seed=0)
>>> out.result.metrics["epsilon"], out.result.metrics["noise_multiplier"]
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.errors import TrustmapError
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed, seeded_global_rng, torch_generator


@dataclass(frozen=True)
class DPConfig:
    """Privacy budget and training schedule; ``delta=None`` takes ``1 / (10 n)``."""

    epsilon: float = 8.0
    delta: float | None = None
    max_grad_norm: float = 1.0
    epochs: int = 5
    batch_size: int = 256
    lr: float = 0.5
    momentum: float = 0.9

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise TrustmapError(f"--epsilon must be a positive number, got {self.epsilon}")
        if self.delta is not None and not 0 < self.delta < 1:
            raise TrustmapError(f"delta must be in (0, 1), got {self.delta}")
        if not (self.max_grad_norm > 0 and self.epochs >= 1 and self.batch_size >= 1 and self.lr > 0):
            raise TrustmapError("DP-SGD needs max_grad_norm > 0, epochs >= 1, batch_size >= 1 and lr > 0")


def dp_sgd(
    model: nn.Module, train: Split, *, config: DPConfig = DPConfig(), seed: int = 0, progress: bool | None = None
) -> Defended:
    """Train a copy of ``model`` on ``train`` with DP-SGD at ``config.epsilon``; returns the private model.

    ``result.metrics`` holds the spent ``epsilon`` (from the accountant, at most the target), ``delta``,
    ``noise_multiplier``, ``max_grad_norm`` and ``sample_rate``.
    """
    from opacus import PrivacyEngine
    from opacus.validators import ModuleValidator

    n = len(train)
    if n < 2:
        raise TrustmapError("DP-SGD needs at least 2 training examples")
    delta = config.delta if config.delta is not None else 1.0 / (10 * n)
    start = time.perf_counter()
    with seeded_global_rng(derive_seed(seed, 71)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus warns about secure RNG and about its own internals
        net = ModuleValidator.fix(fresh_copy(model))
        x = torch.from_numpy(np.ascontiguousarray(train.x, dtype=np.float32))
        y = torch.from_numpy(np.asarray(train.y, dtype=np.int64))
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y),
            batch_size=min(config.batch_size, n),
            shuffle=True,
            generator=torch_generator(derive_seed(seed, 72)),
        )
        opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum)
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        net, opt, loader = engine.make_private_with_epsilon(
            module=net,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=config.epsilon,
            target_delta=delta,
            epochs=config.epochs,
            max_grad_norm=config.max_grad_norm,
            noise_generator=torch_generator(derive_seed(seed, 73)),
        )
        history = []
        with progress_bar("DP-SGD", total=config.epochs * len(loader), enabled=progress) as tick:
            for epoch in range(config.epochs):
                net.train()
                loss_sum, count = 0.0, 0
                for xb, yb in loader:
                    if len(yb) == 0:  # Poisson sampling can draw an empty batch
                        continue
                    opt.zero_grad(set_to_none=True)
                    loss = F.cross_entropy(net(xb), yb)
                    loss.backward()
                    opt.step()
                    loss_sum += float(loss) * len(yb)
                    count += len(yb)
                    tick(description=f"DP-SGD epoch {epoch + 1}/{config.epochs}")
                history.append(
                    {"epoch": epoch + 1, "loss": loss_sum / max(count, 1), "epsilon": float(engine.get_epsilon(delta))}
                )
        spent = float(engine.get_epsilon(delta))
        private = net._module.eval()  # unwrap Opacus' GradSampleModule
        for p in private.parameters():
            p.grad_sample = None
            p.requires_grad_(True)
    metrics = {
        "epsilon": spent,
        "target_epsilon": float(config.epsilon),
        "delta": float(delta),
        "noise_multiplier": float(opt.noise_multiplier),
        "max_grad_norm": float(config.max_grad_norm),
        "sample_rate": float(loader.sample_rate),
    }
    result = DefenceResult("dp-sgd", time.perf_counter() - start, 0, metrics, history)
    return Defended(_plain(private), result)


def _plain(module: nn.Module) -> nn.Module:
    """Drop the hooks and attributes Opacus left on the module, so that it exports and pickles cleanly."""
    for m in module.modules():
        for name in ("_forward_hooks", "_backward_hooks", "_forward_pre_hooks", "_backward_pre_hooks"):
            getattr(m, name).clear()
        for p in m.parameters(recurse=False):
            for attr in ("grad_sample", "_forward_counter", "summed_grad"):
                if hasattr(p, attr):
                    delattr(p, attr)
    return module


def loss_attack(model: nn.Module, members: Split, nonmembers: Split) -> dict[str, float]:
    """A loss-threshold membership attack (Yeom et al., arXiv 1709.01604) on ``model``: ``auc``,
    ``tpr_at_1fpr``, ``advantage``, and the model's accuracy on ``members`` and ``nonmembers``."""
    from trustmap.models import ModelHandle
    from trustmap.models.meta import ModelMeta
    from trustmap.probes.membership.metrics import membership_metrics

    handle = ModelHandle.from_module(model, ModelMeta())
    scores, accuracy = [], []
    for split in (members, nonmembers):
        logits = handle.predict(split.x).astype(np.float64)
        shifted = logits - logits.max(1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        scores.append(logp[np.arange(len(split.y)), split.y])
        accuracy.append(float((logits.argmax(1) == split.y).mean()))
    attack = membership_metrics(scores[0], scores[1])
    return {k: attack[k] for k in ("auc", "tpr_at_1fpr", "advantage")} | {
        "train_accuracy": accuracy[0],
        "test_accuracy": accuracy[1],
    }


MIA_EXAMPLES = 2000  # members and as many test images, for the before/after attack of ``harden``


@register_defence
class DPSGD(HardenDefence):
    id = "dp-sgd"
    summary = "DP-SGD on Opacus: (epsilon, delta)-private training, --epsilon (default 8)"
    paper = "Deep Learning with Differential Privacy, arXiv 1607.00133"
    options = ("epsilon",)
    headline = ("epsilon", "delta", "mia_auc_before", "mia_auc_after", "test_accuracy_before")

    def run(self, job: HardenJob) -> Defended:
        from trustmap.data import stratified_indices
        from trustmap.models import fit
        from trustmap.models.recipes import recipe

        config = DPConfig(epsilon=8.0 if job.epsilon is None else job.epsilon, epochs=job.epochs or DPConfig.epochs)
        private = dp_sgd(job.model, job.train, config=config, seed=job.seed)
        plain = fresh_copy(job.model)  # the same model trained without privacy: the "before"
        plain_recipe = recipe(job.dataset.kind, job.arch)
        if job.epochs is not None:
            plain_recipe = dataclasses.replace(plain_recipe, epochs=job.epochs)
        fit(plain, job.train, config=plain_recipe, seed=job.seed, description="non-private twin")
        n = min(MIA_EXAMPLES, len(job.train), len(job.dataset.test))
        members = job.train.subset(stratified_indices(job.train.y, n, seed=job.seed))
        nonmembers = job.dataset.test.subset(stratified_indices(job.dataset.test.y, n, seed=job.seed))
        before, after = loss_attack(plain.eval(), members, nonmembers), loss_attack(private.model, members, nonmembers)
        private.result.metrics |= {
            "mia_auc_before": before["auc"],
            "mia_auc_after": after["auc"],
            "mia_tpr_at_1fpr_before": before["tpr_at_1fpr"],
            "mia_tpr_at_1fpr_after": after["tpr_at_1fpr"],
            "test_accuracy_before": before["test_accuracy"],
        }
        metrics = private.result.metrics
        private.meta = {"epsilon": metrics["epsilon"], "delta": metrics["delta"]}
        return private
