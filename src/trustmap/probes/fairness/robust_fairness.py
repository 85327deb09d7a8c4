"""``robust-fairness``: is the model's robustness shared fairly across classes?

Robust fairness as in BAT, Sun et al., *Improving Robust Fairness via Balance Adversarial Training*
(arXiv 2209.07534, AAAI 2023): adversarial training leaves some classes far less robust than others, so
the mean robust accuracy hides a weak class. This probe attacks ``data.eval`` with PGD
(:func:`trustmap.probes.evasion.pgd`) and reports per-class clean and robust accuracy, the worst class,
and the best-minus-worst gap for both. An example counts as robust only when it is classified correctly
both clean and under attack, so robust accuracy never exceeds clean accuracy, class by class.

Defaults *(ours)*, the same as the evasion probes' (:mod:`trustmap.probes.evasion.common`): L∞ ``eps``
0.1 of the value range for images (the usual Fashion-MNIST budget) and 0.1 standard deviations for tables
(L2: 1.5 and 0.5); images are clipped to their value range, tables are not; PGD-10/20/50 for the
quick/standard/thorough budgets; step ``alpha`` ``2.5 * eps / steps`` (PGD's default) when ``None``.

Shapes: ``data.eval.x`` ``(N, C, H, W)`` or ``(N, F)``, ``data.eval.y`` ``(N,)``.

>>> probe = make_probe("robust-fairness", budget="quick", eps=0.1)
>>> result = probe.run(handle, AuditData(dataset=fashion, eval=fashion_eval), seed=0)
>>> result.metrics["worst_class_robust"], result.tables["per_class"][0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from trustmap.models.handle import ModelHandle
from trustmap.probes.base import (
    BUDGET_NAMES,
    AuditData,
    Curve,
    Dimension,
    Direction,
    Probe,
    ProbeResult,
    ScoreRule,
    clip01,
    register_probe,
)
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import torch_generator


@register_probe
@dataclass
class RobustFairness(Probe):
    """Per-class clean and PGD accuracy, worst class and best-worst gaps.

    ``eps``: attack budget in input units (``None``: the evasion probes' default for the data and norm).
    ``alpha``: PGD step (``None``: PGD's default). ``steps``: PGD iterations. ``norm``: ``linf`` or ``l2``.
    ``random_start``: start PGD from a random point in the ball. ``batch_size``: examples per attack batch.
    """

    id: ClassVar[str] = "robust-fairness"
    title: ClassVar[str] = "Robust fairness (per-class PGD accuracy)"
    dimension: ClassVar[Dimension] = "fairness"
    needs_gradients: ClassVar[bool] = True
    kinds: ClassVar[tuple[str, ...]] = ("image", "table")
    audit_budgets: ClassVar[tuple[str, ...]] = BUDGET_NAMES
    # the clean gap counts too: when no class is robust, the robust gap is small but says nothing.
    # Mended by BAT, which balances robustness across classes (for mean robustness, PGD-AT does better).
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: clip01(1 - max(m["robust_gap"], m.get("clean_gap", 0.0))) if "robust_gap" in m else None,
        evidence=lambda m: (
            f"worst class {m.get('worst_class', '?')}: clean accuracy "
            f"{m.get('worst_class_clean', 0):.1%} (gap {m.get('clean_gap', 0):.1%}), "
            f"robust {m.get('worst_class_robust', 0):.1%} (gap {m.get('robust_gap', 0):.1%})"
        ),
        defence="bat",
        command="trustmap harden --method bat --data {data} --arch {arch} --out hardened.pt2",
    )
    directions: ClassVar[Mapping[str, Direction]] = {
        "clean_accuracy": "higher",
        "robust_accuracy": "higher",
        "worst_class_clean": "higher",
        "worst_class_robust": "higher",
        "clean_gap": "lower",
        "robust_gap": "lower",
    }
    headline: ClassVar[str | None] = "robust_gap"
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"steps": 10},
        "standard": {"steps": 20},
        "thorough": {"steps": 50},
    }

    eps: float | None = None
    alpha: float | None = None
    steps: int = 20
    norm: str = "linf"
    random_start: bool = True
    batch_size: int = 256

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        if self.norm not in ("linf", "l2"):
            return f"norm must be linf or l2, not {self.norm!r}"
        if self.steps < 1 or (self.eps is not None and not self.eps >= 0):
            return f"steps must be at least 1 and eps non-negative, got steps={self.steps}, eps={self.eps}"
        return super().skip_reason(model, data)

    def resolved_eps(self, data: AuditData) -> float:
        """``eps``, or the evasion probes' default for this data and norm."""
        from trustmap.probes.evasion.common import default_eps

        return float(self.eps) if self.eps is not None else default_eps(data, self.norm)

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        # imported here: the evasion package is optional at import time
        from trustmap.probes.evasion import pgd
        from trustmap.probes.evasion.common import input_bounds

        assert model.module is not None
        eps = self.resolved_eps(data)
        clip = input_bounds(data)
        generator = torch_generator(seed)
        x_all = np.asarray(data.eval.x, dtype=np.float32)
        y_all = np.asarray(data.eval.y, dtype=np.int64)
        clean_ok, robust_ok = [], []
        starts = range(0, len(y_all), self.batch_size)
        with progress_bar("robust fairness (PGD)", total=len(starts), enabled=progress) as tick:
            for start in starts:
                xb = torch.from_numpy(np.ascontiguousarray(x_all[start : start + self.batch_size]))
                yb = torch.from_numpy(y_all[start : start + self.batch_size])
                with torch.no_grad():
                    clean = model.module(xb).argmax(1) == yb
                x_adv = pgd(
                    model.module,
                    xb,
                    yb,
                    eps=eps,
                    alpha=self.alpha,
                    steps=self.steps,
                    norm=self.norm,
                    random_start=self.random_start,
                    clip=clip,
                    generator=generator,
                )
                with torch.no_grad():
                    robust = clean & (model.module(x_adv.detach()).argmax(1) == yb)
                clean_ok.append(clean.numpy())
                robust_ok.append(robust.numpy())
                tick()
        clean_arr = np.concatenate(clean_ok) if clean_ok else np.zeros(0, bool)
        robust_arr = np.concatenate(robust_ok) if robust_ok else np.zeros(0, bool)
        result = self.result(**summarise(y_all, clean_arr, robust_arr, classes=data.dataset.classes))
        result.options.update(eps=eps, clip=list(clip) if clip else None)
        return result


def summarise(
    y: np.ndarray, clean_ok: np.ndarray, robust_ok: np.ndarray, *, classes: tuple[str, ...]
) -> dict[str, Any]:
    """Metrics, the ``per_class`` table and the bar curves from per-example correctness.

    Classes without examples appear in the table with ``None`` accuracies and are left out of the worst
    class and the gaps. ``worst_class`` is the name of the class with the lowest robust accuracy (ties:
    lowest clean accuracy, then lowest index); ``tables["worst_class"]`` repeats it with its index.
    """
    rows, clean_acc, robust_acc, present = [], [], [], []
    for c, name in enumerate(classes):
        m = y == c
        n = int(m.sum())
        ca = float(clean_ok[m].mean()) if n else None
        ra = float(robust_ok[m].mean()) if n else None
        rows.append({"class": name, "n": n, "clean": ca, "robust": ra})
        if n:
            present.append(c)
            clean_acc.append(ca)
            robust_acc.append(ra)
    if not present:
        return {
            "metrics": {},
            "tables": {"per_class": rows},
            "status": "skipped",
            "reason": "robust fairness needs at least one labelled evaluation example",
        }
    ca_arr, ra_arr = np.asarray(clean_acc), np.asarray(robust_acc)
    worst = min(range(len(present)), key=lambda i: (ra_arr[i], ca_arr[i], present[i]))
    metrics: dict[str, Any] = {
        "clean_accuracy": float(clean_ok.mean()),
        "robust_accuracy": float(robust_ok.mean()),
        "worst_class_clean": float(ca_arr.min()),
        "worst_class_robust": float(ra_arr.min()),
        "clean_gap": float(ca_arr.max() - ca_arr.min()),
        "robust_gap": float(ra_arr.max() - ra_arr.min()),
        "worst_class": classes[present[worst]],  # a name: the one non-numeric metric (gate and store skip it)
    }
    x = [float(c) for c in present]
    labels = [classes[c] for c in present]
    curves = [
        Curve("clean accuracy per class", x, ca_arr.tolist(), "class", "accuracy", kind="bar", labels=labels),
        Curve("robust accuracy per class", x, ra_arr.tolist(), "class", "accuracy", kind="bar", labels=labels),
    ]
    worst_row = {
        "class": classes[present[worst]],
        "index": present[worst],
        "clean": float(ca_arr[worst]),
        "robust": float(ra_arr[worst]),
    }
    return {"metrics": metrics, "curves": curves, "tables": {"per_class": rows, "worst_class": [worst_row]}}
