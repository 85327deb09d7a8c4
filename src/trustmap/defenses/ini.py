"""InI: Isolation and Induction (Guo et al., "Isolation and Induction: Training Robust Deep Neural
Networks against Model Stealing Attacks", ACM MM 2023, arXiv 2308.00958).

A training-time defence against model stealing that adds nothing at inference: the victim ``V`` trains
jointly with a simulated clone ``S`` (same architecture). Every step the clone distils from ``V`` on
stealing-like (out-of-distribution) queries ``x_ood`` (``KL(V || S)``, as a KnockoffNets thief does),
then ``V`` minimises (after the official ``INI.train_V``)::

    CE(V(x_id), y)                                          benign accuracy
    + beta    * (-dist(V, S))            on x_id             push V's answers away from the clone's
    + gamma   * dist(V, S)  [or -H(V)]   on x_ood            uninformative answers to stealing queries
    + delta   * cos(grad_S KL(S||V), grad_S CE(S, y)) on x_id    isolation: distilling V moves S away
                                                                 from the true labels
    + epsilon * mean |grad_S KL(S||V)|   on x_ood            induction: stealing queries teach S little

``dist`` is the official ``l1`` distance between the clone's logits and V's centred log-probabilities
(:func:`logit_l1`); the two gradient terms differentiate through the clone's parameter gradient (double
backward), so ``V`` is trained on how its answers would move a thief. Defaults follow the authors' released
run configuration (``src/run.sh`` and ``yaml_all.py`` of github.com/sharinka0715/InI-Model-Stealing-Defense):
``beta = 0``, ``gamma = 0.3``, ``delta = 1``, ``epsilon = 1000`` (the induction term, a mean absolute
parameter gradient, is ~1e-4..1e-3, so a weight of 0.1 left it ~1e-6 of the loss), the clone a *fixed*
random network (``student_iter = 0``: never distilled), SGD lr 0.1, momentum 0.5, weight decay 1e-3 and the
global gradient norm clipped to 10, and the terms' gradients combined by PCGrad (:func:`pcgrad`; the
release's run.sh sets ``--ini_use_pcgrad``). Without PCGrad the isolation term's gradient is ~35x the
benign one's at initialisation and the victim never learns (a measured default run: benign accuracy 0.10).
*Ours:* the one-cycle schedule of :func:`~trustmap.models.train.fit` instead of StepLR; clipping also on
the PCGrad path (the release clips only without PCGrad); ``clone_steps > 0`` keeps the older variant that
distils the clone every step.

Defender's OOD set (:func:`defender_ood`) *(ours)*: pixel-permuted training images plus the
scikit-learn digits upsampled to 28×28. Shapes: ``x_id (B, C, H, W)``, ``y (B,)``, ``x_ood (B', C, H, W)``.

>>> out = ini(model, train_split, ood=defender_ood(train_split.x, seed=0), config=INIConfig(epochs=12), seed=0)
>>> out.model  # same architecture, same inference cost
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.defenses.base import DefenceResult, Defended, fresh_copy
from trustmap.defenses.registry import HardenDefence, HardenJob, register_defence
from trustmap.models.train import TrainConfig, fit
from trustmap.utils.seed import derive_seed, seeded_generator, seeded_global_rng

OOD_LOSSES = ("dist", "entropy")


@dataclass(frozen=True)
class INIConfig:
    beta: float = 0.0
    gamma: float = 0.3
    delta: float = 1.0
    epsilon: float = 1000.0
    ood_loss: str = "dist"  # dist | entropy
    epochs: int = 12
    lr: float = 0.1
    momentum: float = 0.5
    weight_decay: float = 1e-3
    batch_size: int = 128
    max_grad_norm: float = 10.0
    pcgrad: bool = True  # combine the terms' gradients with PCGrad (the released run.sh: --ini_use_pcgrad)
    clone_lr: float = 0.1
    clone_steps: int = 0  # 0: a fixed random clone (official); > 0: distil it this many steps per victim step

    def __post_init__(self) -> None:
        if self.ood_loss not in OOD_LOSSES:
            raise ValueError(f"ood_loss must be one of {OOD_LOSSES}, not {self.ood_loss!r}")
        if min(self.beta, self.gamma, self.delta, self.epsilon) < 0 or self.epochs < 1 or self.clone_steps < 0:
            raise ValueError("InI needs non-negative loss weights, epochs >= 1 and clone_steps >= 0")
        if self.max_grad_norm < 0:
            raise ValueError("InI's max_grad_norm must be >= 0 (0: no clipping)")

    def train_config(self) -> TrainConfig:
        """The victim's schedule; the undefended baseline trains with exactly this one."""
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer="sgd",
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            max_grad_norm=self.max_grad_norm,
        )


def logit_l1(victim_logits: torch.Tensor, clone_logits: torch.Tensor) -> torch.Tensor:
    """``dist(V, S)``: mean ``|S - (log softmax V - its mean)|`` (the official ``l1`` loss), a scalar."""
    v = F.log_softmax(victim_logits, dim=-1)
    return (clone_logits - (v - v.mean(dim=-1, keepdim=True))).abs().mean()


def kl(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(p) || softmax(q))`` averaged over the batch, a scalar."""
    log_p = F.log_softmax(p_logits, dim=-1)
    return (log_p.exp() * (log_p - F.log_softmax(q_logits, dim=-1))).sum(-1).mean()


def _flat_grad(loss: torch.Tensor, params: list[torch.Tensor], *, create_graph: bool) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, create_graph=create_graph, retain_graph=True)
    return torch.cat([g.flatten() for g in grads])


def ini_terms(
    victim: nn.Module,
    clone: nn.Module,
    x_id: torch.Tensor,
    y: torch.Tensor,
    x_ood: torch.Tensor,
    *,
    ood_loss: str = "dist",
) -> dict[str, torch.Tensor]:
    """The five victim loss terms (scalars, differentiable w.r.t. the victim's parameters).

    ``benign`` = CE; ``id`` = -dist on ``x_id``; ``ood`` = dist (or -entropy) on ``x_ood``; ``isolation``
    = cosine of the clone's distillation and true-label gradients; ``induction`` = mean absolute clone
    distillation gradient on ``x_ood``.
    """
    params = [p for p in clone.parameters() if p.requires_grad]
    v_id, v_ood = victim(x_id), victim(x_ood)
    s_id, s_ood = clone(x_id), clone(x_ood)
    if ood_loss == "entropy":
        log_p = F.log_softmax(v_ood, dim=-1)
        ood = (log_p.exp() * log_p).sum(-1).mean()  # = -H(V(x_ood))
    else:
        ood = logit_l1(v_ood, s_ood.detach())
    g_distil = _flat_grad(kl(s_id, v_id), params, create_graph=True)
    g_true = _flat_grad(F.cross_entropy(s_id, y), params, create_graph=False).detach()
    g_ood = _flat_grad(kl(s_ood, v_ood), params, create_graph=True)
    return {
        "benign": F.cross_entropy(v_id, y),
        "id": -logit_l1(v_id, s_id.detach()),
        "ood": ood,
        "isolation": F.cosine_similarity(g_distil, g_true, dim=0),
        "induction": g_ood.abs().mean(),
    }


def pcgrad(
    losses: list[torch.Tensor], params: list[torch.Tensor], *, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """PCGrad (Yu et al., arXiv 2001.06782), as the released InI run uses: each loss's gradient loses its
    component along every other loss's gradient that it conflicts with (negative dot product, others in a
    random order); the projected gradients are summed. One gradient per parameter, detached."""
    flats = []
    for loss in losses:
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        flats.append(
            torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])
        )
    projected = []
    for i, g in enumerate(flats):
        g = g.clone()
        for j in torch.randperm(len(flats), generator=generator).tolist():
            dot = torch.dot(g, flats[j])
            if j != i and dot < 0:
                g -= dot / (flats[j].norm() ** 2 + 1e-20) * flats[j]
        projected.append(g)
    total = torch.stack(projected).sum(0)
    out, start = [], 0
    for p in params:
        out.append(total[start : start + p.numel()].view_as(p))
        start += p.numel()
    return out


def defender_ood(train_x: np.ndarray, *, n_permuted: int = 2000, digits: bool = True, seed: int = 0) -> np.ndarray:
    """The defender's OOD queries ``(M, 1, 28, 28)``: pixel-permuted training images (+ upsampled sklearn digits)."""
    rng = np.random.default_rng([seed, 0x6F6F64])
    pick = train_x[rng.choice(len(train_x), size=min(n_permuted, len(train_x)), replace=False)]
    flat = pick.reshape(len(pick), -1)
    permuted = np.take_along_axis(flat, rng.permuted(np.tile(np.arange(flat.shape[1]), (len(flat), 1)), axis=1), 1)
    parts = [permuted.reshape(pick.shape).astype(np.float32)]
    if digits:
        from trustmap.data import load_dataset

        d = load_dataset("digits")
        x = torch.from_numpy(np.concatenate([d.train.x, d.test.x]))
        up = F.interpolate(x, size=tuple(train_x.shape[2:]), mode="bilinear", align_corners=False).clamp(0, 1)
        parts.append(up.numpy().astype(np.float32))
    return np.ascontiguousarray(np.concatenate(parts))


def ini(
    model: nn.Module,
    data: Split,
    *,
    ood: np.ndarray,
    config: INIConfig = INIConfig(),
    seed: int = 0,
    progress: bool | None = None,
) -> Defended:
    """Train a copy of ``model`` with InI on ``data``, the defender's ``ood`` inputs and a simulated clone.

    The clone has the victim's architecture with its own seeded initialisation; with ``clone_steps = 0``
    (the default) it stays fixed. ``result.metrics`` holds each term's mean (``mean_<term>``) and its
    weighted share of the total loss (``share_<term>``).
    """
    if len(ood) == 0:
        raise ValueError("InI needs out-of-distribution inputs for the defender (ood is empty)")
    victim = fresh_copy(model)
    clone = copy.deepcopy(model)
    # the clone's own initial weights, from the seed
    with seeded_global_rng(derive_seed(seed, 0x636C6E) & 0x7FFFFFFF):
        for layer in clone.modules():
            if hasattr(layer, "reset_parameters") and layer is not clone:
                layer.reset_parameters()
    clone_opt = torch.optim.SGD(clone.parameters(), lr=config.clone_lr, momentum=0.5)
    ood_t = torch.from_numpy(np.ascontiguousarray(ood, dtype=np.float32))
    gen = seeded_generator(seed, 0x696E69)
    sums: dict[str, float] = {}
    count = [0]
    weights = {
        "benign": 1.0,
        "id": config.beta,
        "ood": config.gamma,
        "isolation": config.delta,
        "induction": config.epsilon,
    }

    def ood_batch() -> torch.Tensor:
        return ood_t[torch.randint(len(ood_t), (config.batch_size,), generator=gen)]

    def loss(v: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        clone.train()
        # the simulated thief distils from V on stealing-like queries
        for _ in range(config.clone_steps):
            xq = ood_batch()
            with torch.no_grad():
                target = v(xq)
            clone_opt.zero_grad(set_to_none=True)
            kl(target, clone(xq)).backward()
            clone_opt.step()
        clone.zero_grad(set_to_none=True)
        clone.eval()  # as the official train_V: the clone's gradients are taken in eval mode
        terms = ini_terms(v, clone, xb, yb, ood_batch(), ood_loss=config.ood_loss)
        for k, t in terms.items():
            sums[k] = sums.get(k, 0.0) + float(t.detach())
        count[0] += 1
        weighted = {k: weights[k] * t for k, t in terms.items()}
        for k, t in weighted.items():
            sums[f"abs_{k}"] = sums.get(f"abs_{k}", 0.0) + abs(float(t.detach()))
        total = sum(weighted.values())
        if not config.pcgrad:
            return total
        params = [p for p in v.parameters() if p.requires_grad]
        active = [t for k, t in weighted.items() if weights[k] != 0]
        combined = pcgrad(active, params, generator=gen)
        # a scalar whose value is the total loss and whose gradient is the PCGrad combination
        surrogate = sum((p * g).sum() for p, g in zip(params, combined))
        return surrogate - surrogate.detach() + total.detach()

    start = time.perf_counter()
    fit(
        victim,
        data,
        config=config.train_config(),
        seed=seed,
        loss_fn=loss,
        progress=progress,
        description="ini",
    )
    for p in clone.parameters():
        p.grad = None
    n = max(count[0], 1)
    metrics = {f"mean_{k}": sums[k] / n for k in weights}
    total = sum(sums[f"abs_{k}"] for k in weights) or 1.0
    metrics.update({f"share_{k}": sums[f"abs_{k}"] / total for k in weights})
    return Defended(victim.eval(), DefenceResult("ini", time.perf_counter() - start, 0, metrics))


@register_defence
class InI(HardenDefence):
    id = "ini"
    summary = "anti-stealing training against a simulated clone (no inference cost)"
    paper = (
        "Isolation and Induction: Training Robust Deep Neural Networks against Model Stealing Attacks, arXiv 2308.00958"
    )

    def run(self, job: HardenJob) -> Defended:
        ood = defender_ood(job.train.x, digits=job.dataset.input_shape[0] == 1, seed=job.seed)
        return ini(job.model, job.train, ood=ood, config=INIConfig(epochs=job.epochs or 12), seed=job.seed)
