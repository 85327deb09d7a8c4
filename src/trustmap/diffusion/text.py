"""A text-conditioned DDPM: diffusers' ``UNet2DConditionModel`` cross-attending to the token states of the
bundled, frozen MiniLM (all-MiniLM-L6-v2, 384-d) for captions made from Fashion-MNIST class names
("a photo of a sneaker"). The captions are synthetic (templates × the 10 class names); the images are real.

Shapes: images ``(N, 1, S, S)``; a caption's condition is ``(L, 385)``: MiniLM's ``L`` = 10 token states
(padded or truncated, (ours)) with the attention mask as the last channel, so that a batch of conditions is
one tensor that the samplers of :mod:`trustmap.diffusion.sample` can slice like class labels. The UNet has
cross-attention in its first (full-resolution) level and its middle block *(ours)*.

>>> model = train_text_ddpm(x, y, DDPMConfig(steps=2000))
>>> x = sample(model, labels=model.encode(["a photo of a sneaker"] * 8), n=8, steps=10, sampler="dpm++")
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import UNet2DConditionModel

from trustmap.diffusion.config import DDPMConfig
from trustmap.errors import TrustmapError

CLASS_NAMES = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
TEMPLATES = ("a photo of a {}", "a picture of a {}", "a small grey {}")
MAX_TOKENS = 10
HIDDEN = 384


def caption(label: int, template: int = 0) -> str:
    """The caption of class ``label`` with template ``template`` (e.g. ``"a photo of a sneaker"``)."""
    return TEMPLATES[template % len(TEMPLATES)].format(CLASS_NAMES[int(label)])


@functools.lru_cache(maxsize=1)
def _minilm():
    from trustmap.models.text import load_encoder, load_tokenizer

    encoder = load_encoder().eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    return load_tokenizer(), encoder


@torch.no_grad()
def encode_captions(texts: list[str]) -> torch.Tensor:
    """``(N, MAX_TOKENS, 385)``: frozen MiniLM token states with the attention mask as the last channel."""
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise TrustmapError("give one non-empty caption per sample")
    tokenizer, encoder = _minilm()
    batch = tokenizer(texts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    states = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    return torch.cat([states, batch["attention_mask"].unsqueeze(-1).float()], dim=-1)


def build_text_unet(config: DDPMConfig, *, seed: int = 0) -> UNet2DConditionModel:
    levels = len(config.channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=config.image_size,
            in_channels=1,
            out_channels=1,
            block_out_channels=config.channels,
            down_block_types=("CrossAttnDownBlock2D",) + ("DownBlock2D",) * (levels - 1),
            up_block_types=("UpBlock2D",) * (levels - 1) + ("CrossAttnUpBlock2D",),
            layers_per_block=config.layers_per_block,
            norm_num_groups=8,
            cross_attention_dim=HIDDEN,
            attention_head_dim=8,
        )
    return unet.eval()


@dataclass
class TextDDPM:
    """A text-conditioned ε-prediction UNet; ``config.conditional`` is False (the condition is the caption)."""

    unet: UNet2DConditionModel
    config: DDPMConfig

    @classmethod
    def build(cls, config: DDPMConfig, *, seed: int | None = None) -> TextDDPM:
        if config.conditional:
            raise TrustmapError("a text-conditioned DDPM takes captions, not class labels: use conditional=False")
        return cls(build_text_unet(config, seed=config.seed if seed is None else seed), config)

    @staticmethod
    def encode(texts: list[str]) -> torch.Tensor:
        return encode_captions(texts)

    def check_labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor:
        if labels is None or labels.ndim != 3 or len(labels) != n or labels.shape[-1] != HIDDEN + 1:
            raise TrustmapError(f"a text-conditioned DDPM needs {n} encoded captions (TextDDPM.encode(texts))")
        return labels

    def eps(self, x: torch.Tensor, t: torch.Tensor | int, cond: torch.Tensor | None = None) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=torch.long)
        if t.ndim == 0:
            t = t.expand(len(x))
        assert cond is not None
        states, mask = cond[..., :HIDDEN], cond[..., HIDDEN]
        return self.unet(x, t, encoder_hidden_states=states, encoder_attention_mask=mask).sample


def caption_table() -> tuple[torch.Tensor, np.ndarray]:
    """Encoded captions for every (class, template): ``(10 * T, L, 385)`` and their class labels."""
    pairs = [(c, k) for c in range(len(CLASS_NAMES)) for k in range(len(TEMPLATES))]
    return encode_captions([caption(c, k) for c, k in pairs]), np.array([c for c, _ in pairs])


def train_text_ddpm(x: np.ndarray, y: np.ndarray, config: DDPMConfig, *, progress: bool | None = None) -> TextDDPM:
    """Train on images and class labels; each training image gets a random template of its class's caption."""
    from trustmap.diffusion.train import fit_denoiser
    from trustmap.utils.seed import torch_generator

    if y is None or len(y) != len(x):
        raise TrustmapError("a text-conditioned DDPM needs one class label (0-9) per image to caption it")
    table, _ = caption_table()
    g = torch_generator(config.seed + 1)
    pick = torch.randint(0, len(TEMPLATES), (len(x),), generator=g)
    index = torch.as_tensor(np.asarray(y, dtype=np.int64)) * len(TEMPLATES) + pick
    model = TextDDPM.build(config)
    fit_denoiser(model, x, config, cond=lambda idx: table[index[idx]], progress=progress)
    return model
