"""A small DDPM: diffusers' ``UNet2DModel`` (ε-prediction; class-conditional through ``num_class_embeds``)
with the noise schedule of a ``DDPMScheduler``.

Shapes: ``x`` ``(N, 1, S, S)`` float32 in [-1, 1] (noisy), ``t`` ``(N,)`` int64 in [0, T), ``labels``
``(N,)`` int64 in [0, 10) for a conditional model (``None`` for an unconditional one); ``eps`` returns
``(N, 1, S, S)``.

>>> model = DDPM.build(DDPMConfig(image_size=14, conditional=True), seed=0)
>>> model.eps(torch.randn(4, 1, 14, 14), torch.full((4,), 500), torch.arange(4)).shape
torch.Size([4, 1, 14, 14])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import DDPMScheduler, UNet2DModel

from trustmap.diffusion.config import DDPMConfig
from trustmap.errors import TrustmapError


def build_unet(config: DDPMConfig, *, seed: int = 0) -> UNet2DModel:
    """A tiny UNet: one down block per entry of ``config.channels`` (no attention, (ours))."""
    levels = len(config.channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DModel(
            sample_size=config.image_size,
            in_channels=1,
            out_channels=1,
            block_out_channels=config.channels,
            down_block_types=("DownBlock2D",) * levels,
            up_block_types=("UpBlock2D",) * levels,
            layers_per_block=config.layers_per_block,
            norm_num_groups=8,
            num_class_embeds=config.num_classes or None,
        )
    return unet.eval()


def noise_scheduler(config: DDPMConfig) -> DDPMScheduler:
    """The training-time forward process: ``config.train_timesteps`` steps of ``config.beta_schedule``."""
    return DDPMScheduler(
        num_train_timesteps=config.train_timesteps, beta_schedule=config.beta_schedule, clip_sample=False
    )


@dataclass
class DDPM:
    """A trained (or fresh) ε-prediction UNet and its config."""

    unet: UNet2DModel
    config: DDPMConfig

    @classmethod
    def build(cls, config: DDPMConfig, *, seed: int | None = None) -> DDPM:
        return cls(build_unet(config, seed=config.seed if seed is None else seed), config)

    def check_labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """``labels`` as ``(n,)`` int64 for a conditional model; refuse labels for an unconditional one."""
        if not self.config.conditional:
            if labels is not None:
                raise TrustmapError("this DDPM is unconditional; sample it without class labels")
            return None
        if labels is None:
            raise TrustmapError("this DDPM is class-conditional; give one class label (0-9) per sample")
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if labels.numel() != n or (labels.numel() and (labels.min() < 0 or labels.max() >= self.config.num_classes)):
            raise TrustmapError(f"give {n} class labels in 0..{self.config.num_classes - 1}")
        return labels

    def eps(self, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The predicted noise ``ε(x, t[, label])``, shape of ``x``."""
        t = torch.as_tensor(t, dtype=torch.long)
        if t.ndim == 0:
            t = t.expand(len(x))
        return self.unet(x, t, class_labels=labels).sample
