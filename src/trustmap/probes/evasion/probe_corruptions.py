"""Probe ``corruptions``: accuracy under common image corruptions, in the spirit of ImageNet-C (Hendrycks
and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and Perturbations", ICLR
2019, arXiv 1903.12261).

Three corruptions at three severities each, implemented in torch on batches ``(N, C, H, W)`` and clipped
to the dataset's value range ``[lo, hi]`` (``r = hi - lo``):

==================  ================================================  ==========================
corruption          operation                                         severities 1, 2, 3
==================  ================================================  ==========================
``gaussian_noise``  ``x + r * sigma * N(0, 1)``                       sigma 0.08, 0.18, 0.38
``gaussian_blur``   separable Gaussian filter, reflect padding        sigma 0.5, 1.0, 1.5 pixels
``contrast``        ``m + c * (x - m)``, ``m`` the per-image mean     c 0.4, 0.2, 0.1
==================  ================================================  ==========================

Black-box: only the model's predictions are used. The noise comes from a generator seeded by ``seed``.

Metrics: ``clean_accuracy``; ``corrupted_accuracy``, the mean over the nine corruption-severity pairs;
``worst_corrupted_accuracy``; ``<corruption>_accuracy``, the mean over its severities. Curves: accuracy vs
severity (0 = clean), one line per corruption. Tables: ``corruptions`` (``{corruption, severity, parameter,
accuracy}``) and ``per_class`` (``{class, n, clean, robust}``, robust = mean corrupted accuracy).

>>> make_probe("corruptions").run(handle, audit_data, seed=0).metrics["corrupted_accuracy"]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from trustmap.models.handle import ModelHandle
from trustmap.probes.base import (
    BUDGET_NAMES,
    AuditData,
    Curve,
    Dimension,
    Direction,
    Probe,
    ProbeResult,
    register_probe,
)
from trustmap.probes.evasion.common import kept_accuracy_rule
from trustmap.probes.evasion.robust import as_tensors, per_class_rows
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import torch_generator

Corruption = Callable[[torch.Tensor, float, tuple[float, float], torch.Generator], torch.Tensor]


def gaussian_noise(x: torch.Tensor, sigma: float, bounds: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    lo, hi = bounds
    noise = torch.randn(x.shape, generator=g, device=g.device).to(x.device, x.dtype)
    return (x + noise * sigma * (hi - lo)).clamp(lo, hi)


def gaussian_blur(x: torch.Tensor, sigma: float, bounds: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """Separable Gaussian blur with radius ``ceil(3 sigma)`` (at most the image size minus one)."""
    c, h, w = x.shape[1:]
    radius = max(1, min(math.ceil(3 * sigma), h - 1, w - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    out = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out.clamp(*bounds)


def contrast(x: torch.Tensor, c: float, bounds: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (m + c * (x - m)).clamp(*bounds)


CORRUPTIONS: dict[str, tuple[Corruption, tuple[float, float, float]]] = {
    "gaussian_noise": (gaussian_noise, (0.08, 0.18, 0.38)),
    "gaussian_blur": (gaussian_blur, (0.5, 1.0, 1.5)),
    "contrast": (contrast, (0.4, 0.2, 0.1)),
}


@register_probe
@dataclass
class CorruptionsProbe(Probe):
    id = "corruptions"
    title = "Common corruptions (noise, blur, contrast)"
    dimension: ClassVar[Dimension] = "robustness"
    needs_gradients: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("image",)
    audit_budgets = BUDGET_NAMES
    rule = kept_accuracy_rule("common corruptions keep", robust="corrupted_accuracy")
    directions: ClassVar[Mapping[str, Direction]] = {
        "clean_accuracy": "higher",
        "corrupted_accuracy": "higher",
        "worst_corrupted_accuracy": "higher",
        **{f"{name}_accuracy": "higher" for name in CORRUPTIONS},
    }
    headline = "corrupted_accuracy"

    corruptions: tuple[str, ...] = tuple(CORRUPTIONS)
    batch_size: int = 256

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        unknown = [c for c in self.corruptions if c not in CORRUPTIONS]
        if unknown or not self.corruptions:
            return f"corruptions must be some of {', '.join(CORRUPTIONS)}, got {list(self.corruptions)}"
        if len(data.eval) == 0:
            return "no evaluation examples"
        if data.eval.x.ndim != 4:
            return f"corruptions need images (N, C, H, W), got inputs of shape {data.eval.x.shape}"
        if self.batch_size < 1:
            return f"batch_size must be at least 1, got {self.batch_size}"
        return None

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        vr = data.dataset.value_range
        bounds = (float(vr[0]), float(vr[1])) if vr else (float(data.eval.x.min()), float(data.eval.x.max()))
        x, y = as_tensors(data.eval.x, data.eval.y)
        yn = y.numpy()
        g = torch_generator(seed)
        clean = model.predict(x, batch_size=self.batch_size).argmax(1) == yn
        hits: dict[tuple[str, int], np.ndarray] = {}
        with progress_bar(self.title, total=3 * len(self.corruptions), enabled=progress) as tick:
            for name in self.corruptions:
                fn, params = CORRUPTIONS[name]
                for s, param in enumerate(params, start=1):
                    bs = self.batch_size
                    preds = [
                        model.predict(fn(x[i : i + bs], param, bounds, g), batch_size=bs).argmax(1)
                        for i in range(0, len(yn), bs)
                    ]
                    hits[(name, s)] = np.concatenate(preds) == yn
                    tick()
        accs = {key: float(v.mean()) for key, v in hits.items()}
        metrics: dict[str, float] = {
            "clean_accuracy": float(clean.mean()),
            "corrupted_accuracy": float(np.mean(list(accs.values()))),
            "worst_corrupted_accuracy": float(min(accs.values())),
            "n": float(len(yn)),
        }
        curves = []
        for name in self.corruptions:
            per_sev = [accs[(name, s)] for s in (1, 2, 3)]
            metrics[f"{name}_accuracy"] = float(np.mean(per_sev))
            curves.append(
                Curve(
                    name=name.replace("_", " "),
                    x=[0.0, 1.0, 2.0, 3.0],
                    y=[metrics["clean_accuracy"], *per_sev],
                    x_label="severity (0 = clean)",
                    y_label="accuracy",
                    kind="line",
                )
            )
        mean_hit = np.mean(np.stack(list(hits.values())), axis=0)
        tables = {
            "corruptions": [
                {"corruption": n, "severity": s, "parameter": CORRUPTIONS[n][1][s - 1], "accuracy": a}
                for (n, s), a in accs.items()
            ],
            "per_class": per_class_rows(yn, clean, mean_hit, data.dataset.classes),
        }
        result = self.result(metrics=metrics, curves=curves, tables=tables)
        return result
