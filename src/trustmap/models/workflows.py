"""Library-level train and evaluate workflows behind ``trustmap train`` and ``trustmap eval``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trustmap.data import load_dataset, validate_split
from trustmap.data.dataset import Dataset, Split
from trustmap.errors import ModelError
from trustmap.models.architectures import arch_info, build_model
from trustmap.models.handle import ModelHandle
from trustmap.models.io import load_model, save_model
from trustmap.models.meta import ModelMeta
from trustmap.models.recipes import DEFAULT_ARCH, MemberSplit, member_split, recipe
from trustmap.models.train import evaluate_logits, fit
from trustmap.utils.files import atomic_write, check_writable, sha256_file
from trustmap.utils.seed import seed_everything


@dataclass(frozen=True)
class TrainOutcome:
    arch: str
    dataset: str
    dataset_sha256: str
    model_sha256: str
    test_accuracy: float
    train_seconds: float
    members_file: Path | None = None
    nonmembers_file: Path | None = None


def meta_for(ds: Dataset, arch: str, **extra: object) -> ModelMeta:
    return ModelMeta(
        kind=ds.kind, arch=arch, input_shape=ds.input_shape or None, num_classes=ds.num_classes,
        classes=ds.classes, value_range=ds.value_range, dataset=ds.name, extra=dict(extra),
    )  # fmt: skip


def member_files(out: Path) -> tuple[Path, Path]:
    stem = out.with_suffix("")
    return stem.parent / f"{stem.name}.members.npz", stem.parent / f"{stem.name}.nonmembers.npz"


def save_member_split(split: MemberSplit, out: Path) -> tuple[Path, Path]:
    """Write the member and non-member index files (``indices`` into the dataset's train split)."""
    paths = member_files(out)
    for path, idx in zip(paths, (split.members, split.nonmembers)):
        with atomic_write(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, indices=idx.astype(np.int64), dataset=np.array(split.dataset), seed=split.seed)
    return paths


def train_model(
    ds: Dataset, arch: str, *, train: Split, seed: int, epochs: int | None = None, lr: float | None = None,
    batch_size: int | None = None, progress: bool | None = None,
) -> tuple[torch.nn.Module, float]:  # fmt: skip
    """Build ``arch`` for ``ds`` with weights from ``seed`` and train it with the arch's recipe."""
    from dataclasses import replace

    info = arch_info(arch)
    if ds.kind not in info.kinds:
        raise ModelError(f"architecture {arch!r} is for {'/'.join(info.kinds)} data, but {ds.name} is {ds.kind} data")
    seed_everything(seed)
    model = build_model(arch, input_shape=ds.input_shape, num_classes=ds.num_classes)
    cfg = recipe(ds.kind, arch)
    cfg = replace(cfg, epochs=epochs or cfg.epochs, lr=lr or cfg.lr, batch_size=batch_size or cfg.batch_size)
    if ds.kind == "text":
        from trustmap.models.text import encode_split

        train = encode_split(model, train)
    result = fit(model, train, config=cfg, seed=seed, progress=progress, description=f"train {arch} on {ds.name}")
    return model, result.seconds


def train_and_save(
    data: str, *, out: Path, arch: str | None, epochs: int | None = None, lr: float | None = None,
    batch_size: int | None = None, seed: int = 0, member_fraction: float | None = None,
    label: str | None = None, sensitive: list[str] | None = None,
    poison: Callable[[Split, Dataset], tuple[Split, dict[str, object]]] | None = None,
) -> TrainOutcome:  # fmt: skip
    """Train and save a model. ``poison``: a training-set transform (``trustmap.attacks.backdoor.poisoning``)
    whose description is recorded in the model's metadata."""
    check_writable(out)
    ds = load_dataset(data, label=label, sensitive=sensitive)
    arch = arch or DEFAULT_ARCH[ds.kind]
    train = ds.train
    split = None
    if member_fraction is not None:
        split = member_split(ds, member_fraction, seed=seed)
        train = split.member_data(ds)
    validate_split(train.x, train.y, num_classes=ds.num_classes, what=f"{ds.name} training data")
    train, poisoned = poison(train, ds) if poison is not None else (train, {})
    model, seconds = train_model(ds, arch, train=train, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size)
    extra = {"member_fraction": member_fraction, "member_seed": seed} if split else {}
    meta = meta_for(ds, arch, **extra, **poisoned)
    handle = ModelHandle.from_module(model, meta)
    acc = evaluate_logits(handle.predict(ds.test.x), ds.test.y, ds.num_classes).accuracy
    members = nonmembers = None
    if split is not None:
        members, nonmembers = save_member_split(split, out)
    save_model(model, out, meta=meta)
    return TrainOutcome(arch, ds.name, ds.sha256(), sha256_file(out), acc, seconds, members, nonmembers)


@dataclass(frozen=True)
class EvalOutcome:
    accuracy: float
    per_class_accuracy: list[float]
    classes: list[str]
    n: int
    loss: float
    dataset: str
    dataset_sha256: str
    model_sha256: str | None


def bind(handle: ModelHandle, ds: Dataset, split: Split, *, what: str) -> int:
    """Check that ``handle`` runs on ``split`` and that every label is one of the model's classes."""
    n_classes = handle.check_data(split.x, what=what)
    validate_split(split.x, split.y, num_classes=n_classes, what=what)
    return n_classes


def evaluate_model(
    model: Path | str, data: str, *, split: str = "test", label: str | None = None, sensitive: list[str] | None = None
) -> EvalOutcome:
    if split not in ("test", "train"):
        raise ModelError(f"--split must be test or train, not {split!r}")
    ds = load_dataset(data, label=label, sensitive=sensitive)
    handle = load_model(model)
    part = ds.test if split == "test" else ds.train
    n_classes = bind(handle, ds, part, what=f"{ds.name} ({split})")
    res = evaluate_logits(handle.predict(part.x), part.y, n_classes)
    names = list(handle.meta.classes or ds.classes)
    if len(names) != n_classes:
        names = [str(i) for i in range(n_classes)]
    return EvalOutcome(res.accuracy, res.per_class_accuracy, names, res.n, res.loss, ds.name, ds.sha256(), handle.sha256)
