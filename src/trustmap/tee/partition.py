"""TEE-shielded DNN partition (TSDP): the simulated enclave boundary, the shielding schemes and the FLOPs
bookkeeping of Zhang et al., "No Privacy Left Outside: On the (In-)Security of TEE-Shielded DNN Partition
for On-Device ML" (IEEE S&P 2024, arXiv 2310.07152).

A :class:`Partition` says which entries of a model's ``state_dict`` live inside the enclave: one boolean
mask per entry, of the entry's shape (``True`` = shielded). Layer-level schemes shield whole *units* (a
``Conv2d``/``Linear`` with the ``BatchNorm`` that follows it: weights, biases and running statistics);
the magnitude scheme shields single weights. :meth:`Partition.exposed` is all an attacker outside the
enclave can read: entirely shielded tensors are absent and partly shielded ones are zeroed where hidden.

FLOPs: ``2 × MACs`` of every ``Conv2d``/``Linear`` for one input (element-wise layers are not counted).
A layer's FLOPs are inside the enclave in proportion to the share of its weight entries shielded, so
``inside + outside == total`` for every scheme. Latency is modelled from FLOPs (see :func:`tee_latency`).

Schemes (a registry; :func:`scheme_names`): ``none``, ``shallow`` (first unit), ``deep`` (last 2 units),
``magnitude`` (top-10% |w| of each weight tensor), ``intermediate`` (one middle unit), ``whole``.

>>> part = shield(victim, "deep")
>>> part.exposed(victim).values.keys()          # the attacker's view: no "16.*" or "19.*" entries
>>> split = part.flops(victim, input_shape=(1, 28, 28))
>>> split.fraction_inside                       # e.g. 0.02 for CNN-4
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from trustmap.errors import TrustmapError
from trustmap.registry import Registry, check_id

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)
NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass(frozen=True)
class Unit:
    """One layer in the TSDP sense: a weight layer and the normalisation that follows it (module names)."""

    name: str
    modules: tuple[str, ...]


def layer_units(model: nn.Module) -> list[Unit]:
    """The model's weight layers in forward (registration) order, each with its following BatchNorm."""
    units: list[Unit] = []
    mods: list[str] = []
    for name, mod in model.named_modules():
        if isinstance(mod, WEIGHT_LAYERS):
            if mods:
                units.append(Unit(mods[0], tuple(mods)))
            mods = [name]
        elif isinstance(mod, NORM_LAYERS) and mods:
            mods.append(name)
    if mods:
        units.append(Unit(mods[0], tuple(mods)))
    return units


def _unit_entries(model: nn.Module, unit: Unit) -> list[str]:
    state = model.state_dict()
    return [k for k in state if k.rpartition(".")[0] in unit.modules]


def layer_flops(model: nn.Module, *, input_shape: tuple[int, ...]) -> dict[str, int]:
    """FLOPs (2 × multiply-accumulates) of each ``Conv2d``/``Linear`` for one input of ``input_shape``."""
    counts: dict[str, int] = {}
    hooks = []

    def hook(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def count(mod: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if isinstance(mod, nn.Conv2d):
                k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
                counts[name] = counts.get(name, 0) + 2 * k * out[0].numel()
            else:
                counts[name] = counts.get(name, 0) + 2 * mod.in_features * out[0].numel()

        return count

    for name, mod in model.named_modules():
        if isinstance(mod, WEIGHT_LAYERS):
            hooks.append(mod.register_forward_hook(hook(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return counts


@dataclass(frozen=True)
class FlopsSplit:
    """Inference FLOPs for one input, inside and outside the enclave."""

    inside: float
    outside: float

    @property
    def total(self) -> float:
        return self.inside + self.outside

    @property
    def fraction_inside(self) -> float:
        return self.inside / self.total if self.total else 0.0


@dataclass
class ExposedWeights:
    """What an attacker outside the enclave reads: ``values`` (hidden entries zeroed; entirely hidden
    tensors absent) and ``visible`` (``True`` where the attacker can read the entry)."""

    values: dict[str, torch.Tensor]
    visible: dict[str, torch.Tensor]


@dataclass
class Partition:
    """Which state-dict entries are inside the enclave: ``shielded[name]`` is a bool mask of its shape."""

    scheme: str
    shielded: dict[str, torch.Tensor] = field(default_factory=dict)

    def exposed(self, model: nn.Module) -> ExposedWeights:
        values, visible = {}, {}
        for name, t in model.state_dict().items():
            mask = self.shielded.get(name)
            seen = torch.ones_like(t, dtype=torch.bool) if mask is None else ~mask
            if not seen.any():
                continue
            v = t.detach().clone()
            if not seen.all():
                v[~seen] = 0
            values[name], visible[name] = v, seen
        return ExposedWeights(values=values, visible=visible)

    def shielded_parameters(self, model: nn.Module) -> int:
        """How many parameters (not buffers) live inside the enclave."""
        return int(sum(int(self.shielded[n].sum()) for n, _ in model.named_parameters() if n in self.shielded))

    def flops(self, model: nn.Module, *, input_shape: tuple[int, ...]) -> FlopsSplit:
        inside = outside = 0.0
        for name, f in layer_flops(model, input_shape=input_shape).items():
            mask = self.shielded.get(f"{name}.weight")
            share = float(mask.float().mean()) if mask is not None else 0.0
            inside += f * share
            outside += f * (1 - share)
        return FlopsSplit(inside=inside, outside=outside)


def tee_latency(split: FlopsSplit, *, flops_per_second: float, slowdown: float = 10.0) -> float:
    """Modelled seconds per input: outside FLOPs at ``flops_per_second`` (the untrusted processor, measured
    on this machine), enclave FLOPs ``slowdown`` times slower (an assumption: no real enclave here)."""
    if flops_per_second <= 0 or slowdown < 1:
        raise ValueError("tee_latency needs flops_per_second > 0 and slowdown >= 1")
    return (split.outside + slowdown * split.inside) / flops_per_second


def partition_units(model: nn.Module, units: list[Unit], *, scheme: str) -> Partition:
    """Shield every state-dict entry of ``units`` whole."""
    state = model.state_dict()
    return Partition(
        scheme, {k: torch.ones_like(state[k], dtype=torch.bool) for u in units for k in _unit_entries(model, u)}
    )


# --- the registry of TSDP shielding schemes -------------------------------------------------------------

SchemeFn = Callable[[nn.Module], Partition]


@dataclass(frozen=True)
class SchemeInfo:
    name: str
    summary: str
    select: SchemeFn


SCHEMES: Registry[SchemeInfo] = Registry("shielding scheme", summary=lambda info: info.summary)


def register_scheme(name: str, *, summary: str) -> Callable[[SchemeFn], SchemeFn]:
    """Register ``select(model) -> Partition`` under ``name`` (lower-case letters, digits, dashes)."""
    check_id(SCHEMES.kind, name)

    def deco(fn: SchemeFn) -> SchemeFn:
        SCHEMES.add(name, SchemeInfo(name, summary, fn))
        return fn

    return deco


def scheme_names() -> list[str]:
    return SCHEMES.ids()


def shield(model: nn.Module, scheme: str) -> Partition:
    """The partition of ``model`` chosen by ``scheme``; an unknown name is a one-line error."""
    return SCHEMES.get(scheme).select(model)


def _units(model: nn.Module) -> list[Unit]:
    units = layer_units(model)
    if not units:
        raise TrustmapError("the model has no Conv2d or Linear layer to shield")
    return units


@register_scheme("none", summary="nothing in the enclave: every weight is exposed")
def shield_none(model: nn.Module) -> Partition:
    return Partition("none")


@register_scheme("shallow", summary="the first layer (conv + BN) in the enclave")
def shield_shallow(model: nn.Module) -> Partition:
    return partition_units(model, _units(model)[:1], scheme="shallow")


@register_scheme("deep", summary="the last 2 layers in the enclave")
def shield_deep(model: nn.Module) -> Partition:
    return partition_units(model, _units(model)[-2:], scheme="deep")


@register_scheme("intermediate", summary="one middle layer (unit len//2 - 1, conv3 of CNN-4) in the enclave")
def shield_intermediate(model: nn.Module) -> Partition:
    units = _units(model)
    i = max(0, len(units) // 2 - 1)
    return partition_units(model, units[i : i + 1], scheme="intermediate")


@register_scheme("magnitude", summary="the top-10% magnitude weights of every Conv2d/Linear in the enclave")
def shield_magnitude(model: nn.Module, *, fraction: float = 0.1) -> Partition:
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    shielded = {}
    for unit in _units(model):
        w = model.get_submodule(unit.name).weight.detach()
        k = max(1, round(fraction * w.numel()))
        top = w.abs().flatten().topk(k).indices
        mask = torch.zeros(w.numel(), dtype=torch.bool)
        mask[top] = True
        shielded[f"{unit.name}.weight"] = mask.view_as(w)
    return Partition("magnitude", shielded)


@register_scheme("whole", summary="the whole model in the enclave (upper-bound security)")
def shield_whole(model: nn.Module) -> Partition:
    return Partition("whole", {k: torch.ones_like(v, dtype=torch.bool) for k, v in model.state_dict().items()})
