"""Count multiply-accumulates (MACs) and parameters of a model, by running one dummy input through it.

Only ``nn.Conv2d`` and ``nn.Linear`` are counted (as in the pruning literature: batch norm, activations
and pooling are cheap next to them). A convolution costs ``H_out * W_out * C_out * (C_in / groups) * kh *
kw`` MACs, a linear layer ``in * out``; biases are not counted. With ``nonzero=True`` only non-zero
weights count (``H_out * W_out * nnz(W)`` for a convolution), the cost of an unstructured sparse model
under a sparse kernel. "FLOPs" in trustmap's pruning tables means these MACs.

>>> count_flops(build_model("cnn-s", input_shape=(1, 28, 28), num_classes=10), (1, 28, 28)).macs
1218048
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from trustmap.errors import ModelError


@dataclass(frozen=True)
class FlopCount:
    """``macs``: multiply-accumulates for one input; ``params``: every parameter; ``per_layer``: MACs by
    module name (conv and linear layers only)."""

    macs: int
    params: int
    per_layer: dict[str, int] = field(default_factory=dict)


def count_flops(model: nn.Module, input_shape: tuple[int, ...], *, nonzero: bool = False) -> FlopCount:
    """MACs and parameters of ``model`` for one input of shape ``input_shape`` (no batch dimension)."""
    per_layer: dict[str, int] = {}
    hooks = []

    def hook(name: str):
        def fn(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            w = module.weight
            weights = int(torch.count_nonzero(w)) if nonzero else w.numel()
            if isinstance(module, nn.Conv2d):
                per_layer[name] = int(output.shape[-1] * output.shape[-2]) * weights
            else:  # Linear: one pass over the weights per output position (1 for a flat input)
                per_layer[name] = int(output[0].numel() // module.out_features) * weights

        return fn

    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
    except RuntimeError as exc:
        raise ModelError(f"cannot count FLOPs: the model rejects inputs of shape {tuple(input_shape)} ({exc})") from exc
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return FlopCount(macs=sum(per_layer.values()), params=params, per_layer=per_layer)


__all__ = ["FlopCount", "count_flops"]
