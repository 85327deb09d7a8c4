"""Zeroth-order fine-tuning: ZO-SGD as in MeZO (arXiv 2305.17333) and the variants of ZO-Bench (arXiv 2402.11592).

One step of ZO-SGD, for trainable tensors ``theta`` and a step seed ``s``:

    z ~ N(0, I) from a generator seeded with s (one tensor at a time, never stored)
    theta += eps z;  L+ = L(theta);  theta -= 2 eps z;  L- = L(theta);  theta += eps z   (restore)
    g = (L+ - L-) / (2 eps) * z     (z regenerated from s)
    theta -= lr * update(g)

``rule`` picks the update: ``sgd`` (ZO-SGD), ``sign`` (ZO-SGD-Sign: ``lr * sign(g)``), ``momentum``
(ZO-SGD-MMT: ``m = mu m + g``), ``adam`` (ZO-Adam, bias-corrected). ``blocks`` makes it block-wise ZO:
step ``t`` perturbs and updates only block ``t mod len(blocks)``. ``sparsity`` makes it sparse ZO:
each step perturbs a random ``1 - sparsity`` fraction of the entries, the mask drawn from the same seed
(so nothing is stored). Only ``momentum`` and ``adam`` hold optimizer state.

Exact restore. In float32, ``theta + eps z - 2 eps z + eps z`` does not give ``theta`` back bit for bit
(rounding loses the low bits of small entries: the map ``theta -> fl(theta + eps z)`` is not injective).
We make every perturbation exact instead: each tensor lives on a fixed-point grid ``g = 2^k`` chosen so
that ``|theta| + eps * 8 < 2^24 g`` (24 significant bits, relative to the tensor's largest entry), the
perturbation is ``round(eps * clamp(z, -8, 8) / g) * g``, and every sum then is exactly representable.
Updates are stochastically rounded back onto the grid. The snap changes each weight by at most
``2^-24`` of its tensor's largest magnitude, far below float32 noise in a matmul.

>>> opt = ZOOptimizer([p for p in model.parameters() if p.requires_grad], lr=1e-3, rule="sgd", seed=0)
>>> with torch.no_grad():
...     loss = opt.step(lambda: F.cross_entropy(model(xb), yb))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from trustmap.utils.seed import torch_generator

RULES = ("sgd", "sign", "momentum", "adam")
Z_CLIP = 8.0


def grid_step(p: torch.Tensor, eps: float) -> float:
    """The power-of-two grid spacing for tensor ``p`` (24 significant bits above max|p| + eps * Z_CLIP)."""
    bound = float(p.detach().abs().max()) + eps * Z_CLIP if p.numel() else 1.0
    return 2.0 ** (math.floor(math.log2(bound)) + 1 - 24)


class ZOOptimizer:
    """Two-point zeroth-order optimizer with seeded in-place perturbation (see the module docstring)."""

    def __init__(
        self,
        params: Sequence[nn.Parameter],
        *,
        lr: float,
        eps: float = 1e-3,
        rule: str = "sgd",
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
        adam_eps: float = 1e-8,
        weight_decay: float = 0.0,
        blocks: Sequence[Sequence[int]] | None = None,
        sparsity: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("ZOOptimizer needs at least one trainable tensor")
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
        if eps <= 0 or lr <= 0:
            raise ValueError(f"lr and eps must be positive, got lr={lr}, eps={eps}")
        self.lr, self.eps, self.rule = lr, eps, rule
        self.momentum, self.betas, self.adam_eps, self.weight_decay = momentum, betas, adam_eps, weight_decay
        self.sparsity = sparsity
        self.blocks = [list(b) for b in blocks] if blocks else [list(range(len(self.params)))]
        if sorted(i for b in self.blocks for i in b) != list(range(len(self.params))):
            raise ValueError("blocks must partition the parameter indices 0..n-1")
        self._gen = torch_generator(seed)
        self.t = 0
        self.state: dict[int, dict[str, torch.Tensor]] = {}
        self._grid: dict[int, float] = {}
        with torch.no_grad():
            for i, p in enumerate(self.params):
                self._snap(i, p)

    # -- exact perturbation -------------------------------------------------------------------------------
    def _snap(self, i: int, p: torch.Tensor) -> None:
        g = grid_step(p, self.eps)
        self._grid[i] = g
        p.copy_(torch.round(p / g) * g)

    def _direction(self, p: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(p.shape, generator=gen, dtype=p.dtype).clamp_(-Z_CLIP, Z_CLIP)
        if self.sparsity > 0:
            z.mul_(torch.rand(p.shape, generator=gen) >= self.sparsity)
        return z

    def _delta(self, i: int, z: torch.Tensor) -> torch.Tensor:
        g = self._grid[i]
        return torch.round(z * (self.eps / g)) * g

    @torch.no_grad()
    def perturb_(self, seed: int, scale: int, block: Sequence[int] | None = None) -> None:
        """``theta += scale * eps * z(seed)`` exactly (``scale`` an integer: +1, -2, +1 restores)."""
        gen = torch_generator(seed)
        for i in block if block is not None else range(len(self.params)):
            self.params[i].add_(self._delta(i, self._direction(self.params[i], gen)), alpha=scale)

    def _step_seed(self) -> int:
        return int(torch.randint(0, 2**62, (1,), generator=self._gen))

    # -- one step -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> float:
        """Two forward passes of ``closure`` (the loss at the current weights), then the update; returns the
        mean of ``L+`` and ``L-``."""
        block = self.blocks[self.t % len(self.blocks)]
        seed = self._step_seed()
        self.perturb_(seed, +1, block)
        loss_plus = float(closure())
        self.perturb_(seed, -2, block)
        loss_minus = float(closure())
        self.perturb_(seed, +1, block)
        projected = (loss_plus - loss_minus) / (2 * self.eps)
        self.t += 1
        gen, round_gen = torch_generator(seed), torch_generator(seed + 1)
        for i in block:
            p = self.params[i]
            z = torch.round(self._direction(p, gen) * (self.eps / self._grid[i])) * self._grid[i] / self.eps
            grad = z.mul_(projected)
            if self.weight_decay:
                grad.add_(p, alpha=self.weight_decay)
            p.sub_(self._update(i, grad))
            g = grid_step(p, self.eps)  # stochastic rounding back onto the (possibly coarser) grid
            self._grid[i] = g
            p.copy_(torch.floor(p / g + torch.rand(p.shape, generator=round_gen)) * g)
        return 0.5 * (loss_plus + loss_minus)

    def _update(self, i: int, grad: torch.Tensor) -> torch.Tensor:
        if self.rule == "sgd":
            return grad.mul_(self.lr)
        if self.rule == "sign":
            return grad.sign_().mul_(self.lr)
        st = self.state.setdefault(i, {})
        if self.rule == "momentum":
            m = st.setdefault("momentum", torch.zeros_like(grad))
            m.mul_(self.momentum).add_(grad)
            return m * self.lr
        b1, b2 = self.betas
        m = st.setdefault("exp_avg", torch.zeros_like(grad))
        v = st.setdefault("exp_avg_sq", torch.zeros_like(grad))
        st["step"] = st.get("step", torch.zeros(())) + 1
        k = float(st["step"])
        m.mul_(b1).add_(grad, alpha=1 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        return (m / (1 - b1**k)) / ((v / (1 - b2**k)).sqrt_().add_(self.adam_eps)) * self.lr

    def state_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for st in self.state.values() for t in st.values())

    def zeroth_order_grad(self, closure: Callable[[], torch.Tensor], seed: int) -> list[torch.Tensor]:
        """The two-point estimate ``g`` for direction ``z(seed)`` without updating (for tests and analysis)."""
        with torch.no_grad():
            self.perturb_(seed, +1)
            lp = float(closure())
            self.perturb_(seed, -2)
            lm = float(closure())
            self.perturb_(seed, +1)
            proj = (lp - lm) / (2 * self.eps)
            gen = torch_generator(seed)
            return [self._delta(i, self._direction(p, gen)) / self.eps * proj for i, p in enumerate(self.params)]


__all__ = ["RULES", "ZOOptimizer", "grid_step"]
