"""KnockoffNets model stealing (Orekondy, Schiele & Fritz, "Knockoff Nets: Stealing Functionality of
Black-Box Models", CVPR 2019, arXiv 1812.02766).

A thief sends unlabelled queries to the black-box victim and trains its own model (the "knockoff") on
the answers: with **soft labels** it minimises the cross-entropy to the victim's probability vectors
(equal to the KL divergence up to a constant), with **hard labels** the cross-entropy to the victim's
top-1 class. The probe sweeps the query budget and reports how good the knockoff gets: its accuracy on
``data.eval`` (true labels) and its **fidelity**, the fraction of ``data.eval`` on which it agrees with
the victim. Only :meth:`ModelHandle.predict` is called (black-box); queries are the ``data.pool``
(held-out data of the same dataset) unless ``query_pool`` names another dataset (e.g. ``"mnist-5k"``,
the natural out-of-distribution set of the paper's spirit), whose train and test inputs are all used.

Thief: ``thief_arch`` (default ``cnn-s`` for images, ``mlp`` for tables), Adam with a one-cycle
schedule, ``batch_size`` 64, ``max(epochs, enough epochs for min_steps steps)`` epochs. Budgets are
nested: the first ``b`` queries of one seeded permutation. The soft and hard knockoffs at a budget start
from the same weights. Shapes: queries ``(Q, *input_shape)``, victim probabilities ``(Q, classes)``.

Defaults (quick / standard / thorough): ``budgets`` [250, 1000] / [250, 1000, 4000] /
[250, 1000, 4000, 16000]; ``epochs`` 8, ``min_steps`` 100, ``lr`` 2e-3.

>>> probe = make_probe("knockoff", budget="standard", query_pool="mnist-5k")
>>> result = probe.run(handle.black_box(), AuditData(ds, eval=ds.test), seed=0)
>>> result.metrics["thief_accuracy"], result.metrics["fidelity"]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.data.dataset import Split
from trustmap.errors import DataError, TrustmapError
from trustmap.models.architectures import arch_info, build_model
from trustmap.models.handle import ModelHandle
from trustmap.models.train import TrainConfig, fit
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

THIEF_ARCH = {"image": "cnn-s", "table": "mlp"}
LABELS = ("soft", "hard")


def _seed(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0] & 0x7FFFFFFF)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def train_thief(
    thief: nn.Module,
    queries: np.ndarray,
    targets: np.ndarray,
    *,
    soft: bool,
    config: TrainConfig,
    seed: int,
    progress: bool | None = None,
    description: str = "knockoff",
) -> nn.Module:
    """Train ``thief`` on ``queries (b, ...)`` with ``targets``: probabilities ``(b, K)`` or classes ``(b,)``.

    Uses the one training loop (:func:`trustmap.models.fit`): the split's labels are row indices into
    ``targets``, and the loss looks the answers up, so soft labels need no second loop.
    """
    answers = torch.from_numpy(targets.astype(np.float32 if soft else np.int64))

    def loss(model: nn.Module, xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(xb), answers[rows])  # probability targets: CE = KL + const

    fit(
        thief,
        Split(queries, np.arange(len(queries), dtype=np.int64)),
        config=config,
        seed=seed,
        loss_fn=loss,
        progress=progress,
        description=description,
    )
    return thief.eval()


@torch.no_grad()
def predict_classes(model: nn.Module, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    model.eval()
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return torch.cat([model(t[i : i + batch_size]).argmax(1) for i in range(0, len(t), batch_size)]).numpy()


@register_probe
@dataclass
class KnockoffNets(Probe):
    """Black-box model stealing with a query-budget sweep, soft and hard labels. See the module docstring."""

    id: ClassVar[str] = "knockoff"
    title: ClassVar[str] = "Model extraction (KnockoffNets)"
    dimension: ClassVar[Dimension] = "security"
    needs_gradients: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("image", "table")
    audit_budgets: ClassVar[tuple[str, ...]] = BUDGET_NAMES
    # fidelity 0.5 or more (the thief agrees with the model on half the inputs) scores 0; mended by InI
    rule: ClassVar[ScoreRule | None] = ScoreRule(
        score=lambda m: clip01(1 - m["fidelity"]) * 2 if "fidelity" in m else None,
        evidence=lambda m: (
            f"a KnockoffNets thief reaches {m.get('thief_accuracy', 0):.1%} accuracy, "
            f"{m.get('fidelity', 0):.1%} agreement with the model"
        ),
        defence="ini",
        command="trustmap harden --method ini --data {data} --arch {arch} --out guarded.pt2",
    )
    # how well the thief copies the model: lower is better (the victim's own accuracy: higher)
    directions: ClassVar[Mapping[str, Direction]] = {
        "thief_accuracy": "lower",
        "fidelity": "lower",
        "relative_accuracy": "lower",
        "victim_accuracy": "higher",
    }
    headline: ClassVar[str | None] = "thief_accuracy"
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {"budgets": [250, 1000]},
        "standard": {"budgets": [250, 1000, 4000]},
        "thorough": {"budgets": [250, 1000, 4000, 16000]},
    }

    budgets: list[int] = field(default_factory=lambda: [250, 1000, 4000])
    query_pool: str | None = None
    thief_arch: str | None = None
    hard_labels: bool = True
    epochs: int = 8
    min_steps: int = 100
    batch_size: int = 64
    lr: float = 2e-3

    def __post_init__(self) -> None:
        if not self.budgets or any(int(b) < 1 for b in self.budgets):
            raise TrustmapError(f"knockoff budgets must be positive query counts, got {self.budgets}")
        self.budgets = sorted({int(b) for b in self.budgets})
        if self.epochs < 1 or self.min_steps < 0 or self.batch_size < 1 or self.lr <= 0:
            raise TrustmapError("knockoff needs epochs >= 1, min_steps >= 0, batch_size >= 1 and lr > 0")

    def skip_reason(self, model: ModelHandle, data: AuditData) -> str | None:
        reason = super().skip_reason(model, data)
        if reason:
            return reason
        if self.query_pool is None and (data.pool is None or len(data.pool) == 0):
            return "needs query data for the thief: an audit pool, or query_pool=<dataset name>"
        return None

    def queries(self, model: ModelHandle, data: AuditData) -> tuple[np.ndarray, str]:
        """The query inputs and where they came from; checks that they fit the model's input shape."""
        expected = tuple(model.meta.input_shape or data.dataset.input_shape)
        if self.query_pool is None:
            assert data.pool is not None
            return data.pool.x, f"audit pool of {data.dataset.name}"
        from trustmap.data import load_dataset

        qds = load_dataset(self.query_pool)
        x = np.concatenate([s.x for s in (qds.train, qds.test, qds.dev) if s is not None])
        if qds.kind != data.dataset.kind or tuple(x.shape[1:]) != expected:
            raise DataError(
                f"query_pool {self.query_pool} has {qds.kind} inputs of shape {tuple(x.shape[1:])} but the model "
                f"expects {data.dataset.kind} inputs of shape {expected}; choose a query pool that matches"
            )
        expected_range = model.meta.value_range or data.dataset.value_range
        if qds.value_range and expected_range and tuple(qds.value_range) != tuple(expected_range):
            raise DataError(
                f"query_pool {self.query_pool} has values in {tuple(qds.value_range)} but the model expects "
                f"{tuple(expected_range)}; choose a query pool with the same value range"
            )
        return x, self.query_pool

    def config_for(self, budget: int) -> TrainConfig:
        steps_per_epoch = math.ceil(budget / self.batch_size)
        epochs = max(self.epochs, math.ceil(self.min_steps / steps_per_epoch))
        return TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, optimizer="adam")

    def measure(self, model: ModelHandle, data: AuditData, *, seed: int, progress: bool | None) -> ProbeResult:
        kind = data.dataset.kind
        arch = self.thief_arch or THIEF_ARCH[kind]
        if kind not in arch_info(arch).kinds:  # arch_info raises a one-line error for an unknown name
            raise TrustmapError(f"thief_arch {arch!r} cannot learn {kind} data; try {THIEF_ARCH[kind]}")
        pool, source = self.queries(model, data)
        budgets = sorted({min(b, len(pool)) for b in self.budgets})
        order = np.random.default_rng(_seed(seed, 0x6B6E6F)).permutation(len(pool))[: budgets[-1]]
        queries = np.ascontiguousarray(pool[order])
        probs = softmax(model.predict(queries))  # the only access to the victim: black-box answers
        victim_eval = model.predict(data.eval.x).argmax(1)
        victim_acc = float((victim_eval == data.eval.y).mean())
        shape = tuple(model.meta.input_shape or data.dataset.input_shape)
        labels = LABELS if self.hard_labels else LABELS[:1]
        rows, metrics = [], {"victim_accuracy": victim_acc}
        for b in budgets:
            config = self.config_for(b)
            for label in labels:
                thief = build_model(arch, input_shape=shape, num_classes=probs.shape[1], seed=_seed(seed, 1, b))
                targets = probs[:b] if label == "soft" else probs[:b].argmax(1)
                train_thief(
                    thief,
                    queries[:b],
                    targets,
                    soft=label == "soft",
                    config=config,
                    seed=_seed(seed, 2, b),
                    progress=progress,
                    description=f"knockoff {label} labels, {b} queries",
                )
                pred = predict_classes(thief, data.eval.x)
                acc, fid = float((pred == data.eval.y).mean()), float((pred == victim_eval).mean())
                rows.append(
                    {"budget": b, "labels": label, "epochs": config.epochs, "thief_accuracy": acc, "fidelity": fid}
                )
                metrics[f"thief_accuracy_{label}_{b}"], metrics[f"fidelity_{label}_{b}"] = acc, fid
        top = next(r for r in rows if r["budget"] == budgets[-1] and r["labels"] == "soft")
        metrics.update(
            thief_accuracy=top["thief_accuracy"],
            fidelity=top["fidelity"],
            queries=float(budgets[-1]),
            relative_accuracy=top["thief_accuracy"] / victim_acc if victim_acc > 0 else 0.0,
        )
        curves = [
            Curve(
                name=f"{name} ({label} labels)",
                x=[float(r["budget"]) for r in rows if r["labels"] == label],
                y=[r[key] for r in rows if r["labels"] == label],
                x_label="queries",
                y_label=name,
                kind="line",
            )
            for label in labels
            for key, name in (("thief_accuracy", "thief accuracy"), ("fidelity", "fidelity"))
        ]
        info = [
            {
                "query_pool": source,
                "thief_arch": arch,
                "queries_available": int(len(pool)),
                "victim_accuracy": victim_acc,
            }
        ]
        return self.result(metrics=metrics, curves=curves, tables={"sweep": rows, "setup": info})
