"""Registry of adaptation methods: id -> how to make a model's trainable part, and how to optimise it.

Families: ``fo`` (back-propagation with AdamW, or SGD for ``fo-sgd``), ``zo`` (two-point zeroth order,
:class:`~trustmap.adapt.zo.ZOOptimizer`) and ``fg`` (forward gradient). PEFT methods and the ZO/FG
methods train the task head too; ZO/FG methods use the LoRA scheme (LoRA on the same targets + head),
as in ZO-Bench's LoRA setting, unless ``AdaptConfig.scheme == "full"``.

>>> info = method_info("lora-sp"); info.prepare(model, AdaptConfig(method="lora-sp"), seed=0)
>>> method_ids()       # the CLI's --method choices
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from trustmap.adapt.apt import apply_apt
from trustmap.adapt.lora import apply_lora, freeze_except
from trustmap.adapt.lora_sp import apply_lora_sp
from trustmap.adapt.prefix import apply_prefix
from trustmap.errors import TrustmapError
from trustmap.registry import Registry, check_id
from trustmap.utils.seed import seeded_global_rng


@dataclass(frozen=True)
class AdaptConfig:
    """Options shared by every method; ``lr=None`` takes the method's default."""

    method: str = "lora"
    deft_weight: float = 0.0  # DEFT density-loss weight lambda (0 = plain PEFT)
    deft_eps: float = 1e-7  # DEFT's L0 surrogate a^2 / (a^2 + eps): the authors' eps
    r: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("query", "value")
    granularity: str = "entry"  # LoRA-SP mask: entry | row
    prefix_length: int = 8
    epochs: int = 1
    batch_size: int = 32
    lr: float | None = None
    weight_decay: float = 0.0
    schedule: str = "onecycle"  # first-order methods: onecycle | constant
    steps: int | None = None  # ZO/FG: number of steps (default: epochs over the data)
    zo_eps: float = 1e-3
    sparsity: float = 0.5  # zo-sparse: fraction of entries not perturbed per step
    scheme: str = "lora"  # ZO/FG trainable set: lora (LoRA + head) | full (every parameter)
    head: str = "head"  # name of the task head module (always trainable)
    extra: dict[str, object] = field(default_factory=dict)


Prepare = Callable[[nn.Module, AdaptConfig, int], None]


@dataclass(frozen=True)
class MethodInfo:
    id: str
    family: str  # fo | zo | fg
    summary: str
    lr: float
    prepare: Prepare
    optimizer: str = "adamw"  # fo: adamw | sgd ; zo: a ZOOptimizer rule


def _check(method_id: str, family: str, lr: float) -> None:
    check_id(METHODS.kind, method_id)
    if family not in ("fo", "zo", "fg"):
        raise ValueError(f"family must be fo, zo or fg, got {family!r}")
    if not lr > 0:
        raise ValueError(f"default lr must be positive, got {lr}")


METHODS: Registry[MethodInfo] = Registry(
    "adaptation method", check=lambda name, info: _check(name, info.family, info.lr), summary=lambda i: i.summary
)


def register_method(
    method_id: str, *, family: str, summary: str, lr: float, optimizer: str = "adamw"
) -> Callable[[Prepare], Prepare]:
    """Register ``prepare(model, config, seed)`` (freezes and wraps ``model`` in place) under ``method_id``."""
    _check(method_id, family, lr)  # refuse before decorating

    def deco(fn: Prepare) -> Prepare:
        METHODS.add(method_id, MethodInfo(method_id, family, summary, lr, fn, optimizer))
        return fn

    return deco


def method_ids() -> list[str]:
    return sorted(METHODS.ids())


def method_info(method_id: str) -> MethodInfo:
    return METHODS.get(method_id)


def _encoder(model: nn.Module) -> nn.Module:
    return getattr(model, "encoder", model)


@register_method("full", family="fo", summary="full fine-tuning (AdamW), the reference", lr=5e-5)
def _full(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    for p in model.parameters():
        p.requires_grad_(True)


@register_method("lora", family="fo", summary="LoRA r=8, alpha=16 on query/value (arXiv 2106.09685)", lr=5e-4)
def _lora(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    freeze_except(model, trainable=(cfg.head,))
    apply_lora(_encoder(model), targets=cfg.targets, r=cfg.r, alpha=cfg.alpha, seed=seed)


@register_method(
    "lora-sp", family="fo", summary="LoRA with a fixed random half of the factors frozen (2403.08822)", lr=5e-4
)
def _lora_sp(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    freeze_except(model, trainable=(cfg.head,))
    apply_lora_sp(
        _encoder(model), targets=cfg.targets, r=cfg.r, alpha=cfg.alpha, seed=seed, granularity=cfg.granularity
    )


@register_method("prefix", family="fo", summary="P-Tuning v2 deep prefixes, length 8 (arXiv 2110.07602)", lr=5e-3)
def _prefix(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    freeze_except(model, trainable=(cfg.head,))
    apply_prefix(_encoder(model), length=cfg.prefix_length, seed=seed)


@register_method("apt", family="fo", summary="adaptive prefix tuning: gated, scaled prefixes (2305.15212)", lr=5e-3)
def _apt(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    freeze_except(model, trainable=(cfg.head,))
    apply_apt(_encoder(model), length=cfg.prefix_length, seed=seed)


@register_method(
    "peft-lora", family="fo", summary="Hugging Face PEFT's LoRA, same settings (cross-check of ours)", lr=5e-4
)
def _peft_lora(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    try:
        import peft
    except ModuleNotFoundError as exc:
        raise TrustmapError("peft-lora needs Hugging Face PEFT: pip install 'trustmap[adapt]'") from exc
    freeze_except(model, trainable=(cfg.head,))
    config = peft.LoraConfig(r=cfg.r, lora_alpha=int(cfg.alpha), target_modules=list(cfg.targets), lora_dropout=0.0)
    with seeded_global_rng(seed):  # PEFT draws its A factors from the global generator
        with warnings.catch_warnings():  # a transformers deprecation notice inside PEFT, not ours to act on
            warnings.simplefilter("ignore", FutureWarning)
            model.encoder = peft.get_peft_model(_encoder(model), config)


def _scheme(model: nn.Module, cfg: AdaptConfig, seed: int) -> None:
    if cfg.scheme == "full":
        _full(model, cfg, seed)
    elif cfg.scheme == "lora":
        _lora(model, cfg, seed)
    else:
        raise TrustmapError(f"scheme must be lora or full, got {cfg.scheme!r}")


for _id, _fam, _opt, _lr, _summary in (
    ("fo-sgd", "fo", "sgd", 1e-2, "first-order SGD (momentum 0.9) on the LoRA scheme, ZO-Bench baseline"),
    ("zo-sgd", "zo", "sgd", 1e-3, "ZO-SGD (MeZO): seeded in-place two-point estimate (2402.11592)"),
    ("zo-sgd-sign", "zo", "sign", 1e-4, "ZO-SGD-Sign: sign of the two-point estimate"),
    ("zo-sgd-mmt", "zo", "momentum", 1e-4, "ZO-SGD with momentum 0.9"),
    ("zo-adam", "zo", "adam", 1e-3, "ZO-Adam: Adam on two-point estimates"),
    ("zo-block", "zo", "sgd", 1e-3, "block-wise ZO-SGD: one block of tensors perturbed per step"),
    ("zo-sparse", "zo", "sgd", 1e-3, "sparse ZO-SGD: a random half of the entries perturbed per step"),
    ("fg", "fg", "sgd", 1e-3, "forward gradient: (grad L . z) z by one JVP (torch.func.jvp)"),
):
    register_method(_id, family=_fam, summary=_summary, lr=_lr, optimizer=_opt)(_scheme)


__all__ = ["METHODS", "AdaptConfig", "MethodInfo", "method_ids", "method_info", "register_method"]
