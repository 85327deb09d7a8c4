"""Conferrable adversarial examples: a fingerprint that survives model extraction (Lukas, Zhang &
Kerschbaum, "Deep Neural Network Fingerprinting by Conferrable Adversarial Examples", ICLR 2021,
arXiv 1912.00888).

ModelDiff's DDV (arXiv 2106.08890) asks whether two models *behave* alike; an independent model trained
for the same task behaves much like the source, and a KnockoffNets copy of another architecture
(arXiv 1812.02766) not much more so. A conferrable adversarial example (CAE) is an input that the
source labels *wrongly* in a way that models **extracted from the source** (surrogates) share, while
models **trained independently on the task** (references) do not: it carries the source's own mistakes,
which only a copy inherits. The owner builds the fingerprint once:

1. Surrogates: ``n_surrogates`` models (architectures from ``archs``, in turn) trained on the source's
   soft labels for the owner's training inputs (extraction, as a thief would). References:
   ``n_references`` models trained on the true labels of the same inputs (independent).
2. From correctly labelled seed inputs ``x0``, signed-gradient steps on ``delta`` (``||delta||_inf <=
   epsilon``) minimise ``-log C(x') - CE(M(x'), y0) + mean_S CE(S(x'), M(x'))``, with the conferrability
   ``C(x') = mean_S S(x')_t * (1 - mean_R R(x')_t)`` for the source's label ``t`` on ``x'`` (the paper's
   ensemble loss; ``M`` is the source, or the surrogates' mean when the source is black-box).
3. Keep the ``n`` inputs that fool the source (``t != y0``) with the highest ``C``.
4. Calibrate on one held-out surrogate and one held-out reference (never used in steps 1-3): the
   verdict threshold is the midpoint of their CAE accuracies.

A suspect's **CAE accuracy** (the paper's verification score) is the share of fingerprints on which it
gives the source's label; a suspect is a copy when it reaches the threshold.

Shapes: training inputs ``(N, *input_shape)``, labels ``(N,)``; fingerprints ``(n, *input_shape)`` with
source labels ``(n,)``. Defaults: ``n`` 100, ``epsilon`` 0.15, ``steps`` 40, 2 surrogates + 2
references (+1 + 1 held out), ``epochs`` 4 on at most 5,000 training inputs.

>>> fp = make_fingerprint(source, train_x=ds.train.x, train_y=ds.train.y, seeds_x=ds.test.x,
...                       seeds_y=ds.test.y, value_range=(0.0, 1.0), seed=0)
>>> cae_accuracy(fp, suspect), fp.threshold            # e.g. 0.81 for a stolen copy, 0.42 otherwise
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trustmap.errors import TrustmapError
from trustmap.models.architectures import arch_info, build_model
from trustmap.models.handle import ModelHandle
from trustmap.models.train import TrainConfig, fit
from trustmap.probes.extraction.knockoff import softmax, train_thief
from trustmap.utils.seed import seeded_global_rng

Model = ModelHandle | nn.Module


@dataclass
class Fingerprint:
    """The owner's conferrable adversarial examples and the calibrated verdict threshold."""

    inputs: torch.Tensor  # (n, *input_shape)
    labels: np.ndarray  # (n,) the source's labels on ``inputs``
    conferrability: np.ndarray  # (n,) C(x') on the generation ensemble
    threshold: float  # midpoint of the held-out surrogate's and reference's CAE accuracy
    surrogate_accuracy: float  # held-out surrogate (an extracted copy): CAE accuracy
    reference_accuracy: float  # held-out reference (an independent model): CAE accuracy
    epsilon: float
    archs: tuple[str, ...]


@dataclass
class ConferrableResult:
    """A suspect's CAE accuracy against the source's fingerprint, and the verdict."""

    cae_accuracy: float  # share of fingerprints where the suspect gives the source's label
    threshold: float
    stolen: bool  # cae_accuracy >= threshold (and the calibration separated copy from reference)
    n_fingerprints: int
    surrogate_accuracy: float
    reference_accuracy: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _module(model: Model) -> nn.Module | None:
    if isinstance(model, nn.Module):
        return model.eval()
    return model.module.eval() if model.white_box and model.module is not None else None


@torch.no_grad()
def _logits(model: Model, x: torch.Tensor, *, batch_size: int = 500) -> torch.Tensor:
    if isinstance(model, nn.Module):
        model.eval()
    return torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])


def _train_models(
    source: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    archs: Sequence[str],
    n: int,
    surrogate: bool,
    epochs: int,
    seed: int,
    input_shape: tuple[int, ...],
    num_classes: int,
) -> list[nn.Module]:
    """``n`` surrogates (the source's soft labels on ``x``) or references (the true labels ``y``)."""
    probs = softmax(_logits(source, torch.from_numpy(x)).numpy()) if surrogate else None
    models = []
    for i in range(n):
        arch, s = archs[i % len(archs)], seed + 97 * i + (0 if surrogate else 13)
        model = build_model(arch, input_shape=input_shape, num_classes=num_classes, seed=s)
        config = TrainConfig(epochs=epochs, batch_size=64, lr=2e-3)
        with seeded_global_rng(s):
            if surrogate:
                train_thief(model, x, probs, soft=True, config=config, seed=s)
            else:
                fit(model, _split(x, y), config=config, seed=s, progress=False)
        models.append(model.eval())
    return models


def _split(x: np.ndarray, y: np.ndarray):
    from trustmap.data.dataset import Split

    return Split(x, y.astype(np.int64))


def _generate(
    source: Model,
    surrogates: list[nn.Module],
    references: list[nn.Module],
    x0: torch.Tensor,
    y0: torch.Tensor,
    *,
    adversarial: torch.Tensor,
    epsilon: float,
    steps: int,
    lo: float,
    hi: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Signed-gradient search for conferrable examples; returns ``x'``, the source's labels, ``C(x')``.
    The term that pushes the source off ``y0`` applies where ``adversarial`` (task seeds) is true."""
    src = _module(source)
    for m in [*surrogates, *references]:
        m.requires_grad_(False)
    x, step = x0.clone(), 2.5 * epsilon / max(steps, 1)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        sur = torch.stack([F.softmax(m(x), 1) for m in surrogates])  # (S, n, K)
        ref = torch.stack([F.softmax(m(x), 1) for m in references]).mean(0)
        src_logits = src(x) if src is not None else torch.log(sur.mean(0) + 1e-8)
        t = src_logits.argmax(1).detach()
        conf = sur.mean(0).gather(1, t[:, None])[:, 0] * (1 - ref.gather(1, t[:, None])[:, 0])
        follow = torch.stack([-(F.softmax(src_logits, 1).detach() * torch.log(s + 1e-8)).sum(1) for s in sur]).mean(0)
        away = F.cross_entropy(src_logits, y0, reduction="none") * adversarial
        loss = (-torch.log(conf + 1e-6) - away + follow).sum()
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = (x0 + (x - step * grad.sign() - x0).clamp(-epsilon, epsilon)).clamp(lo, hi)
    x = x.detach()
    with torch.no_grad():
        t = _logits(source, x).argmax(1)
        sur = torch.stack([F.softmax(m(x), 1) for m in surrogates]).mean(0)
        ref = torch.stack([F.softmax(m(x), 1) for m in references]).mean(0)
        conf = sur.gather(1, t[:, None])[:, 0] * (1 - ref.gather(1, t[:, None])[:, 0])
    return x, t, conf


def default_archs(input_shape: Sequence[int]) -> tuple[str, ...]:
    """Surrogate and reference architectures: CNN-S and MLP for images, MLP and logistic regression for tables."""
    return ("cnn-s", "mlp") if len(input_shape) == 3 else ("mlp", "logreg")


def make_fingerprint(
    source: Model,
    *,
    train_x: np.ndarray,
    train_y: np.ndarray,
    seeds_x: np.ndarray,
    seeds_y: np.ndarray,
    n: int = 100,
    epsilon: float = 0.15,
    steps: int = 40,
    n_surrogates: int = 2,
    n_references: int = 2,
    archs: Sequence[str] | None = None,
    epochs: int = 4,
    train_size: int = 5000,
    query_x: np.ndarray | None = None,
    query_share: float = 1.0,
    value_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> Fingerprint:
    """Build the source's CAE fingerprint (see the module docstring); ``seed`` fixes every draw.

    ``query_x``: inputs of the distribution a thief would query with (KnockoffNets' natural out-of-task
    images, e.g. MNIST for a Fashion-MNIST model). The surrogates are then extracted on the source's
    answers for them as well, and half of the candidate seeds come from them, so the fingerprint also
    covers what a copy learns there and an independent model never saw.
    """
    if n < 1 or steps < 0 or epsilon <= 0 or n_surrogates < 1 or n_references < 1:
        raise TrustmapError(
            "conferrable fingerprints need n >= 1, steps >= 0, epsilon > 0 and at least one surrogate and one reference"
        )
    train_x, seeds_x = np.asarray(train_x, np.float32), np.asarray(seeds_x, np.float32)
    if len(train_x) < 20 or len(seeds_x) < 2:
        raise TrustmapError("conferrable fingerprints need at least 20 training and 2 seed inputs")
    shape = tuple(train_x.shape[1:])
    archs = tuple(archs or default_archs(shape))
    for a in archs:
        arch_info(a)  # one-line error for an unknown name
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(train_x))[:train_size]
    x, y = train_x[idx], np.asarray(train_y)[idx]
    qx = None if query_x is None else np.asarray(query_x, np.float32)[rng.permutation(len(query_x))]
    if qx is not None and tuple(qx.shape[1:]) != shape:
        raise TrustmapError(f"query inputs have shape {tuple(qx.shape[1:])}, the training inputs {shape}")
    num_classes = int(_logits(source, torch.from_numpy(x[:2])).shape[1])
    kw = {"archs": archs, "epochs": epochs, "input_shape": shape, "num_classes": num_classes}
    sx = x if qx is None else np.concatenate([x, qx[:train_size]])
    surrogates = _train_models(source, sx, y, n=n_surrogates + 1, surrogate=True, seed=seed + 1, **kw)
    references = _train_models(source, x, y, n=n_references + 1, surrogate=False, seed=seed + 2, **kw)
    held_sur, held_ref = surrogates.pop(), references.pop()  # calibration only, never used to generate
    # candidates: task inputs the source labels correctly (and query inputs), three per fingerprint kept
    xs = torch.from_numpy(seeds_x)
    ys = torch.as_tensor(np.asarray(seeds_y), dtype=torch.int64)
    ok = torch.nonzero(_logits(source, xs).argmax(1) == ys)[:, 0]
    n_query = 0 if qx is None else round(3 * n * query_share)
    n_task = 3 * n - n_query
    pick = ok[torch.from_numpy(rng.permutation(len(ok))[:n_task])] if len(ok) else torch.arange(min(len(xs), n_task))
    x0, y0 = xs[pick], ys[pick]
    adversarial = torch.ones(len(x0))
    if qx is not None:
        xq = torch.from_numpy(qx[train_size : train_size + n_query] if len(qx) > train_size else qx[:n_query])
        x0, y0 = torch.cat([x0, xq]), torch.cat([y0, _logits(source, xq).argmax(1)])
        adversarial = torch.cat([adversarial, torch.zeros(len(xq))])
    lo, hi = value_range if value_range is not None else (-float("inf"), float("inf"))
    xa, t, conf = _generate(
        source, surrogates, references, x0, y0, adversarial=adversarial, epsilon=epsilon, steps=steps, lo=lo, hi=hi
    )
    usable = (t != y0) | (adversarial == 0)  # task seeds must fool the source (an adversarial example)
    score = torch.where(usable, conf, conf - 2.0)  # usable examples first, then by conferrability
    keep = torch.argsort(score, descending=True)[:n]
    inputs, labels = xa[keep], t[keep].numpy()
    sur_acc = _agree(held_sur, inputs, labels)
    ref_acc = _agree(held_ref, inputs, labels)
    return Fingerprint(
        inputs=inputs,
        labels=labels,
        conferrability=conf[keep].numpy(),
        threshold=(sur_acc + ref_acc) / 2,
        surrogate_accuracy=sur_acc,
        reference_accuracy=ref_acc,
        epsilon=epsilon,
        archs=archs,
    )


def _agree(model: Model, x: torch.Tensor, labels: np.ndarray) -> float:
    return float((_logits(model, x).argmax(1).numpy() == labels).mean())


def cae_accuracy(fingerprint: Fingerprint, suspect: Model) -> float:
    """Share of the fingerprints on which ``suspect`` gives the source's label (black-box: top-1 only)."""
    return _agree(suspect, fingerprint.inputs, fingerprint.labels)


def verify(fingerprint: Fingerprint, suspect: Model) -> ConferrableResult:
    """The suspect's CAE accuracy and the verdict at the fingerprint's calibrated threshold."""
    acc = cae_accuracy(fingerprint, suspect)
    separated = fingerprint.surrogate_accuracy > fingerprint.reference_accuracy
    note = (
        ""
        if separated
        else ("the held-out copy did not retain the fingerprint better than the held-out independent model; no verdict")
    )
    return ConferrableResult(
        cae_accuracy=acc,
        threshold=fingerprint.threshold,
        stolen=bool(separated and acc >= fingerprint.threshold),
        n_fingerprints=len(fingerprint.labels),
        surrogate_accuracy=fingerprint.surrogate_accuracy,
        reference_accuracy=fingerprint.reference_accuracy,
        note=note,
    )
