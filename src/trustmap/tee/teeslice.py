"""TEESlice (Zhang et al., "No Privacy Left Outside: On the (In-)Security of TEE-Shielded DNN Partition
for On-Device ML", IEEE S&P 2024, arXiv 2310.07152): partition *before* training.

The public pretrained backbone is frozen and runs outside the enclave, bit for bit the weights anyone can
download. Small private **slices** (NetTailor-style side branches) and a private head are trained on the
private data and run inside the enclave. Slice ``i`` reads the input of backbone block ``i`` and its
output is added to that block's output, i.e. to the next block's input:
``h_{i+1} = block_i(h_i) + slice_i(h_i)``; logits ``= head(h_L)``. After training, slices are pruned
(whole slices, then halves of their channels) while validation accuracy stays within ``tolerance`` of the
unpruned model, then further (the least harmful cut first) until at most ``max_fraction`` of the
inference FLOPs are inside the enclave.

Blocks: the backbone ``nn.Sequential`` is cut before each weight layer (a ``Flatten`` starts the block of
the ``Linear`` it feeds); its last block, the public head, is dropped. Slices: convolutional
``[AvgPool(s)] → Conv3×3(C_in→w) → BN → ReLU → Conv1×1(w→C_out)``, or ``[Flatten] → Linear(F_in→w_fc)
→ ReLU → Linear(w_fc→F_out)``; the last layer starts at zero, so an untrained sliced model computes the
backbone's features. Shapes: inputs ``(N, C, H, W)``, logits ``(N, num_classes)``.

>>> sliced = SlicedModel(pretrained_cnn4, num_classes=5, input_shape=(1, 28, 28), seed=0)
>>> train_slices(sliced, private_train, config=TrainConfig(epochs=5), seed=0)
>>> sliced, pruning = prune_slices(sliced, private_val, max_fraction=0.2)
>>> enclave_partition(sliced).flops(sliced, input_shape=(1, 28, 28)).fraction_inside   # <= 0.2
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from trustmap.data.dataset import Split
from trustmap.models.train import TrainConfig, TrainResult, fit
from trustmap.probes.extraction.knockoff import predict_classes
from trustmap.tee.partition import NORM_LAYERS, WEIGHT_LAYERS, Partition, layer_flops
from trustmap.utils.seed import seeded_global_rng

SLICE_CONFIG = TrainConfig(epochs=5, lr=2e-3)


def split_blocks(backbone: nn.Sequential) -> list[nn.Sequential]:
    """Cut a sequential model before each weight layer; a ``Flatten`` starts the block of its ``Linear``."""
    blocks: list[list[nn.Module]] = []
    cur: list[nn.Module] = []
    has_weight = False
    for mod in backbone:
        if cur and (isinstance(mod, nn.Flatten) or (isinstance(mod, WEIGHT_LAYERS) and has_weight)):
            blocks.append(cur)
            cur, has_weight = [], False
        cur.append(mod)
        has_weight |= isinstance(mod, WEIGHT_LAYERS)
    if cur:
        blocks.append(cur)
    return [nn.Sequential(*b) for b in blocks]


def make_slice(in_shape: tuple[int, ...], out_shape: tuple[int, ...], *, width: int, fc_width: int) -> nn.Sequential:
    """A side branch mapping a block's input shape to its output shape; its last layer starts at zero."""
    if len(in_shape) == 3 and len(out_shape) == 3:
        stride = in_shape[1] // out_shape[1]
        layers: list[nn.Module] = [nn.AvgPool2d(stride)] if stride > 1 else []
        layers += [
            nn.Conv2d(in_shape[0], width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, out_shape[0], 1),
        ]
    elif len(out_shape) == 1:
        layers = [nn.Flatten()] if len(in_shape) > 1 else []
        layers += [nn.Linear(int(np.prod(in_shape)), fc_width), nn.ReLU(), nn.Linear(fc_width, out_shape[0])]
    else:
        raise ValueError(f"no slice maps shape {in_shape} to {out_shape}")
    last = layers[-1]
    assert isinstance(last, WEIGHT_LAYERS)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers)


class SlicedModel(nn.Module):
    """A frozen public backbone (``blocks``), private ``slices`` (keyed by block index) and a private ``head``."""

    def __init__(
        self,
        backbone: nn.Sequential,
        *,
        num_classes: int,
        input_shape: tuple[int, ...],
        width: int = 8,
        fc_width: int = 16,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        blocks = split_blocks(copy.deepcopy(backbone))[:-1]  # drop the public head
        if not blocks:
            raise ValueError("the backbone needs at least one block before its head")
        self.blocks = nn.ModuleList(blocks)
        for p in self.blocks.parameters():
            p.requires_grad_(False)
        self.blocks.eval()
        shapes = [tuple(input_shape)]
        with torch.no_grad():
            h = torch.zeros(1, *input_shape)
            for b in self.blocks:
                h = b(h)
                shapes.append(tuple(h.shape[1:]))
        if len(shapes[-1]) != 1:
            raise ValueError(f"the backbone's features must be flat before its head, got shape {shapes[-1]}")
        with seeded_global_rng(seed) if seed is not None else contextlib.nullcontext():
            self.slices = nn.ModuleDict(
                {
                    str(i): make_slice(shapes[i], shapes[i + 1], width=width, fc_width=fc_width)
                    for i in range(len(blocks))
                }
            )
            self.head = nn.Linear(shapes[-1][0], num_classes)
        self.input_shape = tuple(input_shape)

    def train(self, mode: bool = True) -> SlicedModel:
        super().train(mode)
        self.blocks.eval()  # the public backbone never changes, BatchNorm statistics included
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            out = block(h)
            key = str(i)
            if key in self.slices:
                out = out + self.slices[key](h)
            h = out
        return self.head(h)

    def slice_widths(self) -> dict[str, int]:
        """The hidden width (prunable channels) of each slice."""
        return {k: int(_first_weight(s)[1].weight.shape[0]) for k, s in self.slices.items()}


def enclave_partition(model: SlicedModel) -> Partition:
    """TEESlice's boundary: the slices and the head are inside the enclave, the backbone outside."""
    return Partition(
        "teeslice",
        {k: torch.ones_like(v, dtype=torch.bool) for k, v in model.state_dict().items() if not k.startswith("blocks.")},
    )


def train_slices(
    model: SlicedModel,
    data: Split,
    *,
    config: TrainConfig = SLICE_CONFIG,
    seed: int = 0,
    progress: bool | None = None,
) -> TrainResult:
    """Train the slices and the head on ``data``; the backbone's weights and statistics stay bit-identical."""
    for p in model.blocks.parameters():
        p.requires_grad_(False)
    with seeded_global_rng(seed):  # any dropout in slices comes from ``seed`` too
        return fit(model, data, config=config, seed=seed, progress=progress, description="teeslice slices")


def _first_weight(s: nn.Sequential) -> tuple[int, nn.Module]:
    return next((i, m) for i, m in enumerate(s) if isinstance(m, WEIGHT_LAYERS))


def shrink_slice(s: nn.Sequential, keep: torch.Tensor) -> nn.Sequential:
    """The slice with only the hidden channels ``keep`` (indices) of its first weight layer."""
    s = copy.deepcopy(s)
    i, first = _first_weight(s)
    j = max(k for k, m in enumerate(s) if isinstance(m, WEIGHT_LAYERS))
    with torch.no_grad():
        if isinstance(first, nn.Conv2d):
            new: nn.Module = nn.Conv2d(
                first.in_channels, len(keep), first.kernel_size, padding=first.padding, bias=first.bias is not None
            )
        else:
            new = nn.Linear(first.in_features, len(keep), bias=first.bias is not None)
        new.weight.copy_(first.weight[keep])
        if first.bias is not None:
            new.bias.copy_(first.bias[keep])
        s[i] = new
        for k in range(i + 1, j):
            if isinstance(s[k], NORM_LAYERS):
                bn = s[k]
                nb = type(bn)(len(keep))
                nb.load_state_dict(
                    {
                        "weight": bn.weight[keep],
                        "bias": bn.bias[keep],
                        "running_mean": bn.running_mean[keep],
                        "running_var": bn.running_var[keep],
                        "num_batches_tracked": bn.num_batches_tracked,
                    }
                )
                s[k] = nb
        last = s[j]
        if isinstance(last, nn.Conv2d):
            nl: nn.Module = nn.Conv2d(len(keep), last.out_channels, last.kernel_size, bias=last.bias is not None)
        else:
            nl = nn.Linear(len(keep), last.out_features, bias=last.bias is not None)
        nl.weight.copy_(last.weight[:, keep])
        if last.bias is not None:
            nl.bias.copy_(last.bias)
        s[j] = nl
    return s


def channel_importance(s: nn.Sequential) -> torch.Tensor:
    """Per hidden channel: ‖incoming weights‖ × ‖outgoing weights‖ (× |BN scale| when there is one)."""
    first = _first_weight(s)[1]
    last = [m for m in s if isinstance(m, WEIGHT_LAYERS)][-1]
    w_in = first.weight.detach().flatten(1).norm(dim=1)
    w_out = last.weight.detach().transpose(0, 1).flatten(1).norm(dim=1)
    score = w_in * w_out
    bn = next((m for m in s if isinstance(m, NORM_LAYERS)), None)
    if bn is not None:
        score = score * bn.weight.detach().abs()
    return score


@dataclass
class PruneResult:
    """Validation accuracy and enclave FLOPs share before/after, and each accepted cut."""

    accuracy_before: float
    accuracy_after: float
    fraction_before: float
    fraction_after: float
    history: list[dict[str, float | str]] = field(default_factory=list)


def _halved(model: SlicedModel, key: str) -> SlicedModel:
    width = model.slice_widths()[key]
    keep = channel_importance(model.slices[key]).argsort(descending=True)[: width // 2].sort().values
    out = copy.deepcopy(model)
    out.slices[key] = shrink_slice(model.slices[key], keep)
    return out


def _dropped(model: SlicedModel, key: str) -> SlicedModel:
    out = copy.deepcopy(model)
    del out.slices[key]
    return out


def prune_slices(
    model: SlicedModel,
    val: Split,
    *,
    tolerance: float = 0.005,
    max_fraction: float = 0.2,
) -> tuple[SlicedModel, PruneResult]:
    """Greedy pruning on ``val``, costliest slice first: drop the slice if accuracy stays within
    ``tolerance`` of the unpruned model, else halve its channels while it does. Then, while the enclave
    holds more than ``max_fraction`` of the FLOPs, take the cut that keeps the most accuracy. Returns a
    new model; ``model`` is not changed."""
    shape = model.input_shape

    def acc(m: SlicedModel) -> float:
        return float((predict_classes(m, val.x) == val.y).mean())

    def split(m: SlicedModel) -> tuple[float, float]:
        f = enclave_partition(m).flops(m, input_shape=shape)
        return f.inside, f.fraction_inside

    def accept(m: SlicedModel, cut: str, a: float) -> SlicedModel:
        result.history.append({"cut": cut, "accuracy": a, "fraction_inside": split(m)[1]})
        return m

    ref = acc(model)
    result = PruneResult(ref, ref, split(model)[1], split(model)[1])
    per_slice = layer_flops(model, input_shape=shape)
    order = sorted(model.slices, key=lambda k: -sum(f for n, f in per_slice.items() if n.startswith(f"slices.{k}.")))
    for key in order:
        cand = _dropped(model, key)
        if (a := acc(cand)) >= ref - tolerance:
            model = accept(cand, f"drop slice {key}", a)
            continue
        while model.slice_widths()[key] > 1:
            cand = _halved(model, key)
            if (a := acc(cand)) < ref - tolerance:
                break
            model = accept(cand, f"halve slice {key} to {model.slice_widths()[key] // 2}", a)
    while split(model)[1] > max_fraction and model.slices:  # over budget: the least harmful cut
        cands = [(f"drop slice {k}", _dropped(model, k)) for k in model.slices]
        cands += [(f"halve slice {k}", _halved(model, k)) for k, w in model.slice_widths().items() if w > 1]
        a, _, cut, best = max(((acc(c), -split(c)[0], n, c) for n, c in cands), key=lambda t: t[:2])
        model = accept(best, cut, a)
    result.accuracy_after, result.fraction_after = acc(model), split(model)[1]
    return model, result
