"""Two-tier neural traffic classification after Kaleidoscope (Inference-to-complete, arXiv 2411.00408).

Kaleidoscope puts NN inference on the data plane's bypass: a flow tracker extracts per-flow packet
features; *mouse* flows get a cheap, low-latency model (a fixed-point MLP on raw packet bytes) and
*elephant* flows a heavier, more accurate one. Only the ML policy is reproduced here (latency and
line-rate throughput need the FPGA/ASIC): :class:`TwoTier` runs :class:`PacketMLP` on the first
``mouse_packets`` (3) packets of every flow (its early label) and, for flows that reach ``threshold``
(16) packets, :class:`FlowCNN` on the first 16 packets, whose label replaces the early one. Costs are
counted in multiply-accumulates (:func:`count_macs`). :func:`quantize_mlp` turns a trained MLP into
fixed point: int8 weights and activations with power-of-two scales (Q formats), int32 accumulators and
shifts, run in integer numpy (:class:`FixedPointMLP`) *(ours: post-training; the paper's Fixed_Quant
code trains the MLP in fixed point)*. Widths *(ours)*: MLP 198-64-32-C, CNN conv1d 66->32->32 (k 3),
global max pool, linear 32->C.

Shapes: packet features ``(N, P, 66)`` (64 raw bytes / 255, log IAT, direction;
:func:`trustmap.data.flows.packet_features`); logits ``(N, C)``.

>>> tt = TwoTier(mlp, cnn, threshold=16)
>>> labels = tt.predict(x3, x16, n_packets)
>>> tt.mean_macs(n_packets)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trustmap.errors import TrustmapError

FEATURES = 66


class PacketMLP(nn.Module):
    """MLP on the first ``packets`` packets' features ``(N, packets, 66)`` -> logits ``(N, classes)``."""

    def __init__(self, *, packets: int = 3, classes: int = 5, hidden: tuple[int, int] = (64, 32)) -> None:
        super().__init__()
        self.packets = packets
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(packets * FEATURES, hidden[0]),
            nn.ReLU(),
            nn.Linear(hidden[0], hidden[1]),
            nn.ReLU(),
            nn.Linear(hidden[1], classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FlowCNN(nn.Module):
    """1D CNN over the first ``packets`` packets ``(N, packets, 66)`` -> logits ``(N, classes)``."""

    def __init__(self, *, packets: int = 16, classes: int = 5, width: int = 32) -> None:
        super().__init__()
        self.packets = packets
        self.conv = nn.Sequential(
            nn.Conv1d(FEATURES, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x.transpose(1, 2)).amax(dim=2))


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass on one example of ``input_shape`` (Linear and Conv1d)."""
    total = 0

    def hook(mod: nn.Module, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features
        elif isinstance(mod, nn.Conv1d):
            total += out.shape[-1] * mod.out_channels * (mod.in_channels // mod.groups) * mod.kernel_size[0]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return total


def _frac_bits(max_abs: float, bits: int) -> int:
    """Fractional bits of the Q format whose int range ``2**(bits-1) - 1`` just covers ``max_abs``."""
    return int(np.floor(np.log2((2 ** (bits - 1) - 1) / max(max_abs, 1e-12))))


@dataclass(frozen=True)
class FixedPointMLP:
    """An MLP in fixed point: per layer int8 weights ``w`` (frac bits ``fw``), int32 bias at the
    accumulator's scale, and the int8 activation format ``fa`` of each layer's input."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    fw: tuple[int, ...]
    fa: tuple[int, ...]
    bits: int

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Integer forward pass of ``x`` ``(N, P, 66)``; returns float logits ``(N, C)``."""
        lim = 2 ** (self.bits - 1) - 1
        a = np.clip(np.round(x.reshape(len(x), -1) * 2.0 ** self.fa[0]), -lim, lim).astype(np.int64)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            # integer products summed exactly in float64 (|sum| << 2**53), which uses BLAS
            acc = (a.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64) + b  # scale 2**(fa + fw)
            if i == len(self.weights) - 1:
                return acc / 2.0 ** (self.fa[i] + self.fw[i])
            shift = self.fa[i] + self.fw[i] - self.fa[i + 1]
            a = np.clip(np.maximum(acc, 0) >> shift if shift >= 0 else np.maximum(acc, 0) << -shift, 0, lim)
        raise AssertionError("unreachable")

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.logits(x).argmax(1)


def quantize_mlp(mlp: PacketMLP, calibration: np.ndarray, *, bits: int = 8) -> FixedPointMLP:
    """Post-training fixed-point quantisation of ``mlp``; activation formats from ``calibration`` inputs."""
    if bits < 2 or bits > 16:
        raise TrustmapError(f"bits must lie in [2, 16], got {bits}")
    linears = [m for m in mlp.net if isinstance(m, nn.Linear)]
    acts = [np.abs(calibration).max()]
    with torch.no_grad():
        h = torch.from_numpy(calibration.reshape(len(calibration), -1).astype(np.float32))
        for lin in linears[:-1]:
            h = torch.relu(lin(h))
            acts.append(float(h.max()))
    lim = 2 ** (bits - 1) - 1
    ws, bs, fws, fas = [], [], [], [_frac_bits(float(a), bits) for a in acts]
    for i, lin in enumerate(linears):
        w = lin.weight.detach().numpy()
        fw = _frac_bits(float(np.abs(w).max()), bits)
        ws.append(np.clip(np.round(w * 2.0**fw), -lim, lim).astype(np.int8))
        bs.append(np.round(lin.bias.detach().numpy() * 2.0 ** (fw + fas[i])).astype(np.int64))
        fws.append(fw)
    return FixedPointMLP(tuple(ws), tuple(bs), tuple(fws), tuple(fas), bits)


@dataclass
class TwoTier:
    """Early label from ``mouse`` on the first 3 packets of every flow; ``elephant`` relabels flows with
    at least ``threshold`` packets. ``mouse`` is a :class:`PacketMLP` or :class:`FixedPointMLP`."""

    mouse: PacketMLP | FixedPointMLP
    elephant: FlowCNN
    threshold: int = 16

    def predict(self, x_mouse: np.ndarray, x_elephant: np.ndarray, n_packets: np.ndarray) -> np.ndarray:
        if not (len(x_mouse) == len(x_elephant) == len(n_packets)):
            raise TrustmapError("x_mouse, x_elephant and n_packets must describe the same flows")
        labels = predict_labels(self.mouse, x_mouse)
        big = np.asarray(n_packets) >= self.threshold
        if big.any():
            labels[big] = predict_labels(self.elephant, x_elephant[big])
        return labels

    def mean_macs(self, n_packets: np.ndarray) -> float:
        """Mean MACs per flow: the MLP for every flow plus the CNN for elephants."""
        mlp = self.mouse if isinstance(self.mouse, PacketMLP) else None
        m = count_macs(mlp, (mlp.packets, FEATURES)) if mlp else sum(w.size for w in self.mouse.weights)
        c = count_macs(self.elephant, (self.elephant.packets, FEATURES))
        return float(m + np.mean(np.asarray(n_packets) >= self.threshold) * c)


def predict_labels(model: nn.Module | FixedPointMLP, x: np.ndarray, *, batch: int = 2048) -> np.ndarray:
    """Argmax labels of ``model`` on ``x`` ``(N, P, 66)``."""
    if isinstance(model, FixedPointMLP):
        return model.predict(x)
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch], np.float32))).argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)
