"""What the white-box evasion probes share: default budgets, the input range, and one ``run``.

Default budgets (``eps=None``), for inputs in the dataset's ``value_range`` (images) or standardised
features (tables, zero mean and unit variance per feature):

=========  ======================================  =============================
norm       images (scaled by ``hi - lo``)          tables (standardised)
=========  ======================================  =============================
``linf``   0.1 (the usual Fashion-MNIST budget)    0.1 (a tenth of a std. dev.)
``l2``     1.5                                     0.5
=========  ======================================  =============================

Images are clipped to ``value_range``; tables are not clipped (one-hot columns included: the probe
measures sensitivity to small feature shifts, not realisable records).

A subclass sets ``id``/``title``, adds its options as dataclass fields and overrides :meth:`make_attack`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from trustmap.models.handle import ModelHandle
from trustmap.probes.base import AuditData, Curve, Dimension, Direction, Probe, ProbeResult, ScoreRule, kept_fraction
from trustmap.probes.evasion.geometry import NORMS, Clip
from trustmap.probes.evasion.robust import Attack, RobustEval, robust_accuracy
from trustmap.utils.seed import torch_generator

DEFAULT_EPS: dict[tuple[str, str], float] = {
    ("image", "linf"): 0.1,
    ("image", "l2"): 1.5,
    ("table", "linf"): 0.1,
    ("table", "l2"): 0.5,
}
NORM_LABEL = {"linf": "L∞", "l2": "L2"}
# what mends low robust accuracy: PGD adversarial training, whose repro holds (BAT trades mean robust
# accuracy for robust fairness, so it is the mend for the worst class only)
HARDEN_PGD_AT = "trustmap harden --method pgd-at --data {data} --arch {arch} --out hardened.pt2"


def kept_accuracy_rule(who: str, *, robust: str = "robust_accuracy", clean_too: bool = False) -> ScoreRule:
    """The scorecard rule of an evasion probe: the share of its clean accuracy the model keeps under attack
    (``metrics[robust] / metrics["clean_accuracy"]``), with the evidence line ``"{who} 41.0% accuracy"``."""

    def evidence(m: Mapping[str, float]) -> str:
        clean = f" (clean {m.get('clean_accuracy', 0):.1%})" if clean_too else ""
        return f"{who} {m.get(robust, 0):.1%} accuracy{clean}"

    return ScoreRule(
        score=lambda m: kept_fraction(m, robust, "clean_accuracy"),
        evidence=evidence,
        defence="pgd-at",
        command=HARDEN_PGD_AT,
    )


def input_bounds(data: AuditData) -> Clip:
    """The valid range to clip adversarial inputs to: the image value range, ``None`` for tables."""
    vr = data.dataset.value_range
    if data.dataset.kind != "image" or not vr:
        return None
    return float(vr[0]), float(vr[1])


def default_eps(data: AuditData, norm: str) -> float:
    """The default budget for ``norm`` on this data (see the module docstring)."""
    kind = "image" if data.dataset.kind == "image" else "table"
    eps = DEFAULT_EPS[(kind, norm)]
    bounds = input_bounds(data)
    return eps * (bounds[1] - bounds[0]) if bounds else eps


def per_class_curve(ev: RobustEval, classes: tuple[str, ...], name: str) -> Curve:
    rows = ev.per_class(classes)
    return Curve(
        name=name,
        x=[float(i) for i in range(len(rows))],
        y=[r["robust"] or 0.0 for r in rows],
        x_label="class",
        y_label="robust accuracy",
        kind="bar",
        labels=[r["class"] for r in rows],
    )


@dataclass
class AttackProbe(Probe):
    """Base of the white-box attack probes. ``eps``: the budget (``None``: the default for the data)."""

    dimension: ClassVar[Dimension] = "robustness"
    needs_gradients: ClassVar[bool] = True
    kinds: ClassVar[tuple[str, ...]] = ("image", "table")
    directions: ClassVar[Mapping[str, Direction]] = {
        "clean_accuracy": "higher",
        "robust_accuracy": "higher",
        "attack_success_rate": "lower",
    }
    headline: ClassVar[str | None] = "robust_accuracy"

    eps: float | None = None
    batch_size: int = 256

    def attack_norm(self) -> str:
        return "linf"

    def make_attack(self, *, eps: float, clip: Clip, seed: int) -> Attack:
        raise NotImplementedError

    def steps_taken(self) -> int:
        return 1

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        if self.eps is not None and not self.eps >= 0:
            return f"eps must be non-negative, got {self.eps}"
        if self.batch_size < 1:
            return f"batch_size must be at least 1, got {self.batch_size}"
        if len(data.eval) == 0:
            return "no evaluation examples"
        norm, steps = self.attack_norm(), getattr(self, "steps", 1)
        if norm not in NORMS:
            return f"norm must be linf or l2, not {norm!r}"
        if steps < 1:
            return f"steps must be at least 1, got {steps}"
        return None

    def resolved_eps(self, data: AuditData) -> float:
        return float(self.eps) if self.eps is not None else default_eps(data, self.attack_norm())

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        eps, clip = self.resolved_eps(data), input_bounds(data)
        attack = self.make_attack(eps=eps, clip=clip, seed=seed)
        ev = robust_accuracy(
            model,
            data.eval.x,
            data.eval.y,
            attack=attack,
            batch_size=self.batch_size,
            progress=progress,
            description=self.title,
        )
        metrics: dict[str, float] = {**ev.metrics(), "eps": eps, "steps": float(self.steps_taken())}
        label = f"robust accuracy per class ({NORM_LABEL[self.attack_norm()]} ε={eps:g})"
        result = self.result(
            metrics=metrics,
            tables={"per_class": ev.per_class(data.dataset.classes)},
            curves=[per_class_curve(ev, data.dataset.classes, label)],
        )
        result.options.update(eps=eps, norm=self.attack_norm(), clip=list(clip) if clip else None)
        return result


def seeded(fn: Any, *, seed: int, **kw: Any) -> Attack:
    """``fn`` with its options bound and a private generator seeded by ``seed`` (shared across batches)."""
    return functools.partial(fn, generator=torch_generator(seed), **kw)
