"""Library workflows behind ``trustmap harden`` and ``trustmap unlearn``: check inputs, run a defence,
save the model with its metadata and return what it bought and cost. The CLI only parses arguments.

>>> harden("bat", data="fashion-mnist", arch="cnn-s", out=Path("m.pt2"), epochs=5)
>>> unlearn("sfr-on", model=Path("m.pt2"), forget="class:3", out=Path("u.pt2"))
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trustmap.data import Split, load_dataset, stratified_indices
from trustmap.data.dataset import Dataset
from trustmap.defenses.adversarial import AdvConfig, frl_lite, pgd_at, trades
from trustmap.defenses.base import DefenceResult, Defended
from trustmap.defenses.bat import bat
from trustmap.defenses.ini import INIConfig, defender_ood, ini
from trustmap.defenses.perturbation import ReverseSigmoid, TopOne, tune_reverse_sigmoid
from trustmap.defenses.sfr_on import SFROnConfig, sfr_on
from trustmap.defenses.unlearning import finetune, gradient_ascent, salun_lite
from trustmap.errors import DataError, TrustmapError
from trustmap.models import ModelHandle, build_model, fit, load_model, save_model
from trustmap.models.meta import ModelMeta
from trustmap.models.recipes import member_split, recipe
from trustmap.models.workflows import meta_for
from trustmap.utils.files import check_writable, sha256_file
from trustmap.utils.seed import seeded_global_rng

ADVERSARIAL = ("bat", "pgd-at", "trades", "frl-lite")
HARDEN_METHODS = (*ADVERSARIAL, "ini", "reverse-sigmoid", "top1")
UNLEARN_METHODS = ("sfr-on", "gradient-ascent", "finetune", "salun-lite", "retrain")


@dataclass(frozen=True)
class Outcome:
    method: str
    dataset: str
    dataset_sha256: str
    model_sha256: str
    test_accuracy: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


def _choose(method: str, choices: tuple[str, ...], what: str) -> None:
    if method not in choices:
        raise TrustmapError(
            f"unknown {what} method {method!r}; choose one of {', '.join(choices)}"
        )


def _accuracy(model: nn.Module, split: Split) -> float:
    handle = ModelHandle.from_module(model, ModelMeta())
    return (
        float((handle.predict(split.x).argmax(1) == split.y).mean())
        if len(split)
        else float("nan")
    )


def _seeded(arch: str, ds: Dataset, seed: int) -> nn.Module:
    with seeded_global_rng(seed):
        return build_model(arch, input_shape=ds.input_shape, num_classes=ds.num_classes)


def harden(
    method: str, *, data: str, arch: str, out: Path, epochs: int | None = None, eps: float = 0.1,
    train_size: int | None = None, model: Path | None = None, seed: int = 0,
) -> Outcome:  # fmt: skip
    """Train (or wrap) a defended model with ``method`` and save it to ``out``."""
    _choose(method, HARDEN_METHODS, "harden")
    if not 0 < eps <= 1:
        raise TrustmapError(
            f"--eps must be in (0, 1] (an L-inf budget for inputs in [0, 1]), got {eps}"
        )
    if epochs is not None and epochs < 1:
        raise TrustmapError(f"--epochs must be at least 1, got {epochs}")
    if train_size is not None and train_size < 10:
        raise TrustmapError(f"--train-size must be at least 10, got {train_size}")
    check_writable(out)
    ds = load_dataset(data)
    if ds.kind != "image":
        raise DataError(
            f"harden --method {method} needs an image dataset; {ds.name} is {ds.kind} data"
        )
    train = (
        ds.train
        if train_size is None
        else ds.train.subset(stratified_indices(ds.train.y, train_size, seed=0))
    )
    net = _seeded(arch, ds, seed)
    extra: dict[str, object] = {"defence": method, "seed": seed}
    if method in ADVERSARIAL:
        config = AdvConfig(eps=eps, epochs=epochs or 5)
        fn = {"bat": bat, "pgd-at": pgd_at, "frl-lite": frl_lite}.get(method)
        done = (
            trades(net, train, config=config, seed=seed)
            if fn is None
            else fn(net, train, config=config, num_classes=ds.num_classes, seed=seed)
        )
        extra["eps"] = eps
    elif method == "ini":
        ood = defender_ood(train.x, digits=ds.input_shape[0] == 1, seed=seed)
        done = ini(net, train, ood=ood, config=INIConfig(epochs=epochs or 6), seed=seed)
    else:  # output-perturbation wrappers around a given or freshly trained model
        if model is not None:
            base = load_model(model).module
        else:
            cfg = recipe(ds.kind, arch)
            fit(
                net,
                train,
                config=replace(cfg, epochs=epochs or cfg.epochs),
                seed=seed,
                progress=None,
            )
            base = net.eval()
        assert base is not None
        if method == "top1":
            wrapped: nn.Module = TopOne(base)
        else:
            beta = tune_reverse_sigmoid(base, torch.from_numpy(train.x[:1000]))
            wrapped, extra["beta"] = ReverseSigmoid(base, beta=beta), beta
        done = Defended(
            wrapped.eval(),
            DefenceResult(method, 0.0, 0, {"beta": float(extra.get("beta", 0.0))}),
        )
    meta = meta_for(
        ds, arch if method not in ("reverse-sigmoid", "top1") else None, **extra
    )  # type: ignore[arg-type]
    save_model(done.model, out, meta=meta)
    acc = _accuracy(done.model, ds.test)
    return Outcome(
        method,
        ds.name,
        ds.sha256(),
        sha256_file(out),
        acc,
        done.result.seconds,
        done.result.metrics,
    )


def parse_forget(spec: str, *, num_classes: int) -> tuple[str, float]:
    """``class:K`` -> ("class", K) with ``0 <= K < num_classes``; ``random:F`` -> ("random", F), ``0 < F < 1``."""
    kind, _, value = spec.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if kind == "class" and not math.isnan(number) and number == int(number):
        if not 0 <= number < num_classes:
            raise TrustmapError(
                f"--forget {spec}: the model has {num_classes} classes (0..{num_classes - 1})"
            )
        return kind, number
    if kind == "random" and 0 < number < 1:
        return kind, number
    raise TrustmapError(
        f"--forget must be class:K (a class index) or random:F (a fraction in (0, 1)), got {spec!r}"
    )


def _trainable(handle: ModelHandle) -> nn.Module:
    """A trainable copy: the registered architecture with the file's weights, else a deep copy."""
    assert handle.module is not None
    meta = handle.meta
    if meta.arch and meta.input_shape and meta.num_classes:
        try:
            net = build_model(
                meta.arch,
                input_shape=tuple(meta.input_shape),
                num_classes=meta.num_classes,
            )
            state = handle.module.state_dict()
            if all(
                k.startswith("graph.") for k in state
            ):  # a torch.export program's wrapper
                state = {k[len("graph.") :]: v for k, v in state.items()}
            net.load_state_dict(state)
            return net
        except Exception:  # noqa: BLE001, S110 - fall back to the loaded module itself
            pass
    return copy.deepcopy(handle.module)


def unlearn(
    method: str,
    *,
    model: Path,
    forget: str,
    out: Path,
    data: str | None = None,
    steps: int | None = None,
    seed: int = 0,
) -> Outcome:
    """Unlearn ``forget`` (``class:K`` or ``random:F`` of the model's training data) and save to ``out``."""
    _choose(method, UNLEARN_METHODS, "unlearn")
    if steps is not None and steps < 1:
        raise TrustmapError(f"--steps must be at least 1, got {steps}")
    check_writable(out)
    handle = load_model(model)
    if handle.module is None or handle.meta.kind != "image":
        raise TrustmapError(
            "unlearn needs an image classifier with weights (a .pt2, .pt or .safetensors model)"
        )
    name = data or handle.meta.dataset
    if not name:
        raise TrustmapError("the model does not record its dataset; pass --data")
    ds = load_dataset(name)
    num_classes = handle.check_data(ds.test.x[:2], what=ds.name)
    kind, value = parse_forget(forget, num_classes=num_classes)
    extra = handle.meta.extra
    train = member_split(ds, extra["member_fraction"], seed=int(extra.get("member_seed", 0))).member_data(ds) \
        if extra.get("member_fraction") else ds.train  # fmt: skip
    if kind == "class":
        f_mask = train.y == int(value)
        if not f_mask.any():
            raise DataError(
                f"--forget {forget}: the training data has no example of class {int(value)}"
            )
    else:
        rng = np.random.default_rng([seed, 0x726E64])
        f_mask = np.zeros(len(train), dtype=bool)
        f_mask[
            rng.choice(
                len(train), size=max(1, round(value * len(train))), replace=False
            )
        ] = True
    f_split, r_split = (
        train.subset(np.flatnonzero(f_mask)),
        train.subset(np.flatnonzero(~f_mask)),
    )
    steps = steps or (50 if kind == "class" else 200)
    net = _trainable(handle)
    if method == "sfr-on":
        done = sfr_on(
            net,
            forget=f_split,
            remain=r_split,
            config=SFROnConfig(steps=steps),
            seed=seed,
        )
    elif method == "gradient-ascent":
        done = gradient_ascent(net, forget=f_split, steps=steps, seed=seed)
    elif method == "finetune":
        done = finetune(net, remain=r_split, steps=steps, seed=seed)
    elif method == "salun-lite":
        done = salun_lite(
            net,
            forget=f_split,
            remain=r_split,
            num_classes=num_classes,
            steps=steps,
            seed=seed,
        )
    else:
        if not handle.meta.arch:
            raise TrustmapError(
                "retrain needs the model's architecture name in its metadata; save it with trustmap"
            )
        fresh = _seeded(handle.meta.arch, ds, seed)
        fit(
            fresh,
            r_split,
            config=recipe(ds.kind, handle.meta.arch),
            seed=seed,
            progress=None,
        )
        done = Defended(fresh.eval(), DefenceResult("retrain", 0.0))
    meta = replace(
        handle.meta,
        extra={**extra, "unlearned": method, "forget": forget, "unlearn_seed": seed},
    )
    save_model(done.model, out, meta=meta)
    remain_eval = r_split.subset(
        np.sort(np.random.default_rng(seed).permutation(len(r_split))[:5000])
    )
    metrics = {**done.result.metrics, "forget_accuracy": _accuracy(done.model, f_split),
               "remain_accuracy": _accuracy(done.model, remain_eval), "forget_size": float(len(f_split))}  # fmt: skip
    test = (
        ds.test
        if kind == "random"
        else ds.test.subset(np.flatnonzero(ds.test.y != int(value)))
    )
    return Outcome(
        method,
        ds.name,
        ds.sha256(),
        sha256_file(out),
        _accuracy(done.model, test),
        done.result.seconds,
        metrics,
    )
