"""The configuration of a small DDPM: one frozen dataclass, JSON round-trip, and a cache key.

Values the DDPM paper does not fix for this toy setting are *(ours)*: a tiny ``UNet2DModel`` (16 and 32
channels, one ResNet layer per block, no attention) so that training fits 2 CPU cores in minutes.

>>> cfg = DDPMConfig(image_size=14, conditional=True, steps=3000)
>>> DDPMConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from trustmap.errors import ModelError, TrustmapError

IMAGE_SIZES = (14, 28)
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


@dataclass(frozen=True)
class DDPMConfig:
    """A DDPM on Fashion-MNIST: ``(N, 1, S, S)`` images scaled to [-1, 1], ``S`` = 14 (FM14) or 28."""

    image_size: int = 14
    conditional: bool = False  # class-conditional through UNet2DModel's num_class_embeds (10 classes)
    channels: tuple[int, ...] = (16, 32)  # (ours)
    layers_per_block: int = 1  # (ours)
    train_timesteps: int = 1000
    beta_schedule: str = "linear"
    steps: int = 2000  # optimiser steps (ours)
    batch_size: int = 64  # (ours)
    lr: float = 2e-3  # (ours)
    ema_decay: float = 0.995  # (ours)
    n_train: int = 60000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size not in IMAGE_SIZES:
            raise TrustmapError(f"image size must be 14 (FM14) or 28, got {self.image_size}")
        if not self.channels or any(int(c) < 8 or int(c) % 8 for c in self.channels):
            raise TrustmapError(f"channels must be multiples of 8 (>= 8), got {self.channels}")
        if self.image_size % (2 ** (len(self.channels) - 1)):
            raise TrustmapError(f"{len(self.channels)} UNet levels do not fit {self.image_size}x{self.image_size}")
        for name in ("layers_per_block", "train_timesteps", "steps", "batch_size", "n_train"):
            if int(getattr(self, name)) < 1:
                raise TrustmapError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise TrustmapError(f"beta schedule must be one of {', '.join(BETA_SCHEDULES)}")
        if not (self.lr > 0 and 0 <= self.ema_decay < 1):
            raise TrustmapError("lr must be > 0 and ema_decay in [0, 1)")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    @property
    def num_classes(self) -> int:
        return 10 if self.conditional else 0

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, data: Any) -> DDPMConfig:
        """Rebuild from :meth:`to_dict`; anything else is a :class:`ModelError` (a corrupt config file)."""
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - names:
            raise ModelError("diffusion config is not a trustmap DDPM config; re-save the model with trustmap")
        try:
            kwargs = {k: tuple(v) if k == "channels" else v for k, v in data.items()}
            return cls(**kwargs)
        except (TypeError, TrustmapError) as exc:
            raise ModelError(f"diffusion config is invalid ({exc}); re-save the model with trustmap") from exc

    def key(self) -> str:
        """A 16-hex-digit key of every field (the cache folder name)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
