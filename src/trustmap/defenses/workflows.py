"""Library workflows behind ``trustmap harden`` and ``trustmap unlearn``, each in three steps: choose the
data, run the method (found in :data:`~trustmap.defenses.registry.DEFENCES`), evaluate and save. With a
``store`` the run is recorded in the results store; the CLI only parses arguments and prints.

>>> harden("bat", data="fashion-mnist", arch="cnn-s", out=Path("m.pt2"), epochs=5, store=ResultsStore.open())
>>> unlearn("sfr-on", model=Path("m.pt2"), forget="class:3", out=Path("u.pt2"))
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from trustmap.data import Split, load_dataset, stratified_indices
from trustmap.data.dataset import Dataset
from trustmap.defenses.base import Defended
from trustmap.defenses.registry import (
    DEFENCES,
    HardenDefence,
    HardenJob,
    UnlearnJob,
    defence_ids,
    harden_defence,
    unlearn_defence,
)
from trustmap.errors import DataError, TrustmapError
from trustmap.models import ModelHandle, build_model, load_model, save_model
from trustmap.models.meta import ModelMeta
from trustmap.models.recipes import member_split
from trustmap.models.workflows import meta_for
from trustmap.store import recorded
from trustmap.utils.files import check_writable, sha256_file

if TYPE_CHECKING:
    from trustmap.store import ResultsStore


@dataclass(frozen=True)
class Outcome:
    method: str
    dataset: str
    dataset_sha256: str
    model_sha256: str
    test_accuracy: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: int = 0  # the results-store run (0 when no store was given)


def _accuracy(model: nn.Module, split: Split) -> float:
    handle = ModelHandle.from_module(model, ModelMeta())
    return float((handle.predict(split.x).argmax(1) == split.y).mean()) if len(split) else float("nan")


def _recorded(
    store: ResultsStore | None,
    command: str,
    *,
    args: dict[str, Any],
    seed: int,
    timing: str,
    work: Callable[[], Outcome],
) -> Outcome:
    """``work()``, recorded as a ``command`` run in ``store`` (if any) with its dataset, model and metrics."""
    with recorded(store, command, args=args, seed=seed) as run:
        outcome = work()
        run.note(
            dataset=outcome.dataset,
            dataset_sha256=outcome.dataset_sha256,
            model_sha256=outcome.model_sha256,
            metrics={"test_accuracy": outcome.test_accuracy, **outcome.metrics},
            timings={timing: outcome.seconds},
        )
    return replace(outcome, run_id=run.id)


# --- harden -------------------------------------------------------------------------------------------


def harden(
    method: str,
    *,
    data: str,
    arch: str,
    out: Path,
    epochs: int | None = None,
    eps: float = 0.1,
    train_size: int | None = None,
    model: Path | None = None,
    epsilon: float | None = None,
    seed: int = 0,
    store: ResultsStore | None = None,
) -> Outcome:
    """Train (or wrap) a defended model with ``method`` and save it to ``out``."""
    defence = harden_defence(method)
    for option, value in {"epsilon": epsilon}.items():
        if value is not None and option not in defence.options:
            users = ", ".join(d for d in defence_ids("harden") if option in DEFENCES.get(d).options)
            raise TrustmapError(f"--{option} applies only to --method {users}")
    if epsilon is not None and not (math.isfinite(epsilon) and epsilon > 0):
        raise TrustmapError(f"--epsilon must be a positive number (a privacy budget), got {epsilon}")
    if not 0 < eps <= 1:
        raise TrustmapError(f"--eps must be in (0, 1] (an L-inf budget for inputs in [0, 1]), got {eps}")
    if epochs is not None and epochs < 1:
        raise TrustmapError(f"--epochs must be at least 1, got {epochs}")
    if train_size is not None and train_size < 10:
        raise TrustmapError(f"--train-size must be at least 10, got {train_size}")
    if defence.from_model and model is None:
        raise TrustmapError(f"--method {method} removes a backdoor from a trained model: give it with --model")
    check_writable(out)
    ds, train = _harden_data(defence, data, train_size)
    source = None
    if defence.from_model:
        assert model is not None
        source = load_model(model)
        if source.module is None:
            raise TrustmapError(f"{model.name} exposes no PyTorch module; give a .pt2, .pt or .safetensors model")
        source.check_data(ds.test.x[:2], what=ds.name)
        arch = source.meta.arch or arch
        net = _trainable(source)
    else:
        net = build_model(arch, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=seed)
    job = HardenJob(
        ds, train, net, arch=arch, seed=seed, epochs=epochs, eps=eps, wrap=model, epsilon=epsilon, source=source
    )
    args = {
        "method": method,
        "data": data,
        "arch": arch,
        "out": str(out),
        "epochs": epochs,
        "eps": eps,
        "train_size": train_size,
        "model": str(model) if model else None,
        "epsilon": epsilon,
    }

    def work() -> Outcome:
        return _save_hardened(defence, defence.run(job), job, out)

    return _recorded(store, "harden", args=args, seed=seed, timing="defence", work=work)


def _harden_data(defence: HardenDefence, data: str, train_size: int | None) -> tuple[Dataset, Split]:
    """The dataset and the training images: all of them, or a stratified subset of ``train_size``."""
    ds = load_dataset(data)
    if ds.kind not in defence.kinds:
        raise DataError(
            f"harden --method {defence.id} needs {'/'.join(defence.kinds)} data; {ds.name} is {ds.kind} data"
        )
    if train_size is None:
        return ds, ds.train
    return ds, ds.train.subset(stratified_indices(ds.train.y, train_size, seed=0))


def _save_hardened(defence: HardenDefence, done: Defended, job: HardenJob, out: Path) -> Outcome:
    """Save the defended model with its metadata and measure its test accuracy."""
    meta = meta_for(
        job.dataset,
        None if defence.wrapper else job.arch,  # type: ignore[arg-type]
        defence=defence.id,
        seed=job.seed,
        **done.meta,
    )
    save_model(done.model, out, meta=meta)
    ds = job.dataset
    return Outcome(
        defence.id,
        ds.name,
        ds.sha256(),
        sha256_file(out),
        _accuracy(done.model, ds.test),
        done.result.seconds,
        done.result.metrics,
    )


# --- unlearn ------------------------------------------------------------------------------------------


def parse_forget(spec: str, *, num_classes: int) -> tuple[str, float]:
    """``class:K`` -> ("class", K) with ``0 <= K < num_classes``; ``random:F`` -> ("random", F), ``0 < F < 1``."""
    kind, _, value = spec.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if kind == "class" and not math.isnan(number) and number == int(number):
        if not 0 <= number < num_classes:
            raise TrustmapError(f"--forget {spec}: the model has {num_classes} classes (0..{num_classes - 1})")
        return kind, number
    if kind == "random" and 0 < number < 1:
        return kind, number
    raise TrustmapError(f"--forget must be class:K (a class index) or random:F (a fraction in (0, 1)), got {spec!r}")


def _trainable(handle: ModelHandle) -> nn.Module:
    """A trainable copy: the registered architecture with the file's weights, else a deep copy."""
    assert handle.module is not None
    meta = handle.meta
    if meta.arch and meta.input_shape and meta.num_classes:
        try:
            net = build_model(meta.arch, input_shape=tuple(meta.input_shape), num_classes=meta.num_classes)
            state = handle.module.state_dict()
            if all(k.startswith("graph.") for k in state):  # a torch.export program's wrapper
                state = {k[len("graph.") :]: v for k, v in state.items()}
            net.load_state_dict(state)
            return net
        except Exception:  # noqa: BLE001, S110 - fall back to the loaded module itself
            pass
    return copy.deepcopy(handle.module)


@dataclass(frozen=True)
class _Forgetting:
    """What ``unlearn`` works on: the model file, its data and the forget/remain parts of its training data."""

    handle: ModelHandle
    dataset: Dataset
    kind: str  # class | random
    value: float
    forget: Split
    remain: Split
    num_classes: int


def unlearn(
    method: str,
    *,
    model: Path,
    forget: str,
    out: Path,
    data: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    store: ResultsStore | None = None,
) -> Outcome:
    """Unlearn ``forget`` (``class:K`` or ``random:F`` of the model's training data) and save to ``out``."""
    defence = unlearn_defence(method)
    if steps is not None and steps < 1:
        raise TrustmapError(f"--steps must be at least 1, got {steps}")
    check_writable(out)
    f = _forgetting(load_model(model), forget, data=data, kinds=defence.kinds, seed=seed)
    job = UnlearnJob(
        f.dataset,
        _trainable(f.handle),
        f.handle.meta.arch,
        f.forget,
        f.remain,
        f.num_classes,
        steps=steps or (50 if f.kind == "class" else 200),
        seed=seed,
    )
    args = {"method": method, "forget": forget, "model": str(model), "out": str(out), "data": data, "steps": steps}

    def work() -> Outcome:
        return _save_unlearned(defence.id, defence.run(job), f, forget=forget, out=out, seed=seed)

    return _recorded(store, "unlearn", args=args, seed=seed, timing="unlearn", work=work)


def _forgetting(
    handle: ModelHandle, forget: str, *, data: str | None, kinds: tuple[str, ...], seed: int
) -> _Forgetting:
    """Split the model's training data (its member split, if it records one) into forget and remain."""
    if handle.module is None or handle.meta.kind not in kinds:
        raise TrustmapError("unlearn needs an image classifier with weights (a .pt2, .pt or .safetensors model)")
    name = data or handle.meta.dataset
    if not name:
        raise TrustmapError("the model does not record its dataset; pass --data")
    ds = load_dataset(name)
    num_classes = handle.check_data(ds.test.x[:2], what=ds.name)
    kind, value = parse_forget(forget, num_classes=num_classes)
    extra = handle.meta.extra
    train = (
        member_split(ds, extra["member_fraction"], seed=int(extra.get("member_seed", 0))).member_data(ds)
        if extra.get("member_fraction")
        else ds.train
    )
    if kind == "class":
        f_mask = train.y == int(value)
        if not f_mask.any():
            raise DataError(f"--forget {forget}: the training data has no example of class {int(value)}")
    else:
        rng = np.random.default_rng([seed, 0x726E64])
        f_mask = np.zeros(len(train), dtype=bool)
        f_mask[rng.choice(len(train), size=max(1, round(value * len(train))), replace=False)] = True
    return _Forgetting(
        handle,
        ds,
        kind,
        value,
        train.subset(np.flatnonzero(f_mask)),
        train.subset(np.flatnonzero(~f_mask)),
        num_classes,
    )


def _save_unlearned(method: str, done: Defended, f: _Forgetting, *, forget: str, out: Path, seed: int) -> Outcome:
    """Save the unlearned model; measure forget, remaining and test accuracy (the forgotten class left out)."""
    meta = replace(
        f.handle.meta, extra={**f.handle.meta.extra, "unlearned": method, "forget": forget, "unlearn_seed": seed}
    )
    save_model(done.model, out, meta=meta)
    remain_eval = f.remain.subset(np.sort(np.random.default_rng(seed).permutation(len(f.remain))[:5000]))
    metrics = {
        **done.result.metrics,
        "forget_accuracy": _accuracy(done.model, f.forget),
        "remain_accuracy": _accuracy(done.model, remain_eval),
        "forget_size": float(len(f.forget)),
    }
    ds = f.dataset
    test = ds.test if f.kind == "random" else ds.test.subset(np.flatnonzero(ds.test.y != int(f.value)))
    return Outcome(
        method, ds.name, ds.sha256(), sha256_file(out), _accuracy(done.model, test), done.result.seconds, metrics
    )
