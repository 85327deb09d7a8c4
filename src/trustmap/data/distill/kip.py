"""Kernel Inducing Points (KIP) with the closed-form NTK of a one-hidden-layer ReLU network.

KIP (Nguyen, Chen & Lee, "Dataset Meta-Learning from Kernel Ridge-Regression", arXiv 2011.00050) learns a
small support set ``(x_s, y_s)`` so that kernel ridge regression (KRR) fitted on it predicts the labels of
target batches drawn from the full training set::

    loss(x_s) = mean((K_ts (K_ss + r tr(K_ss)/n I)^-1 y_s - y_t)^2)

with labels one-hot and fixed, Adam on the support images, and images clipped to ``[0, 1]`` after each step.
This is the distillation the kernel backdoor paper attacks (Chung et al., "Rethinking Backdoor Attacks on
Dataset Distillation: A Kernel Method Perspective", arXiv 2311.16646; see
:mod:`trustmap.attacks.kip_backdoor`); the defaults follow its released notebook (Adam lr 0.01, ridge
``1e-6 tr(K)/n``, class-balanced support and target batches, ``W_std = sqrt 2``, ``b_std = 0.1``).

The kernel is the infinite-width NTK of ``f(x) = (s_w/sqrt n) w2 . relu((s_w/sqrt d) W1 x + s_b b1) + s_b b2``
in the NTK parameterisation (standard-normal weights), computed in closed form (arc-cosine kernel)::

    K0 = s_w^2 x.x'/d + s_b^2,  theta = arccos(K0(x,x') / sqrt(K0(x,x) K0(x',x')))
    Sigma1 = s_w^2 sqrt(K0(x,x) K0(x',x')) (sin theta + (pi - theta) cos theta) / (2 pi) + s_b^2
    NTK = Sigma1 + s_w^2 K0 (pi - theta) / (2 pi)

Shapes: images ``(N, C, H, W)`` (or already flat ``(N, d)``) in ``[0, 1]``; labels ``(N,)`` ints; the kernel
of ``(n1, d)`` and ``(n2, d)`` is ``(n1, n2)``. Computation is in float64 (the paper's code enables x64).

>>> out = kip_distill(train.x, train.y, num_classes=10, config=KIPConfig(steps=1000), seed=0)
>>> krr_accuracy(out.x, out.y, test.x, test.y, num_classes=10)   # KRR on the 100 distilled images
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from trustmap.errors import DataError, TrustmapError
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import derive_seed

W_STD = math.sqrt(2.0)
B_STD = 0.1
_EPS = 1e-9


def _flat(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x)
    if t.ndim < 2:
        raise DataError(f"kernel inputs need a batch dimension: (N, d) or (N, C, H, W), got shape {tuple(t.shape)}")
    return t.reshape(len(t), -1).to(torch.float64)


def relu_ntk(
    x1: np.ndarray | torch.Tensor, x2: np.ndarray | torch.Tensor, *, w_std: float = W_STD, b_std: float = B_STD
) -> torch.Tensor:
    """The closed-form NTK ``(n1, n2)`` (float64) of a one-hidden-layer ReLU net between ``x1`` and ``x2``.

    Differentiable in both inputs (the angle is clamped just inside ``[-1, 1]``, so identical points get a
    zero gradient through the angle rather than an infinite one).
    """
    a, b = _flat(x1), _flat(x2)
    if a.shape[1] != b.shape[1]:
        raise DataError(f"kernel inputs must have the same dimension, got {a.shape[1]} and {b.shape[1]}")
    scale = w_std / math.sqrt(a.shape[1])
    a, b = a * scale, b * scale
    b2 = b_std**2
    return _ntk(a @ b.T + b2, (a * a).sum(1) + b2, (b * b).sum(1) + b2, w_std=w_std, b_std=b_std)


def _ntk(k12: torch.Tensor, k11: torch.Tensor, k22: torch.Tensor, *, w_std: float, b_std: float) -> torch.Tensor:
    """The NTK from the first-layer kernel ``K0`` between the points ``(n1, n2)`` and on each side (``(n1,)``,
    ``(n2,)``): ``s_w^2/(2 pi) (sqrt(K0 K0') (sin t + (pi - t) cos t) + K0 (pi - t)) + s_b^2``."""
    norm = k11.sqrt()[:, None] * k22.sqrt()[None, :]
    cos = torch.clamp(k12 / norm, -1.0 + _EPS, 1.0 - _EPS)
    rest = math.pi - torch.arccos(cos)
    mix = norm * (torch.sqrt(1.0 - cos * cos) + rest * cos) + k12 * rest
    return w_std**2 / (2 * math.pi) * mix + b_std**2


def one_hot(y: np.ndarray | torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot float64 labels ``(N, num_classes)`` (not centred, as in the paper's code)."""
    t = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    return torch.nn.functional.one_hot(t, num_classes).to(torch.float64)


def _ridge(k_ss: torch.Tensor, ridge: float) -> torch.Tensor:
    n = k_ss.shape[0]
    return k_ss + ridge * torch.trace(k_ss) / n * torch.eye(n, dtype=k_ss.dtype)


def krr_predict(
    x_s: np.ndarray | torch.Tensor,
    y_s: torch.Tensor,
    x: np.ndarray | torch.Tensor,
    *,
    ridge: float = 1e-6,
    w_std: float = W_STD,
    b_std: float = B_STD,
    batch_size: int = 2048,
) -> torch.Tensor:
    """KRR predictions ``(N, classes)`` for ``x`` from the support ``x_s (n, ...)`` with targets ``y_s (n, classes)``
    and ridge ``ridge * tr(K_ss) / n``."""
    k_ss = relu_ntk(x_s, x_s, w_std=w_std, b_std=b_std)
    alpha = torch.linalg.solve(_ridge(k_ss, ridge), y_s.to(torch.float64))
    xf = _flat(x)
    return torch.cat(
        [relu_ntk(xf[i : i + batch_size], x_s, w_std=w_std, b_std=b_std) @ alpha for i in range(0, len(xf), batch_size)]
    )


@torch.no_grad()
def krr_accuracy(
    x_s: np.ndarray | torch.Tensor,
    y_s: np.ndarray | torch.Tensor,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray,
    *,
    num_classes: int,
    ridge: float = 1e-6,
) -> float:
    """Accuracy of KRR on the support ``(x_s, y_s)`` (integer labels or one-hot) over ``(x, y)``."""
    ys = torch.as_tensor(np.asarray(y_s)) if not isinstance(y_s, torch.Tensor) else y_s
    targets = one_hot(ys, num_classes) if ys.ndim == 1 else ys
    pred = krr_predict(x_s, targets, x, ridge=ridge).argmax(1).numpy()
    return float((pred == np.asarray(y)).mean())


def kip_loss(
    x_s: torch.Tensor, y_s: torch.Tensor, x_t: torch.Tensor, y_t: torch.Tensor, *, ridge: float = 1e-6
) -> torch.Tensor:
    """The KIP objective: mean squared error of KRR on the support ``(x_s, y_s)`` over the target batch."""
    k_ss = relu_ntk(x_s, x_s)
    k_ts = relu_ntk(x_t, x_s)
    pred = k_ts @ torch.linalg.solve(_ridge(k_ss, ridge), y_s)
    return ((pred - y_t) ** 2).mean()


def _kip_step_loss(
    support: torch.Tensor,
    y_s: torch.Tensor,
    t_scaled: torch.Tensor,
    t_k0: torch.Tensor,
    y_t: torch.Tensor,
    ridge: float,
) -> torch.Tensor:
    """:func:`kip_loss` with the target side precomputed: ``t_scaled = x_t s_w / sqrt d``, ``t_k0 = |.|^2 + s_b^2``."""
    a = support * (W_STD / math.sqrt(support.shape[1]))
    b2 = B_STD**2
    ka = (a * a).sum(1) + b2
    k_ss = _ntk(a @ a.T + b2, ka, ka, w_std=W_STD, b_std=B_STD)
    k_ts = _ntk(t_scaled @ a.T + b2, t_k0, ka, w_std=W_STD, b_std=B_STD)
    pred = k_ts @ torch.linalg.solve(_ridge(k_ss, ridge), y_s)
    return ((pred - y_t) ** 2).mean()


def balanced_indices(y: np.ndarray, per_class: int, *, rng: np.random.Generator, num_classes: int) -> np.ndarray:
    """``per_class`` indices of each class of ``y`` drawn without replacement (classes in order)."""
    out = []
    for c in range(num_classes):
        pool = np.flatnonzero(y == c)
        if len(pool) < per_class:
            raise DataError(f"class {c} has {len(pool)} examples; a balanced draw needs {per_class} per class")
        out.append(rng.choice(pool, size=per_class, replace=False))
    return np.concatenate(out)


class Adam:
    """Adam (Kingma & Ba; betas 0.9, 0.999, eps 1e-8, as in JAX's ``optimizers.adam`` the paper used) on one
    tensor, in place. Kept here rather than ``torch.optim.Adam`` to avoid its heavy first import."""

    def __init__(self, param: torch.Tensor, *, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.param, self.lr, self.betas, self.t = param, lr, betas, 0
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)

    @torch.no_grad()
    def step(self) -> None:
        g = self.param.grad
        if g is None:
            return
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (self.v / (1 - b2**self.t)).sqrt_().add_(1e-8)
        self.param.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.t))
        self.param.grad = None


@dataclass(frozen=True)
class KIPConfig:
    """KIP options. ``steps`` Adam steps at ``lr`` on ``support_per_class`` images per class (labels fixed),
    target batches of ``target_batch`` examples (class-balanced over the training labels when ``balanced``,
    as in the paper's code), ridge ``ridge * tr(K)/n``."""

    steps: int = 1000
    lr: float = 0.01
    support_per_class: int = 10
    target_batch: int = 1000
    ridge: float = 1e-6
    balanced: bool = True

    def __post_init__(self) -> None:
        if self.steps < 0 or self.support_per_class < 1 or self.target_batch < 1:
            raise TrustmapError("KIP needs steps >= 0, support_per_class >= 1 and target_batch >= 1")
        if not (self.lr > 0 and self.ridge > 0):
            raise TrustmapError(f"KIP needs lr > 0 and ridge > 0, got lr={self.lr}, ridge={self.ridge}")


@dataclass
class KIPResult:
    """The distilled support: images ``x (n, C, H, W)`` float32 in [0, 1], labels ``y (n,)``, the initial
    support ``init_x`` (a class-balanced sample), the training set indices it came from, and the loss per step."""

    x: np.ndarray
    y: np.ndarray
    init_x: np.ndarray
    init_indices: np.ndarray
    losses: list[float] = field(default_factory=list)


def kip_distill(
    x: np.ndarray,
    y: np.ndarray,
    *,
    num_classes: int,
    config: KIPConfig | None = None,
    seed: int = 0,
    init_x: np.ndarray | None = None,
    init_y: np.ndarray | None = None,
    progress: bool | None = False,
) -> KIPResult:
    """Distil ``(x, y)`` (images ``(N, C, H, W)`` in [0, 1]) into a support set with KIP.

    The support starts from ``init_x, init_y`` when given (the paper initialises every run, poisoned or not,
    from the clean training set), else from a class-balanced sample of ``(x, y)`` drawn with ``seed``.
    Target batches are drawn with ``seed`` too, so runs with the same seed share their batch indices.
    """
    cfg = config or KIPConfig()
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or x.ndim < 2:
        raise DataError(f"KIP needs images (N, ...) and labels (N,), got {x.shape} and {y.shape}")
    if not np.isfinite(x).all():
        raise DataError("KIP inputs contain NaN or infinite values; clean the data first")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"labels must be class indices in 0..{num_classes - 1}")
    rng = np.random.default_rng(derive_seed(seed, 0x419))
    if init_x is None:
        idx = balanced_indices(y, cfg.support_per_class, rng=rng, num_classes=num_classes)
        init_x, init_y = x[idx], y[idx]
    else:
        idx = np.arange(len(init_x))
        if init_y is None or len(init_y) != len(init_x) or init_x.shape[1:] != x.shape[1:]:
            raise DataError("init_x and init_y must be given together, with the training images' shape")
    support = _flat(init_x).clone().requires_grad_(True)
    y_s = one_hot(init_y, num_classes)
    xf = _flat(x) * (W_STD / math.sqrt(support.shape[1]))
    k0 = (xf * xf).sum(1) + B_STD**2
    opt = Adam(support, lr=cfg.lr)
    per_class = max(1, cfg.target_batch // num_classes)
    counts = np.bincount(y, minlength=num_classes)
    balanced = cfg.balanced and counts.min() >= per_class
    losses = []
    batch_rng = np.random.default_rng(derive_seed(seed, 0x41A))
    with progress_bar("KIP", total=cfg.steps, enabled=progress) as tick:
        for _ in range(cfg.steps):
            if balanced:
                b = balanced_indices(y, per_class, rng=batch_rng, num_classes=num_classes)
            else:
                b = batch_rng.choice(len(y), size=min(cfg.target_batch, len(y)), replace=False)
            loss = _kip_step_loss(support, y_s, xf[b], k0[b], one_hot(y[b], num_classes), cfg.ridge)
            loss.backward()
            opt.step()
            with torch.no_grad():
                support.clamp_(0.0, 1.0)
            losses.append(float(loss.detach()))
            tick()
    out = support.detach().to(torch.float32).numpy().reshape(init_x.shape)
    return KIPResult(out, np.asarray(init_y).copy(), np.asarray(init_x, np.float32).copy(), idx, losses)
