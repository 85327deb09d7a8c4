"""Library-level train and evaluate workflows behind ``trustmap train`` and ``trustmap eval``.

Each checks every input before any work (bad values raise one-line errors), and records its run in the
results store when given one (``store=``); the CLI only parses and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from trustmap.data import load_dataset, validate_split
from trustmap.data.dataset import Dataset, Split
from trustmap.errors import DataError, ModelError
from trustmap.models.architectures import arch_info, build_model
from trustmap.models.handle import ModelHandle
from trustmap.models.io import check_model_path, load_model, save_model
from trustmap.models.meta import ModelMeta
from trustmap.models.recipes import DEFAULT_ARCH, MemberSplit, member_split, recipe
from trustmap.models.train import TrainConfig, evaluate_logits, fit
from trustmap.store import ResultsStore, recorded
from trustmap.utils.files import atomic_write, check_writable, sha256_file
from trustmap.utils.seed import check_seed, seed_everything


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
    run_id: int = 0  # the results-store run (0 when no store was given)


def meta_for(ds: Dataset, arch: str, **extra: object) -> ModelMeta:
    return ModelMeta(
        kind=ds.kind,
        arch=arch,
        input_shape=ds.input_shape or None,
        num_classes=ds.num_classes,
        classes=ds.classes,
        value_range=ds.value_range,
        dataset=ds.name,
        extra=dict(extra),
    )


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
    ds: Dataset,
    arch: str,
    *,
    train: Split,
    seed: int,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> tuple[torch.nn.Module, float]:
    """Build ``arch`` for ``ds`` with weights from ``seed`` and train it with the arch's recipe."""
    check_arch(ds, arch)
    cfg = train_config(ds.kind, arch, epochs=epochs, lr=lr, batch_size=batch_size)
    seed_everything(check_seed(seed))
    model = build_model(arch, input_shape=ds.input_shape, num_classes=ds.num_classes)
    if ds.kind == "text":
        from trustmap.models.text import encode_split

        train = encode_split(model, train)
    result = fit(model, train, config=cfg, seed=seed, progress=progress, description=f"train {arch} on {ds.name}")
    return model, result.seconds


def check_arch(ds: Dataset, arch: str) -> None:
    """Refuse an unknown architecture, or one made for another kind of data than ``ds``."""
    info = arch_info(arch)
    if ds.kind not in info.kinds:
        raise ModelError(f"architecture {arch!r} is for {'/'.join(info.kinds)} data, but {ds.name} is {ds.kind} data")


def train_config(
    kind: str, arch: str, *, epochs: int | None = None, lr: float | None = None, batch_size: int | None = None
) -> TrainConfig:
    """The recipe for ``(kind, arch)`` with the values the user gave; ``None`` (and only None) keeps the
    recipe's, and a bad value (0, negative, NaN) is refused by :class:`TrainConfig`."""
    given = {"epochs": epochs, "lr": lr, "batch_size": batch_size}
    return replace(recipe(kind, arch), **{k: v for k, v in given.items() if v is not None})


def train_and_save(
    data: str,
    *,
    out: Path,
    arch: str | None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    member_fraction: float | None = None,
    label: str | None = None,
    sensitive: list[str] | None = None,
    store: ResultsStore | None = None,
    poison: Callable[[Split, Dataset], tuple[Split, dict[str, object]]] | None = None,
) -> TrainOutcome:
    """Train ``arch`` on ``data``, save it to ``out`` and record the run in ``store``. ``poison``: a
    training-set transform (:func:`trustmap.attacks.backdoor.poisoning`) whose description is recorded in
    the model's metadata and the run's arguments.

    Every input is checked first (seed, training values, output format, dataset, architecture, member
    fraction, the output folder), so that a bad one fails in a second and writes nothing."""
    out = Path(out)
    seed = check_seed(seed)
    check_model_path(out)
    train_config("image", "", epochs=epochs, lr=lr, batch_size=batch_size)  # the user's values, before any work
    if member_fraction is not None and not 0 < member_fraction < 1:
        raise DataError(f"--member-fraction must be between 0 and 1 (exclusive), got {member_fraction}")
    ds = load_dataset(data, label=label, sensitive=sensitive)
    arch = arch or DEFAULT_ARCH[ds.kind]
    check_arch(ds, arch)
    check_model_path(out, kind=ds.kind)
    if ds.kind == "graph":  # node classifiers train full-batch on the labelled nodes
        given = {"--member-fraction": member_fraction, "--batch-size": batch_size, "--poison": poison}
        bad = [flag for flag, value in given.items() if value is not None]
        if bad:
            verb, them = ("does", "it") if len(bad) == 1 else ("do", "them")
            raise DataError(f"{' and '.join(bad)} {verb} not apply to graph data ({ds.name}); leave {them} out")
    train = ds.train
    split = None
    if member_fraction is not None:
        split = member_split(ds, member_fraction, seed=seed)
        train = split.member_data(ds)
    validate_split(train.x, train.y, num_classes=ds.num_classes, what=f"{ds.name} training data")
    train, poisoned = poison(train, ds) if poison is not None else (train, {})  # checks its values first
    check_writable(out)
    args = {
        "data": data,
        "arch": arch,
        "out": str(out),
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "member_fraction": member_fraction,
        **poisoned,
    }
    with recorded(store, "train", args=args, seed=seed) as run:
        if ds.kind == "graph":
            from trustmap.models.graph.workflow import node_logits, train_node_classifier

            model, seconds, meta = train_node_classifier(ds, arch, seed=seed, epochs=epochs, lr=lr)
            logits, labels = node_logits(ModelHandle.from_module(model, meta), ds)
            acc = evaluate_logits(logits, labels, ds.num_classes).accuracy
        else:
            model, seconds = train_model(ds, arch, train=train, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size)
            extra = {"member_fraction": member_fraction, "member_seed": seed} if split else {}
            meta = meta_for(ds, arch, **extra, **poisoned)
            handle = ModelHandle.from_module(model, meta)
            acc = evaluate_logits(handle.predict(ds.test.x), ds.test.y, ds.num_classes).accuracy
        members = nonmembers = None
        if split is not None:
            members, nonmembers = save_member_split(split, out)
        save_model(model, out, meta=meta)
        outcome = TrainOutcome(arch, ds.name, ds.sha256(), sha256_file(out), acc, seconds, members, nonmembers)
        run.note(
            dataset=outcome.dataset,
            dataset_sha256=outcome.dataset_sha256,
            model_sha256=outcome.model_sha256,
            metrics={"test_accuracy": acc, "train_seconds": seconds},
            timings={"train": seconds},
        )
    return replace(outcome, run_id=run.id)


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
    run_id: int = 0  # the results-store run (0 when no store was given)


def check_value_range(handle: ModelHandle, x: np.ndarray, *, what: str) -> None:
    """Refuse inputs outside the value range the model was trained on (say 0-255 pixels for a 0-1 model),
    which would otherwise give a silently wrong accuracy."""
    expected = handle.meta.value_range
    if expected is None or not isinstance(x, np.ndarray) or x.dtype == object or x.size == 0:
        return
    lo, hi = float(expected[0]), float(expected[1])
    x_lo, x_hi = float(np.min(x)), float(np.max(x))
    slack = 1e-3 * max(hi - lo, 1e-12)
    if x_lo < lo - slack or x_hi > hi + slack:
        hint = f" (divide by {x_hi:g}?)" if lo == 0 and x_lo >= 0 and x_hi > hi else ""
        raise DataError(
            f"{what} has values in [{x_lo:g}, {x_hi:g}] but the model was trained on inputs in "
            f"[{lo:g}, {hi:g}]; rescale the data to that range{hint}"
        )


def bind(handle: ModelHandle, ds: Dataset, split: Split, *, what: str) -> int:
    """Check that ``handle`` runs on ``split``, that its values lie in the model's input range and that
    every label is one of the model's classes."""
    n_classes = handle.check_data(split.x, what=what)
    validate_split(split.x, split.y, num_classes=n_classes, what=what)
    check_value_range(handle, split.x, what=what)
    return n_classes


def evaluate_model(
    model: Path | str,
    data: str,
    *,
    split: str = "test",
    label: str | None = None,
    sensitive: list[str] | None = None,
    store: ResultsStore | None = None,
) -> EvalOutcome:
    """Accuracy, per-class accuracy and loss of ``model`` on a split of ``data``; recorded in ``store``."""
    if split not in ("test", "train"):
        raise ModelError(f"--split must be test or train, not {split!r}")
    ds = load_dataset(data, label=label, sensitive=sensitive)
    handle = load_model(model)
    part = ds.test if split == "test" else ds.train
    if ds.kind == "graph" or handle.meta.kind == "graph":  # a node classifier reads the whole graph
        from trustmap.models.graph.workflow import node_logits

        logits, labels = node_logits(handle, ds, split=split)
        n_classes = logits.shape[1]
    else:
        n_classes = bind(handle, ds, part, what=f"{ds.name} ({split})")
        logits, labels = handle.predict(part.x), part.y
    with recorded(store, "eval", args={"model": str(model), "data": data, "split": split}) as run:
        res = evaluate_logits(logits, labels, n_classes)
        names = list(handle.meta.classes or ds.classes)
        if len(names) != n_classes:
            names = [str(i) for i in range(n_classes)]
        run.note(
            dataset=ds.name,
            dataset_sha256=ds.sha256(),
            model_sha256=handle.sha256,
            metrics={"accuracy": res.accuracy, "loss": res.loss, "n": res.n},
        )
    return EvalOutcome(
        res.accuracy, res.per_class_accuracy, names, res.n, res.loss, ds.name, ds.sha256(), handle.sha256, run.id
    )
