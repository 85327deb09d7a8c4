"""Backdoor poisoning: BadNets patch triggers and blended triggers, toward one target class.

- **BadNets** (Gu, Dolan-Gavitt & Garg, "BadNets: Identifying Vulnerabilities in the Machine Learning Model
  Supply Chain", arXiv 1708.06733): a small patch (here a ``size`` x ``size`` checkerboard or solid square
  of brightness ``value``) stamped in one corner of the image.
- **Blended** (Chen et al., "Targeted Backdoor Attacks on Deep Learning Systems Using Data Poisoning",
  arXiv 1712.05526): a full-image random pattern mixed in with weight ``alpha``.

Both are the same operation, the one Neural Cleanse inverts: ``x' = (1 - m) * x + m * p`` with a mask ``m``
(1 on the patch, ``alpha`` everywhere for a blend) and a pattern ``p`` (see :meth:`Trigger.mask_pattern`).
Poisoning is all-to-one: a fraction ``rate`` of the training split, drawn from the examples whose label is
not ``target``, gets the trigger and the label ``target``.

Shapes: images ``(N, C, H, W)`` with values in ``[0, 1]``; labels ``(N,)``.

>>> trig = Trigger("patch", size=4, position="bottom-right")
>>> poisoned = poison_split(ds.train, trigger=trig, target=3, rate=0.1, seed=0)
>>> backdoored = train_poisoned(ds, arch="cnn-s", trigger=trig, target=3, rate=0.1, seed=0)
>>> attack_success_rate(backdoored.handle, ds.test.x, ds.test.y, trigger=trig, target=3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from trustmap.data.dataset import Dataset, Split
from trustmap.errors import TrustmapError
from trustmap.models.handle import ModelHandle
from trustmap.utils.seed import derive_seed

TriggerKind = Literal["patch", "blend"]
KINDS: tuple[str, ...] = ("patch", "blend")
POSITIONS: tuple[str, ...] = ("bottom-right", "bottom-left", "top-right", "top-left")
PATCH_PATTERNS: tuple[str, ...] = ("checker", "solid")


@dataclass(frozen=True)
class Trigger:
    """A backdoor trigger for images in ``[0, 1]``.

    ``kind``: ``patch`` (BadNets) or ``blend``. Patch: a ``size`` x ``size`` square at ``position`` (a corner,
    ``margin`` pixels from the edges), filled with ``pattern`` ``checker`` (``value`` and 0 alternating) or
    ``solid`` (all ``value``). Blend: a uniform random image drawn from ``seed``, mixed in with weight
    ``alpha``.
    """

    kind: str = "patch"
    size: int = 4
    position: str = "bottom-right"
    value: float = 1.0
    pattern: str = "checker"
    alpha: float = 0.15
    margin: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TrustmapError(f"unknown trigger kind {self.kind!r}; use patch or blend")
        if self.position not in POSITIONS:
            raise TrustmapError(f"unknown trigger position {self.position!r}; use one of {', '.join(POSITIONS)}")
        if self.pattern not in PATCH_PATTERNS:
            raise TrustmapError(f"unknown patch pattern {self.pattern!r}; use checker or solid")
        if not 1 <= self.size <= 64 or self.margin < 0:
            raise TrustmapError(f"trigger size must be 1..64 pixels and margin >= 0, got {self.size}, {self.margin}")
        if not 0.0 <= self.value <= 1.0:
            raise TrustmapError(f"trigger value must be in [0, 1] (images in [0, 1]), got {self.value}")
        if not 0.0 < self.alpha <= 1.0:
            raise TrustmapError(f"blend alpha must be in (0, 1], got {self.alpha}")

    def mask_pattern(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The mask ``(1, H, W)`` and the pattern ``(C, H, W)`` (float32) for images of shape ``(C, H, W)``."""
        if len(shape) != 3:
            raise TrustmapError(f"triggers apply to images (C, H, W), got input shape {tuple(shape)}")
        c, h, w = (int(s) for s in shape)
        if self.kind == "blend":
            rng = np.random.default_rng(derive_seed(self.seed, 0xB1E))
            return np.full((1, h, w), self.alpha, np.float32), rng.random((c, h, w), dtype=np.float32)
        s, g = self.size, self.margin
        if s + g > min(h, w):
            raise TrustmapError(f"a {s}-pixel patch {g} pixels from the edge does not fit {h}x{w} images")
        top = g if self.position.startswith("top") else h - g - s
        left = g if self.position.endswith("left") else w - g - s
        mask = np.zeros((1, h, w), np.float32)
        mask[:, top : top + s, left : left + s] = 1.0
        pattern = np.zeros((c, h, w), np.float32)
        cells = np.full((s, s), self.value, np.float32)
        if self.pattern == "checker":
            cells *= (np.add.outer(np.arange(s), np.arange(s)) % 2 == 0).astype(np.float32)
        pattern[:, top : top + s, left : left + s] = cells
        return mask, pattern

    def describe(self) -> dict[str, Any]:
        """The trigger's options, for a model's metadata (JSON-safe)."""
        if self.kind == "blend":
            return {"kind": "blend", "alpha": self.alpha, "seed": self.seed}
        return {
            "kind": "patch",
            "size": self.size,
            "position": self.position,
            "value": self.value,
            "pattern": self.pattern,
            "margin": self.margin,
        }


def stamp(x: Any, mask: Any, pattern: Any) -> Any:
    """``(1 - mask) * x + mask * pattern`` for numpy arrays or torch tensors (shapes broadcast)."""
    return (1 - mask) * x + mask * pattern


def apply_trigger(x: np.ndarray | torch.Tensor, trigger: Trigger) -> np.ndarray | torch.Tensor:
    """Stamp ``trigger`` on images ``x (N, C, H, W)`` in ``[0, 1]``; returns a new array of the same type."""
    if x.ndim != 4:
        raise TrustmapError(f"apply_trigger needs images (N, C, H, W), got shape {tuple(x.shape)}")
    mask, pattern = trigger.mask_pattern(tuple(x.shape[1:]))
    if isinstance(x, torch.Tensor):
        return stamp(x, torch.from_numpy(mask).to(x), torch.from_numpy(pattern).to(x))
    return stamp(x.astype(np.float32, copy=False), mask, pattern).astype(np.float32)


@dataclass(frozen=True, eq=False)
class PoisonedSplit:
    """The poisoned training split, the ``indices`` (into the input split) that carry the trigger, and how."""

    split: Split
    indices: np.ndarray
    trigger: Trigger
    target: int
    rate: float
    seed: int

    def describe(self) -> dict[str, Any]:
        """What a backdoored model's metadata records under ``extra["poison"]``."""
        return {
            **self.trigger.describe(),
            "target": self.target,
            "rate": self.rate,
            "poisoned": int(len(self.indices)),
            "seed": self.seed,
        }


def _check_target(target: int, num_classes: int) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < num_classes:
        raise TrustmapError(f"the poison target must be a class index in 0..{num_classes - 1}, got {target!r}")


def poison_split(
    split: Split, *, trigger: Trigger, target: int, rate: float, seed: int, num_classes: int | None = None
) -> PoisonedSplit:
    """Stamp ``trigger`` on ``round(rate * len(split))`` examples whose label is not ``target`` (drawn with
    ``seed``) and relabel them ``target``. The input split is not modified."""
    if not (isinstance(rate, (int, float)) and 0.0 < rate < 1.0):
        raise TrustmapError(f"the poisoning rate must be a fraction in (0, 1), got {rate!r}")
    k = num_classes if num_classes is not None else int(split.y.max()) + 1 if len(split) else 0
    _check_target(target, k)
    if split.x.ndim != 4:
        raise TrustmapError(f"backdoor triggers need image data (N, C, H, W), got inputs of shape {split.x.shape}")
    candidates = np.flatnonzero(split.y != target)
    n = int(round(rate * len(split)))
    if n < 1 or n > len(candidates):
        raise TrustmapError(f"cannot poison {n} of {len(split)} examples ({len(candidates)} are not class {target})")
    rng = np.random.default_rng(derive_seed(seed, 0xBAD))
    idx = np.sort(rng.choice(candidates, size=n, replace=False))
    x, y = split.x.astype(np.float32, copy=True), split.y.copy()
    x[idx] = apply_trigger(x[idx], trigger)
    y[idx] = target
    poisoned = Split(x, y, {k2: v.copy() for k2, v in split.sensitive.items()})
    return PoisonedSplit(poisoned, idx.astype(np.int64), trigger, int(target), float(rate), int(seed))


@torch.no_grad()
def attack_success_rate(
    model: ModelHandle | torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    trigger: Trigger,
    target: int,
    batch_size: int = 512,
) -> float:
    """The fraction of inputs not of class ``target`` that the model puts in ``target`` once triggered."""
    keep = np.asarray(y) != target
    if not keep.any():
        return float("nan")
    xt = apply_trigger(np.asarray(x)[keep], trigger)
    if isinstance(model, ModelHandle):
        pred = model.predict(xt, batch_size=batch_size).argmax(1)
    else:
        model.eval()
        t = torch.from_numpy(np.ascontiguousarray(xt))
        pred = torch.cat([model(t[i : i + batch_size]).argmax(1) for i in range(0, len(t), batch_size)]).numpy()
    return float((pred == target).mean())


@dataclass(frozen=True)
class Poisoning:
    """A training-set transform for :func:`trustmap.models.workflows.train_and_save`: poisons the split it is
    given and returns the description that goes into the model's metadata (``extra["poison"]``)."""

    trigger: Trigger
    target: int
    rate: float
    seed: int

    def __call__(self, train: Split, ds: Dataset) -> tuple[Split, dict[str, Any]]:
        if ds.kind != "image":
            raise TrustmapError(f"--poison needs image data; {ds.name} is {ds.kind} data")
        if ds.value_range is not None and tuple(ds.value_range) != (0.0, 1.0):
            raise TrustmapError(f"--poison needs images in [0, 1]; {ds.name} has values in {tuple(ds.value_range)}")
        _check_target(self.target, ds.num_classes)
        out = poison_split(
            train, trigger=self.trigger, target=self.target, rate=self.rate, seed=self.seed, num_classes=ds.num_classes
        )
        return out.split, {"poison": out.describe()}


def poisoning(
    kind: str | None,
    *,
    target: int | None = None,
    rate: float | None = None,
    size: int = 4,
    position: str = "bottom-right",
    alpha: float = 0.15,
    seed: int = 0,
) -> Poisoning | None:
    """The :class:`Poisoning` behind ``trustmap train --poison KIND --poison-target T --poison-rate R``.

    ``None`` when ``kind`` is ``None`` (no poisoning; then ``target`` and ``rate`` must be unset too).
    ``rate`` defaults to 0.1, ``target`` to class 0. Every bad value raises a one-line :class:`TrustmapError`.
    """
    if kind is None:
        if target is not None or rate is not None:
            raise TrustmapError("--poison-target and --poison-rate need --poison patch or --poison blend")
        return None
    if kind not in KINDS:
        raise TrustmapError(f"unknown --poison {kind!r}; use patch or blend")
    rate = 0.1 if rate is None else rate
    if not (0.0 < rate < 1.0):  # also refuses NaN
        raise TrustmapError(f"--poison-rate must be a fraction in (0, 1), got {rate}")
    target = 0 if target is None else target
    if target < 0:
        raise TrustmapError(f"--poison-target must be a class index (0 or more), got {target}")
    trigger = Trigger(kind, size=size, position=position, alpha=alpha, seed=seed)
    return Poisoning(trigger, int(target), float(rate), int(seed))


@dataclass
class BackdooredModel:
    """A model trained on poisoned data: its ``handle`` (metadata ``extra["poison"]``), the poisoned split
    and the training time."""

    handle: ModelHandle
    poison: PoisonedSplit
    seconds: float


def train_poisoned(
    ds: Dataset,
    *,
    trigger: Trigger,
    target: int,
    rate: float,
    seed: int = 0,
    arch: str = "cnn-s",
    train: Split | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> BackdooredModel:
    """Train ``arch`` (with its recipe and ``seed``) on ``train`` (default ``ds.train``) poisoned at ``rate``
    toward ``target``. The model's metadata records the poisoning under ``extra["poison"]``."""
    from trustmap.models.workflows import meta_for, train_model

    poisoned = poison_split(
        ds.train if train is None else train,
        trigger=trigger,
        target=target,
        rate=rate,
        seed=seed,
        num_classes=ds.num_classes,
    )
    model, seconds = train_model(
        ds, arch, train=poisoned.split, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size, progress=progress
    )
    handle = ModelHandle.from_module(model, meta_for(ds, arch, poison=poisoned.describe()))
    return BackdooredModel(handle, poisoned, seconds)
