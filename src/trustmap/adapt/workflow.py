"""Library workflow behind ``trustmap adapt``: adapt MiniLM on a text dataset, evaluate, save.

LoRA-family, ZO/FG and full fine-tuning results are merged into plain ``minilm`` weights, so
``trustmap eval`` and audits load them like any trained model. Prefix methods (``prefix``, ``apt``)
cannot be merged; their file keeps the adapters and names them in the metadata
(``extra["adapter"]``): load it with :func:`load_adapted`.

>>> res = adapt_and_save(method="lora-sp", data="rotten-tomatoes", out=Path("m.safetensors"), train_size=2000)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from trustmap.errors import ModelError, TrustmapError
from trustmap.store import recorded

if TYPE_CHECKING:
    from trustmap.store import ResultsStore

PREFIX_METHODS = ("prefix", "apt")


@dataclass(frozen=True)
class AdaptOutcome:
    method: str
    dataset: str
    dataset_sha256: str
    model_sha256: str
    test_accuracy: float
    trainable: int
    total: int
    optimizer_state_bytes: int
    train_seconds: float
    merged: bool
    density: float | None = None
    run_id: int = 0  # the results-store run (0 when no store was given)


def _check(
    method: str,
    deft: float | None,
    out: Path,
    train_size: int | None,
    test_size: int | None,
    epochs: int,
    batch_size: int,
    rank: int,
    prefix_length: int,
    max_len: int,
) -> None:
    from trustmap.adapt.methods import method_info

    info = method_info(method)
    if deft is not None and (info.family != "fo" or method == "full"):
        raise TrustmapError(f"--deft adds DEFT's density loss to a first-order PEFT method, not to {method}")
    if deft is not None and deft < 0:
        raise TrustmapError(f"--deft must be >= 0, got {deft}")
    if out.suffix.lower() != ".safetensors":
        raise TrustmapError(f"adapted models are saved as .safetensors, not {out.name!r}")
    for name, value, low in (
        ("--epochs", epochs, 1),
        ("--batch-size", batch_size, 1),
        ("--rank", rank, 1),
        ("--prefix-length", prefix_length, 1),
        ("--max-len", max_len, 2),
    ):
        if value < low:
            raise TrustmapError(f"{name} must be >= {low}, got {value}")
    for name, size in (("--train-size", train_size), ("--test-size", test_size)):
        if size is not None and size < 2:
            raise TrustmapError(f"{name} must be >= 2, got {size}")


def adapt_and_save(
    *,
    method: str,
    data: str,
    out: Path,
    deft: float | None = None,
    train_size: int | None = None,
    epochs: int = 1,
    lr: float | None = None,
    batch_size: int = 32,
    rank: int = 8,
    prefix_length: int = 8,
    max_len: int = 64,
    seed: int = 0,
    test_size: int | None = None,
    progress: bool | None = None,
    store: ResultsStore | None = None,
) -> AdaptOutcome:
    """Adapt, evaluate and save (see the module docstring); with ``store``, record it as an ``adapt`` run."""
    args = {
        "method": method,
        "data": data,
        "out": str(out),
        "deft": deft,
        "train_size": train_size,
        "test_size": test_size,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "rank": rank,
        "prefix_length": prefix_length,
        "max_len": max_len,
    }

    with recorded(store, "adapt", args=args, seed=seed) as run:
        res = _adapt_and_save(**{**args, "out": out}, seed=seed, progress=progress)
        metrics = {
            "test_accuracy": res.test_accuracy,
            "trainable": res.trainable,
            "total": res.total,
            "optimizer_state_bytes": res.optimizer_state_bytes,
        }
        if res.density is not None:
            metrics["density"] = res.density
        run.note(
            dataset=res.dataset,
            dataset_sha256=res.dataset_sha256,
            model_sha256=res.model_sha256,
            metrics=metrics,
            timings={"train": res.train_seconds},
        )
    return replace(res, run_id=run.id)


def _adapt_and_save(
    *,
    method: str,
    data: str,
    out: Path,
    deft: float | None,
    train_size: int | None,
    epochs: int,
    lr: float | None,
    batch_size: int,
    rank: int,
    prefix_length: int,
    max_len: int,
    seed: int,
    test_size: int | None,
    progress: bool | None,
) -> AdaptOutcome:
    from trustmap.adapt.deft import token_density
    from trustmap.adapt.lora import merge_lora
    from trustmap.adapt.methods import AdaptConfig
    from trustmap.adapt.minilm import encode, fresh_minilm
    from trustmap.adapt.textdata import stratified_subset
    from trustmap.adapt.train import accuracy, adapt
    from trustmap.data import load_dataset
    from trustmap.models.io import save_model
    from trustmap.models.workflows import meta_for
    from trustmap.utils.files import check_writable, sha256_file

    out = Path(out)
    _check(method, deft, out, train_size, test_size, epochs, batch_size, rank, prefix_length, max_len)
    check_writable(out)
    ds = load_dataset(data)
    if ds.kind != "text":
        raise TrustmapError(f"trustmap adapt fine-tunes the MiniLM text model; {ds.name} is {ds.kind} data")
    train = stratified_subset(ds.train, train_size, seed=seed) if train_size else ds.train
    test = stratified_subset(ds.test, test_size, seed=0) if test_size else ds.test
    train, test = encode(train, max_len=max_len), encode(test, max_len=max_len)
    model = fresh_minilm(seed=seed, max_len=max_len, num_classes=ds.num_classes)
    config = AdaptConfig(
        method=method,
        deft_weight=deft or 0.0,
        r=rank,
        alpha=2.0 * rank,
        prefix_length=prefix_length,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
    )
    run = adapt(model, train, config=config, seed=seed, progress=progress, description=f"adapt {method}")
    acc = accuracy(model, test)
    density = token_density(model, test.x[:1000]).density if deft is not None else None
    merged = method not in PREFIX_METHODS
    extra: dict[str, object] = {"adapted_with": method, "deft": deft, "seed": seed}
    if merged:
        if method == "peft-lora":
            model.encoder = model.encoder.merge_and_unload()  # PEFT's own merge back to plain Linear layers
        merge_lora(model)
    else:
        extra.update(adapter=method, prefix_length=prefix_length)
    # input_shape () (not None): load_model needs it to rebuild the text model
    meta = replace(meta_for(ds, "minilm", **extra), input_shape=(), arch_options={"max_len": max_len})
    save_model(model, out, meta=meta)
    return AdaptOutcome(
        method,
        ds.name,
        ds.sha256(),
        sha256_file(out),
        acc,
        run.trainable,
        run.total,
        run.optimizer_state_bytes,
        run.seconds,
        merged,
        density,
    )


def load_adapted(path: str | Path) -> nn.Module:
    """Load a file written by :func:`adapt_and_save`, prefix adapters included; returns the classifier."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from trustmap.adapt.apt import apply_apt
    from trustmap.adapt.minilm import fresh_minilm
    from trustmap.adapt.prefix import apply_prefix
    from trustmap.models.io import META_FILE
    from trustmap.models.meta import ModelMeta

    name = Path(path).name
    if Path(path).suffix.lower() != ".safetensors":
        raise ModelError(
            f"{name} is not a .safetensors file; adapted models are saved by `trustmap adapt --out X.safetensors`"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = ModelMeta.from_json((f.metadata() or {}).get(META_FILE, "{}"))
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001  a damaged or foreign file: one line, never a traceback
        raise ModelError(f"{name} is not a readable adapted-model file ({type(exc).__name__}); re-create it") from None
    model = fresh_minilm(seed=0, max_len=int(meta.arch_options.get("max_len", 64)), num_classes=meta.num_classes or 2)
    adapter = meta.extra.get("adapter")
    if adapter in PREFIX_METHODS:
        (apply_apt if adapter == "apt" else apply_prefix)(model.encoder, length=int(meta.extra["prefix_length"]))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise TrustmapError(
            f"{Path(path).name} is not an adapted minilm ({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
    return model.eval()


__all__ = ["AdaptOutcome", "adapt_and_save", "load_adapted"]
