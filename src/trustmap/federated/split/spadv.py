"""SPADV / SLADV: adversarial attack by a split-learning server.

Paper: On the Robustness of Split Learning against Adversarial Attacks (arXiv 2307.07916, ECAI 2023); no
code for it was found.

Threat model: the server holds only the middle layers ``mid``; clients keep ``head`` and ``tail``.
Stage 1 (shadow training): the server wraps the frozen ``mid`` with a shadow head and tail trained on a
few *unlabelled*, non-IID samples. The paper's objective is not public; the stand-in *(ours)* is
DeepCluster (5 alternations of k-means (k=10) on ``mid(shadow_head(x))`` then cross-entropy on the
cluster labels) plus an alignment term that ties the shadow head to the real one: the server sees the
clients' smashed data (the real head's outputs) in every training step, so the shadow head's per-channel
output mean and standard deviation are pulled to those observed statistics (weight ``align``, ours: 1).
Stage 2 (local attack), ``objective="feature"`` (default): tail-free feature disruption, PGD-20 on the
input (``‖x′ − x‖∞ ≤ ε``) that maximises ``‖mid(shadow_head(x′)) − mid(shadow_head(x))‖²``, so the
attack needs no tail and no labels. ``objective="tail"`` (the earlier stand-in, for ablation): PGD on the
intermediate output ``z`` against the shadow tail's own prediction (``‖δz‖∞ ≤ z_eps·mean|z|``), then
PGD-20 on the input to reach it. ``x′`` is sent to the real model.

Shapes: CNN-S on ``(N, 1, H, W)``; head → ``(N, 16, H/2, W/2)``; mid → ``(N, 128)``; tail → ``(N, 10)``.

>>> split = split_cnn_s(model)
>>> stats = smashed_statistics(split.head, x_clients)          # what the server observes in training
>>> shadow = shadow_train(split.mid, x_unlabelled, smashed=stats, seed=0)
>>> x_adv = spadv_attack(split.mid, shadow, x, eps=0.1, generator=gen)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.utils.seed import seeded_global_rng


@dataclass
class SplitModel:
    head: nn.Module
    mid: nn.Module
    tail: nn.Module

    def full(self) -> nn.Module:
        return nn.Sequential(self.head, self.mid, self.tail).eval()


def split_cnn_s(model: nn.Sequential) -> SplitModel:
    """CNN-S → head = conv1 block, mid = conv2 block + FC1 (+ReLU), tail = FC2 (our split of CNN-S)."""
    layers = list(model.children())
    if len(layers) != 10:
        raise ValueError("split_cnn_s expects the 10-module CNN-S of trustmap.models ('cnn-s')")
    return SplitModel(nn.Sequential(*layers[:3]), nn.Sequential(*layers[3:9]), nn.Sequential(layers[9]))


@dataclass
class Shadow:
    head: nn.Module
    tail: nn.Module


def _kmeans_labels(z: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(z.detach().numpy())
    return torch.as_tensor(labels, dtype=torch.long)


def shadow_train(
    mid: nn.Module,
    x: torch.Tensor,
    *,
    k: int = 10,
    alternations: int = 5,
    steps: int = 100,
    lr: float = 1e-3,
    smashed: tuple[torch.Tensor, torch.Tensor] | None = None,
    align: float = 1.0,
    seed: int = 0,
) -> Shadow:
    """Stage 1: DeepCluster-style shadow head and tail around the frozen server ``mid`` (no labels), with the
    shadow head's output statistics aligned to the observed ``smashed`` ``(mean, std)`` per channel when
    given; initial weights and the tail's re-initialisations come from ``seed``."""
    with seeded_global_rng(seed):
        return _shadow_train(
            mid, x, k=k, alternations=alternations, steps=steps, lr=lr, smashed=smashed, align=align, seed=seed
        )


@torch.no_grad()
def smashed_statistics(head: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of the smashed data ``head(x)`` ``(N, C, H, W)`` → two ``(C,)``
    tensors: what a split-learning server sees of the clients' inputs."""
    h = head.eval()(x)
    return h.mean((0, 2, 3)), h.std((0, 2, 3))


def _alignment(h: torch.Tensor, smashed: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    mean, std = smashed
    return F.mse_loss(h.mean((0, 2, 3)), mean) + F.mse_loss(h.std((0, 2, 3)), std)


def _shadow_train(
    mid: nn.Module,
    x: torch.Tensor,
    *,
    k: int,
    alternations: int,
    steps: int,
    lr: float,
    smashed: tuple[torch.Tensor, torch.Tensor] | None,
    align: float,
    seed: int,
) -> Shadow:
    c = x.shape[1]
    first = next(m for m in mid.modules() if isinstance(m, nn.Conv2d))
    head = nn.Sequential(nn.Conv2d(c, first.in_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    last = [m for m in mid.modules() if isinstance(m, nn.Linear)][-1]
    tail = nn.Linear(last.out_features, k)
    mid = copy.deepcopy(mid).eval()
    for p in mid.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([*head.parameters(), *tail.parameters()], lr=lr)
    for a in range(alternations):
        with torch.no_grad():
            labels = _kmeans_labels(mid(head(x)), k, seed + a)
        tail.reset_parameters()  # cluster ids are permuted between alternations (DeepCluster)
        opt = torch.optim.Adam([*head.parameters(), *tail.parameters()], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            h = head(x)
            loss = F.cross_entropy(tail(mid(h)), labels)
            if smashed is not None:
                loss = loss + align * _alignment(h, smashed)
            loss.backward()
            opt.step()
    return Shadow(head.eval(), tail.eval())


def spadv_attack(
    mid: nn.Module,
    shadow: Shadow,
    x: torch.Tensor,
    *,
    eps: float,
    objective: str = "feature",
    z_eps: float = 1.0,
    z_steps: int = 20,
    steps: int = 20,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Stage 2: ``feature`` maximises the server-side feature shift ``‖mid(head(x′)) − mid(head(x))‖²``
    (tail-free); ``tail`` perturbs the intermediate output against the shadow tail, then finds ``x′`` in the
    ε-ball that produces it."""
    if objective not in ("feature", "tail"):
        raise ValueError(f"objective must be 'feature' or 'tail', got {objective!r}")
    mid = mid.eval()
    with torch.no_grad():
        z = mid(shadow.head(x))
    delta = (torch.rand(x.shape, generator=generator) * 2 - 1) * eps
    xa = (x + delta).clamp(0, 1).requires_grad_(True)
    if objective == "feature":
        for _ in range(steps):
            loss = ((mid(shadow.head(xa)) - z) ** 2).sum()
            (g,) = torch.autograd.grad(loss, xa)
            _pgd_step(xa, x, g, eps=eps, steps=steps)
        return xa.detach()
    target = _disrupted_target(shadow, z, z_eps=z_eps, z_steps=z_steps)
    for _ in range(steps):
        loss = ((mid(shadow.head(xa)) - target) ** 2).sum()
        (g,) = torch.autograd.grad(loss, xa)
        _pgd_step(xa, x, -g, eps=eps, steps=steps)
    return xa.detach()


@torch.no_grad()
def _pgd_step(xa: torch.Tensor, x: torch.Tensor, g: torch.Tensor, *, eps: float, steps: int) -> None:
    """One signed ascent step on ``g``, projected to the ε-ball around ``x`` and to [0, 1] (in place)."""
    xa += 2.5 * eps / steps * g.sign()
    xa.copy_(torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1))


def _disrupted_target(shadow: Shadow, z: torch.Tensor, *, z_eps: float, z_steps: int) -> torch.Tensor:
    pred = shadow.tail(z).argmax(1)
    bound = z_eps * z.abs().mean(1, keepdim=True)
    dz = torch.zeros_like(z, requires_grad=True)
    for _ in range(z_steps):
        loss = F.cross_entropy(shadow.tail((z + dz).clamp_min(0)), pred)
        (g,) = torch.autograd.grad(loss, dz)
        with torch.no_grad():
            dz += 2.5 * bound / z_steps * g.sign()
            dz.copy_(torch.max(torch.min(dz, bound), -bound))
    return (z + dz.detach()).clamp_min(0)


def uniform_noise(x: torch.Tensor, *, eps: float, generator: torch.Generator | None = None) -> torch.Tensor:
    return (x + (torch.rand(x.shape, generator=generator) * 2 - 1) * eps).clamp(0, 1)


def pseudo_label_surrogate(
    x: torch.Tensor, *, build: Callable[[], nn.Module], k: int = 10, epochs: int = 100, seed: int = 0
) -> nn.Module:
    """Independent surrogate: k-means pseudo-labels on the pixels, then a fresh model trained on them."""
    labels = _kmeans_labels(x.flatten(1), k, seed)
    with seeded_global_rng(seed + 1):  # initial weights (and any dropout) from the seed
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), labels).backward()
            opt.step()
    return model.eval()


def attack_success(model: nn.Module, x_adv: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x_adv).argmax(1) != y).float().mean())


__all__ = [
    "SplitModel",
    "Shadow",
    "split_cnn_s",
    "shadow_train",
    "smashed_statistics",
    "spadv_attack",
    "uniform_noise",
    "pseudo_label_surrogate",
    "attack_success",
]
