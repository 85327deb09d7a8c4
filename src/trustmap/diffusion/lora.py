"""Adapt a text-conditioned DDPM (:mod:`trustmap.diffusion.text`) to a new domain or style: LoRA with PEFT on
the UNet's attention projections, or full fine-tuning, and the LoRA serving path (merge into the weights,
save and load the adapter alone). This is the domain/style-LoRA part of PAI-Diffusion (arXiv 2309.05534).

LoRA (Hu et al., arXiv 2106.09685): every targeted ``nn.Linear`` ``W`` (``to_q``, ``to_k``, ``to_v``,
``to_out.0`` of the self- and cross-attention blocks) becomes ``W + (alpha / r) B A`` with ``A`` ``(r, d_in)``
Gaussian and ``B`` ``(d_out, r)`` zero at the start, so the adapted model starts as the base model. PEFT's
``LoraConfig`` through diffusers' ``add_adapter`` does the wrapping, ``fuse_lora`` + ``unload_lora`` the
merge. Training: :func:`trustmap.diffusion.train.fit_denoiser` (ε-prediction MSE), no EMA.

>>> lora = adapt_text_ddpm(base, x_style, conds, AdaptConfig(method="lora", steps=300))
>>> served = merge_lora(lora)                       # plain UNet2DConditionModel, same outputs
>>> trainable_parameters(lora), trainable_parameters(base, full=True)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from trustmap.diffusion.text import TextDDPM
from trustmap.errors import ModelError, TrustmapError

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
METHODS = ("lora", "full")


@dataclass(frozen=True)
class AdaptConfig:
    """Fine-tuning settings; the defaults are ours (methods.md: LoRA rank 4, 1,000 steps)."""

    method: str = "lora"
    rank: int = 4
    alpha: float = 4.0
    steps: int = 300
    batch_size: int = 32
    lr: float | None = None  # None: 3e-3 for LoRA, 3e-4 for full fine-tuning (ours)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise TrustmapError(f"adaptation method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.rank < 1 or self.steps < 1 or self.batch_size < 1 or self.alpha <= 0:
            raise TrustmapError("rank, steps and batch size must be >= 1 and alpha > 0")
        if self.lr is not None and not self.lr > 0:
            raise TrustmapError(f"lr must be > 0, got {self.lr}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (3e-3 if self.method == "lora" else 3e-4)


def lora_config(rank: int = 4, alpha: float = 4.0):
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian", target_modules=list(LORA_TARGETS))


def is_lora(model: TextDDPM) -> bool:
    return bool(getattr(model.unet, "_hf_peft_config_loaded", False))


def trainable_parameters(model: TextDDPM, *, full: bool = False) -> int:
    """Parameters a fine-tuning updates: the LoRA factors of an adapted model, or every UNet weight (``full``
    or a model without adapter)."""
    params = list(model.unet.named_parameters())
    if is_lora(model) and not full:
        return sum(p.numel() for n, p in params if "lora_" in n)
    return sum(p.numel() for n, p in params if "lora_" not in n)


def with_lora(model: TextDDPM, *, rank: int = 4, alpha: float = 4.0, seed: int = 0) -> TextDDPM:
    """A copy of ``model`` with a fresh LoRA adapter on its attention projections (the base weights frozen)."""
    if is_lora(model):
        raise TrustmapError("this model already has a LoRA adapter; merge or start from the base model")
    unet = copy.deepcopy(model.unet)
    for p in unet.parameters():
        p.requires_grad_(False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet.add_adapter(lora_config(rank, alpha))
    for n, p in unet.named_parameters():
        p.requires_grad_("lora_" in n)
    return replace(model, unet=unet)


def adapt_text_ddpm(
    model: TextDDPM, x: np.ndarray, conds: torch.Tensor, config: AdaptConfig, *, progress: bool | None = None
) -> TextDDPM:
    """Fine-tune a copy of ``model`` on images ``x`` ``(N, 1, S, S)`` in [0, 1] with their encoded captions
    ``conds`` ``(N, L, 385)``; ``config.method`` picks LoRA or full fine-tuning. The base model is untouched."""
    from trustmap.diffusion.train import fit_denoiser

    if not isinstance(model, TextDDPM):
        raise TrustmapError("adaptation needs a text-conditioned DDPM (trustmap.diffusion.text)")
    if len(conds) != len(x) or conds.ndim != 3:
        raise TrustmapError(f"give one encoded caption per image: {len(x)} images, conditions {tuple(conds.shape)}")
    if config.method == "lora":
        adapted = with_lora(model, rank=config.rank, alpha=config.alpha, seed=config.seed)
    else:
        adapted = replace(model, unet=copy.deepcopy(model.unet))
        for p in adapted.unet.parameters():
            p.requires_grad_(True)
    train_cfg = replace(
        model.config,
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.learning_rate,
        ema_decay=0.0,  # no averaging: the fine-tuned weights as they end
        n_train=len(x),
        seed=config.seed,
    )
    plain = replace(adapted, guidance=1.0)  # train the conditional branch only
    fit_denoiser(plain, x, train_cfg, cond=conds.__getitem__, progress=progress)
    return adapted


def merge_lora(model: TextDDPM) -> TextDDPM:
    """A copy with the LoRA update folded into the base weights (``W + (alpha / r) B A``) and the adapter
    layers removed: a plain ``UNet2DConditionModel`` that costs what the base model costs to run."""
    if not is_lora(model):
        raise TrustmapError("this model has no LoRA adapter to merge")
    unet = copy.deepcopy(model.unet)
    unet.fuse_lora()
    unet.unload_lora()
    return replace(model, unet=unet.eval())


def save_lora(model: TextDDPM, path: str | Path) -> Path:
    """Write the adapter's weights alone (safetensors): what a server loads on top of the base model."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    from trustmap.utils.files import atomic_write

    if not is_lora(model):
        raise TrustmapError("this model has no LoRA adapter to save")
    state = {k: v.detach().contiguous().clone() for k, v in get_peft_model_state_dict(model.unet).items()}
    with atomic_write(path) as tmp:
        save_file(
            state, str(tmp), metadata={"format": "trustmap-lora", "rank": str(model.unet.peft_config["default"].r)}
        )
    return Path(path)


def load_lora(base: TextDDPM, path: str | Path, *, alpha: float | None = None) -> TextDDPM:
    """``base`` plus the adapter saved by :func:`save_lora` (rank read from the file; alpha defaults to it)."""
    from peft.utils import set_peft_model_state_dict
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
        rank = int(meta["rank"])
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise ModelError(f"{path} is not a trustmap LoRA adapter file") from exc
    if meta.get("format") != "trustmap-lora":
        raise ModelError(f"{path} is not a trustmap LoRA adapter file")
    model = with_lora(base, rank=rank, alpha=float(rank if alpha is None else alpha))
    result = set_peft_model_state_dict(model.unet, state)
    if getattr(result, "unexpected_keys", None):
        raise ModelError(f"{path} does not fit this model's attention layers")
    for p in model.unet.parameters():
        p.requires_grad_(False)
    model.unet.eval()
    return model
