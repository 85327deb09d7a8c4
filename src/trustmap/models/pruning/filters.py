"""Filter surgery for sequential CNNs, filter scores (L1, random) and FLOP-budgeted selection.

A *unit* is a prunable ``nn.Conv2d`` of a top-level ``nn.Sequential`` (the ``cnn`` and ``cnn-s``
architectures): its output channels can be removed together with the matching batch-norm channels and
the matching inputs of its *consumer*, the next ``Conv2d`` or (after ``Flatten``) ``Linear``, whose input
columns for channel ``c`` are ``c * S ... (c + 1) * S - 1`` (``S`` spatial positions per channel).

``keep`` maps a unit's index in the ``Sequential`` to the kept filter indices; :func:`prune_filters` returns a
new, smaller model that computes exactly what the original computes with the dropped channels zeroed.
:func:`select_to_budget` removes the lowest-scored filters across all units, one at a time, until the
model's MACs (:mod:`trustmap.models.pruning.flops`) fall to a budget; every unit keeps at least one filter.

>>> units = find_units(model)                                   # [Unit(conv=0, scale=1, consumer=3, ...), ...]
>>> keep = select_to_budget(model, l1_scores(model), budget=0.7 * count_flops(model, (1, 28, 28)).macs,
...                         input_shape=(1, 28, 28))
>>> small = prune_filters(model, keep)                          # same outputs up to the removed filters
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from trustmap.errors import ModelError
from trustmap.models.pruning.flops import count_flops

PASS_THROUGH = (nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Dropout, nn.Flatten)
Scores = dict[int, torch.Tensor]
Keep = dict[int, torch.Tensor]


@dataclass(frozen=True)
class Unit:
    """A prunable conv at ``conv``; ``scale`` is the module whose output a per-filter factor multiplies (the
    batch norm right after the conv, else the conv); ``consumer`` the next conv or linear layer;
    ``spatial`` the positions per channel the consumer reads (1 for a conv consumer)."""

    conv: int
    scale: int
    consumer: int
    spatial: int


def find_units(model: nn.Module) -> list[Unit]:
    """The prunable convs of a sequential CNN, in order (the last conv/linear before the head qualifies)."""
    if not isinstance(model, nn.Sequential):
        raise ModelError("filter pruning needs an nn.Sequential CNN such as the cnn or cnn-s architecture")
    layers = list(model)
    units = []
    for i, m in enumerate(layers):
        if not isinstance(m, nn.Conv2d):
            continue
        if m.groups != 1:
            raise ModelError(f"layer {i} is a grouped convolution; filter pruning supports groups=1 only")
        j = i + 1
        while j < len(layers) and isinstance(layers[j], PASS_THROUGH):
            j += 1
        if j == len(layers) or not isinstance(layers[j], (nn.Conv2d, nn.Linear)):
            raise ModelError(f"conv layer {i} feeds no conv or linear layer; cannot restructure what follows it")
        nxt = layers[j]
        spatial = 1
        if isinstance(nxt, nn.Linear):
            if nxt.in_features % m.out_channels:
                raise ModelError(
                    f"linear layer {j} has {nxt.in_features} inputs, not a multiple of conv {i}'s channels"
                )
            spatial = nxt.in_features // m.out_channels
        scale = i + 1 if isinstance(layers[i + 1], nn.BatchNorm2d) else i
        units.append(Unit(conv=i, scale=scale, consumer=j, spatial=spatial))
    if not units:
        raise ModelError("the model has no prunable conv layers")
    return units


def _conv(old: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Conv2d:
    new = nn.Conv2d(
        weight.shape[1],
        weight.shape[0],
        old.kernel_size,
        stride=old.stride,
        padding=old.padding,
        dilation=old.dilation,
        bias=bias is not None,
    )
    new.weight.data = weight.clone()
    if bias is not None:
        new.bias.data = bias.clone()
    return new


def prune_filters(model: nn.Sequential, keep: Keep) -> nn.Sequential:
    """A copy of ``model`` holding only the filters in ``keep`` (units absent from ``keep`` stay whole)."""
    out = copy.deepcopy(model)
    for u in find_units(out):
        if u.conv not in keep:
            continue
        idx = torch.as_tensor(keep[u.conv], dtype=torch.long).sort().values
        conv = out[u.conv]
        if len(idx) == 0 or int(idx.max()) >= conv.out_channels or len(idx.unique()) != len(idx):
            raise ModelError(f"keep for conv {u.conv} must be distinct filter indices below {conv.out_channels}")
        out[u.conv] = _conv(conv, conv.weight.data[idx], None if conv.bias is None else conv.bias.data[idx])
        if u.scale != u.conv:
            bn = out[u.scale]
            new_bn = nn.BatchNorm2d(len(idx), eps=bn.eps, momentum=bn.momentum, affine=bn.affine)
            for name in ("weight", "bias"):
                if getattr(bn, name) is not None:
                    getattr(new_bn, name).data = getattr(bn, name).data[idx].clone()
            new_bn.running_mean, new_bn.running_var = bn.running_mean[idx].clone(), bn.running_var[idx].clone()
            new_bn.num_batches_tracked = bn.num_batches_tracked.clone()
            out[u.scale] = new_bn
        nxt = out[u.consumer]
        if isinstance(nxt, nn.Conv2d):
            out[u.consumer] = _conv(nxt, nxt.weight.data[:, idx], nxt.bias.data if nxt.bias is not None else None)
        else:
            cols = (idx[:, None] * u.spatial + torch.arange(u.spatial)).flatten()
            lin = nn.Linear(len(cols), nxt.out_features, bias=nxt.bias is not None)
            lin.weight.data = nxt.weight.data[:, cols].clone()
            if nxt.bias is not None:
                lin.bias.data = nxt.bias.data.clone()
            out[u.consumer] = lin
    return out


def l1_scores(model: nn.Sequential, *, normalize: bool = True) -> Scores:
    """Each filter's L1 weight norm (Li et al., arXiv 1608.08710), divided by its layer's mean when
    ``normalize`` (ours: makes one global ranking across layers of different fan-in meaningful)."""
    scores = {}
    for u in find_units(model):
        s = model[u.conv].weight.detach().abs().flatten(1).sum(1)
        scores[u.conv] = s / s.mean().clamp_min(1e-12) if normalize else s
    return scores


def random_scores(model: nn.Sequential, *, generator: torch.Generator) -> Scores:
    """Uniform random scores (random filter pruning)."""
    return {u.conv: torch.rand(model[u.conv].out_channels, generator=generator) for u in find_units(model)}


class _Costs:
    """MACs of ``model`` as a function of its units' filter counts (exact for the layouts find_units accepts)."""

    def __init__(self, model: nn.Sequential, input_shape: tuple[int, ...]) -> None:
        fc = count_flops(model, input_shape)
        self.units = find_units(model)
        self.counts = {u.conv: model[u.conv].out_channels for u in self.units}
        self.fan = {}  # MACs per (input channel x output channel) of every conv or linear touched
        variable = 0
        for u in self.units:
            for i in (u.conv, u.consumer):
                if i not in self.fan:
                    m = model[i]
                    self.fan[i] = fc.per_layer[str(i)] / (m.weight.shape[0] * m.weight.shape[1])
                    variable += fc.per_layer[str(i)]
        self.fixed = fc.macs - variable
        self.model = model

    def macs(self, counts: dict[int, int]) -> float:
        total = self.fixed
        for i, fan in self.fan.items():
            m = self.model[i]
            cin, cout = m.weight.shape[1], m.weight.shape[0]
            if i in counts:
                cout = counts[i]
            feeder = next((u for u in self.units if u.consumer == i), None)
            if feeder is not None:
                cin = counts[feeder.conv] * feeder.spatial
            total += fan * cin * cout
        return total


def select_to_budget(model: nn.Sequential, scores: Scores, *, budget: float, input_shape: tuple[int, ...]) -> Keep:
    """Drop the lowest-scored filters globally, one at a time, until the MACs are at most ``budget``."""
    costs = _Costs(model, input_shape)
    counts = dict(costs.counts)
    dropped: dict[int, set[int]] = {u.conv: set() for u in costs.units}
    flat = [(float(s), conv, j) for conv, t in scores.items() for j, s in enumerate(t.tolist())]
    flat.sort(key=lambda r: (r[0], r[1], r[2]))
    for _, conv, j in flat:
        if costs.macs(counts) <= budget:
            break
        if counts[conv] <= 1:
            continue
        dropped[conv].add(j)
        counts[conv] -= 1
    if costs.macs(counts) > budget:
        raise ModelError(f"cannot reach {budget:.0f} MACs by removing filters; choose a larger FLOP budget")
    return {
        c: torch.tensor([j for j in range(costs.counts[c]) if j not in dropped[c]], dtype=torch.long) for c in dropped
    }


def magnitude_masks(model: nn.Module, *, budget: float, input_shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Unstructured global magnitude pruning to a *sparse* MAC budget: zero the smallest ``|w|`` of every conv
    and linear weight (each weight costs the positions it is applied at) until the non-zero MACs are at most
    ``budget``. Returns ``name -> 0/1 mask``; the weights are not changed."""
    fc = count_flops(model, input_shape)
    mods = {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    mags, costs = [], []
    for n, m in mods.items():
        w = m.weight.detach().abs().flatten()
        mags.append(w)
        costs.append(torch.full_like(w, fc.per_layer[n] / w.numel()))
    mag, cost = torch.cat(mags), torch.cat(costs)
    order = torch.argsort(mag, stable=True)
    saved = torch.cumsum(cost[order].double(), 0)
    need = fc.macs - budget
    n_drop = int(torch.searchsorted(saved, torch.tensor([need], dtype=torch.float64)).item()) + 1 if need > 0 else 0
    drop = torch.zeros_like(mag, dtype=torch.bool)
    drop[order[:n_drop]] = True
    masks, start = {}, 0
    for n, m in mods.items():
        k = m.weight.numel()
        masks[n] = (~drop[start : start + k]).reshape(m.weight.shape).to(m.weight.dtype)
        start += k
    return masks


__all__ = [
    "Unit",
    "find_units",
    "l1_scores",
    "magnitude_masks",
    "prune_filters",
    "random_scores",
    "select_to_budget",
]
