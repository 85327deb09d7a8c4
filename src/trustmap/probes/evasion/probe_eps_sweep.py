"""Probe ``eps-sweep``: robust accuracy as a function of the budget ε, under PGD (Madry et al.,
arXiv 1706.06083).

The budgets are ``grid`` multiples of the reference ``eps`` (``None``: the default for the data and norm,
see :mod:`trustmap.probes.evasion.common`); the reference itself is always included. Grids and steps by
budget: quick 4 points, PGD-10; standard 6 points, PGD-10; thorough 9 points, PGD-20.

An adversarial example found within a smaller ball is also one within every larger ball, so the sweep runs
from the smallest ε up and attacks, at each ε, only the examples that survived the previous one. The curve
is therefore monotone, and each point is at least as strong as a single PGD run at that ε.

Metrics: ``clean_accuracy``; ``robust_accuracy`` at the reference ε; ``mean_robust_accuracy``, the area
under the curve from ε=0 (clean) to the largest ε, divided by that ε; ``eps_at_half_clean``, the
interpolated ε at which robust accuracy falls to half the clean accuracy (absent if it never does).
Curve ``kind="line"``; tables ``sweep`` (``{eps, robust_accuracy}``) and ``per_class`` at the reference ε.

>>> make_probe("eps-sweep", budget="quick").run(handle, audit_data, seed=0).curves[0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from trustmap.models.handle import ModelHandle
from trustmap.probes.base import BUDGET_NAMES, AuditData, Curve, Direction, ProbeResult, register_probe
from trustmap.probes.evasion.attack_pgd import pgd
from trustmap.probes.evasion.common import NORM_LABEL, AttackProbe, input_bounds
from trustmap.probes.evasion.robust import (
    as_tensors,
    correct,
    per_class_rows,
    survivors,
)
from trustmap.utils.progress import progress_bar
from trustmap.utils.seed import torch_generator

GRIDS = {
    "quick": (0.25, 0.5, 1.0, 2.0),
    "standard": (0.1, 0.25, 0.5, 1.0, 1.5, 2.0),
    "thorough": (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
}


def eps_at_fraction(eps: list[float], acc: list[float], target: float) -> float | None:
    """The first ε (linear interpolation between grid points) where ``acc`` drops to ``target`` or below."""
    for i in range(1, len(eps)):
        if acc[i] <= target:
            a0, a1 = acc[i - 1], acc[i]
            t = 1.0 if a0 == a1 else (a0 - target) / (a0 - a1)
            return eps[i - 1] + t * (eps[i] - eps[i - 1])
    return None


def area_under(x: list[float], y: list[float]) -> float:
    """Trapezoidal area under the piecewise-linear curve through ``(x, y)``."""
    return float(sum((x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 for i in range(1, len(x))))


@register_probe
@dataclass
class EpsSweepProbe(AttackProbe):
    id = "eps-sweep"
    title = "Robust accuracy vs ε (PGD)"
    audit_budgets = BUDGET_NAMES
    directions: ClassVar[Mapping[str, Direction]] = {
        **AttackProbe.directions,
        "mean_robust_accuracy": "higher",
        "eps_at_half_clean": "higher",
    }
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"grid": GRIDS["quick"], "steps": 10},
        "standard": {"grid": GRIDS["standard"], "steps": 10},
        "thorough": {"grid": GRIDS["thorough"], "steps": 20},
    }

    norm: str = "linf"
    grid: tuple[float, ...] = GRIDS["standard"]
    steps: int = 10

    def attack_norm(self) -> str:
        return self.norm

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        if not self.grid or any(not f > 0 for f in self.grid):
            return f"grid must be positive multiples of eps, got {self.grid}"
        return None

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        eps_ref, clip = self.resolved_eps(data), input_bounds(data)
        eps_values = sorted({eps_ref * float(f) for f in self.grid} | {eps_ref})
        x, y = as_tensors(data.eval.x, data.eval.y)
        clean = correct(model, x, y, batch_size=self.batch_size)
        alive, at_ref = clean.copy(), clean.copy()
        generator = torch_generator(seed)
        accs: list[float] = []
        n_batches = len(eps_values) * ((int(clean.sum()) + self.batch_size - 1) // self.batch_size)
        with progress_bar(self.title, total=n_batches, enabled=progress) as tick:
            for eps in eps_values:
                idx = np.flatnonzero(alive)
                if len(idx):
                    sel = torch.from_numpy(idx)

                    def attack(m, xb, yb, eps=eps):  # type: ignore[no-untyped-def]
                        return pgd(m, xb, yb, eps=eps, steps=self.steps, norm=self.norm, clip=clip, generator=generator)

                    alive[idx] = survivors(model, x[sel], y[sel], attack=attack, batch_size=self.batch_size, tick=tick)
                accs.append(float(alive.mean()))
                if eps == eps_ref:
                    at_ref = alive.copy()
        xs, ys = [0.0, *eps_values], [float(clean.mean()), *accs]
        metrics: dict[str, float] = {
            "clean_accuracy": ys[0],
            "robust_accuracy": float(at_ref.mean()),
            "mean_robust_accuracy": area_under(xs, ys) / xs[-1] if xs[-1] > 0 else ys[0],
            "eps": eps_ref,
            "steps": float(self.steps),
            "n": float(len(y)),
        }
        half = eps_at_fraction(xs, ys, ys[0] / 2)
        if half is not None:
            metrics["eps_at_half_clean"] = half
        curve = Curve(
            name=f"robust accuracy vs ε (PGD-{self.steps}, {NORM_LABEL[self.norm]})",
            x=xs,
            y=ys,
            x_label=f"ε ({NORM_LABEL[self.norm]})",
            y_label="accuracy",
            kind="line",
        )
        tables = {
            "sweep": [{"eps": e, "robust_accuracy": a} for e, a in zip(xs, ys)],
            "per_class": per_class_rows(y.numpy(), clean, at_ref, data.dataset.classes),
        }
        result = self.result(metrics=metrics, curves=[curve], tables=tables)
        result.options.update(eps=eps_ref, clip=list(clip) if clip else None)
        return result
