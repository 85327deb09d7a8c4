"""DEFT: a density loss on MLP activations, added to any PEFT method (arXiv 2402.01911).

DEFT hooks the output ``a`` of each transformer MLP's activation function (BERT: ``intermediate_act_fn``,
``a (B, L, 4d)``) and adds to the task loss ``lambda * mean_over_layers(mean(a^2 / (a^2 + eps)))``, a
smooth surrogate of the L0 norm (the official code's ``compute_l0_penalty``: ``eps = 1e-7``,
``lambda = 1``). The base model stays frozen; any PEFT parameters (LoRA, prefixes) and the head train.

Density. The official code counts ``count_nonzero / size``, which suits ReLU models. MiniLM uses GELU,
which almost never outputs an exact zero, so :class:`DensityMonitor` reports the paper's
``count_nonzero`` density (``nonzero``) next to the fraction of ``|a| > 1e-3`` (``density``) and the
fraction of positive pre-activations (``positive``), over real (non-pad) tokens when a token mask is
given, else over all positions.

>>> monitor = DensityMonitor(model)                  # hooks every BERT intermediate_act_fn
>>> loss = F.cross_entropy(model(x), y) + deft_penalty(monitor)
>>> monitor.measure(lambda: model(x_test))           # {"density": ..., "positive": ...}
>>> monitor.remove()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

EPS = 1e-7
DENSITY_THRESHOLD = 1e-3


def activation_modules(model: nn.Module, *, names: Sequence[str] = ("intermediate_act_fn",)) -> list[str]:
    """Qualified names of the MLP activation modules: those whose name ends with one of ``names``."""
    found = [n for n, m in model.named_modules() if n.rpartition(".")[2] in names]
    if not found:
        raise ValueError(
            f"no MLP activation module named {list(names)} in {type(model).__name__}; "
            "pass names=... (e.g. ('act',) or ('activation_fn',))"
        )
    return found


@dataclass
class Density:
    density: float  # fraction of |a| > threshold, averaged over layers
    positive: float  # fraction of pre-activations > 0, averaged over layers
    per_layer: list[float]
    nonzero: float = 1.0  # fraction of a != 0 (the paper's count_nonzero density), averaged over layers


class DensityMonitor:
    """Forward hooks on the MLP activations: keeps each layer's output for the loss and density counters."""

    def __init__(
        self, model: nn.Module, *, names: Sequence[str] = ("intermediate_act_fn",), threshold: float = DENSITY_THRESHOLD
    ) -> None:
        self.module_names = activation_modules(model, names=names)
        self.threshold = threshold
        self.outputs: list[torch.Tensor] = []
        self.token_mask: torch.Tensor | None = None  # (B, L) bool, set by the caller to ignore padding
        self._counting = False
        self._counts: list[list[float]] = []  # per layer: [dense, positive, total, nonzero]
        self._handles = [
            model.get_submodule(n).register_forward_hook(self._hook_for(i)) for i, n in enumerate(self.module_names)
        ]

    def _hook_for(self, layer: int) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            self._record(layer, inputs, output)

        return hook

    def _record(self, layer: int, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if not self._counting:
            if torch.is_grad_enabled():  # training forward: keep the activations for the loss
                self.outputs.append(output)
            return
        pre = inputs[0].detach()
        out = output.detach()
        m = self._mask_for(out)
        c = self._counts[layer]
        c[0] += float(((out.abs() > self.threshold) & m).sum())
        c[1] += float(((pre > 0) & m).sum())
        c[2] += float(m.expand_as(out).sum())
        c[3] += float(((out != 0) & m).sum())

    def _mask_for(self, out: torch.Tensor) -> torch.Tensor:
        if self.token_mask is None or self.token_mask.shape != out.shape[:2]:
            return torch.ones(1, dtype=torch.bool).view(*([1] * out.ndim))
        return self.token_mask.bool().unsqueeze(-1)

    def clear(self) -> None:
        self.outputs = []

    def penalty(self, eps: float = EPS) -> torch.Tensor:
        """``mean over layers of mean(a^2 / (a^2 + eps))`` over the outputs captured since :meth:`clear`."""
        if not self.outputs:
            raise RuntimeError("no activations captured: run a forward pass after clear()")
        terms = [(a * a / (a * a + eps)).mean() for a in self.outputs]
        return torch.stack(terms).mean()

    @torch.no_grad()
    def measure(self, run_batches: Callable[[], None]) -> Density:
        """Run ``run_batches()`` (forward passes; set ``token_mask`` inside it) and return the density."""
        self._counting, self._counts, self.outputs = True, [[0.0, 0.0, 0.0, 0.0] for _ in self.module_names], []
        try:
            run_batches()
        finally:
            self._counting = False
            self.outputs = []
        per_layer = [c[0] / max(c[2], 1.0) for c in self._counts]
        positive = [c[1] / max(c[2], 1.0) for c in self._counts]
        nonzero = [c[3] / max(c[2], 1.0) for c in self._counts]
        return Density(
            density=sum(per_layer) / max(len(per_layer), 1),
            positive=sum(positive) / max(len(positive), 1),
            per_layer=per_layer,
            nonzero=sum(nonzero) / max(len(nonzero), 1),
        )

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def deft_penalty(monitor: DensityMonitor, *, weight: float = 1.0, eps: float = EPS) -> torch.Tensor:
    """``weight`` times the density surrogate of the latest forward pass; clears the captured outputs."""
    value = monitor.penalty(eps) * weight
    monitor.clear()
    return value


def token_density(model: nn.Module, ids: torch.Tensor | object, *, batch_size: int = 128) -> Density:
    """Density of a MiniLM-style classifier's MLP activations on right-padded token ids ``(N, L)``, counted
    over real tokens only (``model.pad_id`` marks padding; batches are trimmed as the model trims them)."""
    import numpy as np

    t = torch.from_numpy(np.ascontiguousarray(ids)) if not isinstance(ids, torch.Tensor) else ids
    monitor = DensityMonitor(model)

    def run() -> None:
        for i in range(0, len(t), batch_size):
            b = t[i : i + batch_size]
            mask = b != model.pad_id
            cols = torch.nonzero(mask.any(0))
            monitor.token_mask = mask[:, : int(cols.max()) + 1 if len(cols) else 1]
            model(b)

    model.eval()
    try:
        return monitor.measure(run)
    finally:
        monitor.remove()


__all__ = [
    "DENSITY_THRESHOLD",
    "Density",
    "DensityMonitor",
    "EPS",
    "activation_modules",
    "deft_penalty",
    "token_density",
]
