"""LoRA: low-rank adaptation of frozen linear layers (Hu et al., arXiv 2106.09685), the PEFT baseline.

Each targeted ``nn.Linear`` (weight ``W0 (out, in)``) is wrapped so that

    y = x W0^T + b + (alpha / r) * dropout(x) A^T B^T,   A: (r, in), B: (out, r)

``W0`` and ``b`` are frozen, ``A`` is Kaiming-uniform (``a = sqrt(5)``, as Hugging Face PEFT) and
``B`` starts at zero, so the wrapped model computes exactly the base model at initialisation.
Works on any PyTorch model: targets are matched against the last component of each module's
qualified name (``"query"``, ``"value"``, ``"intermediate.dense"`` matches a suffix).

>>> names = apply_lora(model.encoder, targets=("query", "value"), r=8, alpha=16, seed=0)
>>> sum(p.numel() for p in lora_parameters(model))   # 73,728 for MiniLM (6 layers, q+v)
>>> merge_lora(model)                                 # back to plain nn.Linear layers, same outputs
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from trustmap.utils.seed import torch_generator


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update ``(alpha / r) * B @ A``."""

    def __init__(
        self,
        base: nn.Linear,
        *,
        r: int = 8,
        alpha: float = 16.0,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.r, self.alpha = int(r), float(alpha)
        self.scaling = self.alpha / self.r
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        a = torch.empty(self.r, base.in_features)
        _kaiming_uniform(a, generator)
        self._init_factors(a, torch.zeros(base.out_features, self.r), generator)

    def _init_factors(self, a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None) -> None:
        self.lora_A = nn.Parameter(a)
        self.lora_B = nn.Parameter(b)

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    @property
    def weight(self) -> torch.Tensor:  # some modules read ``.weight`` of their children
        return self.base.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base.bias

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The current ``(A (r, in), B (out, r))``; subclasses assemble them from packed entries."""
        return self.lora_A, self.lora_B

    def delta_weight(self) -> torch.Tensor:
        a, b = self.factors()
        return (b @ a) * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.factors()
        return self.base(x) + (self.lora_dropout(x) @ a.t() @ b.t()) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``W0 + (alpha / r) B A`` (same outputs in eval mode)."""
        out = nn.Linear(self.in_features, self.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}"


def _kaiming_uniform(t: torch.Tensor, generator: torch.Generator | None) -> None:
    """``nn.init.kaiming_uniform_(t, a=sqrt(5))`` drawn from ``generator``."""
    fan_in = t.shape[1]
    gain = math.sqrt(2.0 / (1 + 5.0))
    bound = gain * math.sqrt(3.0 / fan_in)
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=generator)


def matches(name: str, targets: Sequence[str]) -> bool:
    """``name`` (qualified module name) ends with one of ``targets`` at a ``.`` boundary."""
    return any(name == t or name.endswith("." + t) for t in targets)


def replace_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def _targets_in(model: nn.Module, targets: Sequence[str]) -> list[str]:
    if not targets:
        raise ValueError("give at least one target module name, e.g. ('query', 'value')")
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and matches(n, targets)]
    if not names:
        linear = sorted({n.rpartition(".")[2] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear matches {list(targets)}; linear layers here: {', '.join(linear[:12])}")
    return names


def apply_lora(
    model: nn.Module,
    *,
    targets: Sequence[str] = ("query", "value"),
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    seed: int = 0,
) -> list[str]:
    """Wrap every matching ``nn.Linear`` of ``model`` in :class:`LoRALinear`; return the wrapped names.

    Only the base weights of the wrapped layers are frozen here; freeze the rest of the model yourself
    (see :func:`freeze_except`). The factors are drawn from a private generator seeded with ``seed``.
    """
    names = _targets_in(model, targets)
    gen = torch_generator(seed)
    for name in names:
        replace_module(
            model, name, LoRALinear(model.get_submodule(name), r=r, alpha=alpha, dropout=dropout, generator=gen)
        )
    return names


def lora_modules(model: nn.Module) -> Iterator[tuple[str, LoRALinear]]:
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            yield name, module


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The trainable adapter parameters of every LoRA layer (full or packed)."""
    return [p for _, m in lora_modules(model) for n, p in m.named_parameters() if not n.startswith("base.")]


def merge_lora(model: nn.Module) -> int:
    """Replace each LoRA layer by its merged ``nn.Linear`` in place; return how many were merged."""
    found = list(lora_modules(model))
    for name, module in found:
        replace_module(model, name, module.merged())
    return len(found)


def freeze_except(model: nn.Module, *, trainable: Sequence[str] = ("head",)) -> None:
    """Freeze every parameter of ``model`` whose qualified name does not start with one of ``trainable``."""
    for name, p in model.named_parameters():
        p.requires_grad_(any(name == t or name.startswith(t + ".") for t in trainable))


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "LoRALinear",
    "apply_lora",
    "count_trainable",
    "freeze_except",
    "lora_modules",
    "lora_parameters",
    "merge_lora",
]
