"""A text-conditioned DDPM: diffusers' ``UNet2DConditionModel`` cross-attending to the token states of the
bundled, frozen MiniLM (all-MiniLM-L6-v2, 384-d) for captions made from Fashion-MNIST class names and
measured attributes (:mod:`trustmap.data.captions`: ink, width and height bins, 5 templates, e.g.
"a heavy wide sneaker, sitting low in the frame"), plus class-only captions ("a photo of a sneaker"). The
captions are synthetic; the images are real.

Shapes: images ``(N, 1, S, S)``; a caption's condition is ``(L, 385)``: MiniLM's ``L`` = 24 token states
(padded or truncated, (ours)) with the attention mask as the last channel, so that a batch of conditions is
one tensor that the samplers of :mod:`trustmap.diffusion.sample` can slice like class labels. The UNet has
cross-attention (with self-attention) in its second (7×7) level and its middle block *(ours: attention at
14×14 cost 3× the training time)*. Training draws, per image, its attribute caption (70%), a class-only
caption (20%) or the null condition (10%, for classifier-free guidance: ``guided(model, 2.0)``).

The 1,380 training captions are encoded by MiniLM once and cached on disk (:func:`caption_table`).

>>> model = train_text_ddpm(x, y, DDPMConfig(steps=2000))
>>> x = sample(guided(model, 2.0), labels=model.encode(["a photo of a sneaker"] * 8), n=8, steps=10)
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace

import numpy as np
import torch
from diffusers import UNet2DConditionModel

from trustmap.data.captions import CLASS_NAMES, AttributeBins, all_captions, tuple_id
from trustmap.data.captions import TEMPLATES as ATTRIBUTE_TEMPLATES
from trustmap.diffusion.config import DDPMConfig
from trustmap.errors import TrustmapError

CLASS_TEMPLATES = ("a photo of a {}", "a picture of a {}", "a small grey {}")
MAX_TOKENS = 24
HIDDEN = 384
CAPTION_SET = "fm-attributes-v1"  # part of the cache names: change it when the caption set changes
P_CLASS_ONLY, P_NULL = 0.2, 0.1  # (ours)


def caption(label: int, template: int = 0) -> str:
    """The class-only caption of class ``label`` with template ``template`` (e.g. ``"a photo of a sneaker"``)."""
    return CLASS_TEMPLATES[template % len(CLASS_TEMPLATES)].format(CLASS_NAMES[int(label)])


def caption_set() -> list[str]:
    """The training captions: 1,350 attribute captions (``tuple_id * 5 + template``), then 30 class-only ones
    (``1350 + class * 3 + template``)."""
    return all_captions() + [caption(c, k) for c in range(len(CLASS_NAMES)) for k in range(len(CLASS_TEMPLATES))]


def caption_ids(tuples: np.ndarray, template: np.ndarray | int) -> np.ndarray:
    """Rows of :func:`caption_set` for attribute tuples ``(N, 4)`` (class, ink, width, height bins)."""
    return tuple_id(tuples) * len(ATTRIBUTE_TEMPLATES) + np.asarray(template)


def class_caption_ids(labels: np.ndarray, template: np.ndarray | int = 0) -> np.ndarray:
    """Rows of :func:`caption_set` for class-only captions."""
    base = len(all_captions())
    return base + np.asarray(labels, np.int64) * len(CLASS_TEMPLATES) + np.asarray(template)


@functools.lru_cache(maxsize=1)
def _minilm():
    from trustmap.models.text import load_encoder, load_tokenizer

    encoder = load_encoder().eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    return load_tokenizer(), encoder


@torch.no_grad()
def encode_captions(texts: list[str], *, batch_size: int = 256) -> torch.Tensor:
    """``(N, MAX_TOKENS, 385)``: frozen MiniLM token states with the attention mask as the last channel."""
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise TrustmapError("give one non-empty caption per sample")
    tokenizer, encoder = _minilm()
    out = []
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[i : i + batch_size], padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        states = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        out.append(torch.cat([states, batch["attention_mask"].unsqueeze(-1).float()], dim=-1))
    return torch.cat(out)


def null_condition(n: int) -> torch.Tensor:
    """``(n, MAX_TOKENS, 385)``: the unconditional input of classifier-free guidance (one zero token)."""
    cond = torch.zeros(n, MAX_TOKENS, HIDDEN + 1)
    cond[:, 0, HIDDEN] = 1.0
    return cond


@functools.lru_cache(maxsize=1)
def caption_table() -> torch.Tensor:
    """:func:`encode_captions` of :func:`caption_set`, ``(1380, L, 385)``: computed once, then read from the
    diffusion cache folder (a stale or corrupt file is recomputed)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    from trustmap.diffusion.cache import cache_root
    from trustmap.utils.files import atomic_write

    texts = caption_set()
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_root() / f"captions-{CAPTION_SET}-{MAX_TOKENS}-{digest}.safetensors"
    if path.is_file():
        try:
            table = load_file(str(path))["states"]
            if table.shape == (len(texts), MAX_TOKENS, HIDDEN + 1):
                return table
        except (SafetensorError, OSError, KeyError, ValueError):
            pass
    table = encode_captions(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        save_file({"states": table.contiguous()}, str(tmp))
    return table


def build_text_unet(config: DDPMConfig, *, seed: int = 0) -> UNet2DConditionModel:
    levels = len(config.channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=config.image_size,
            in_channels=1,
            out_channels=1,
            block_out_channels=config.channels,
            down_block_types=("DownBlock2D",) * (levels - 1) + ("CrossAttnDownBlock2D",),
            up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
            layers_per_block=config.layers_per_block,
            norm_num_groups=8,
            cross_attention_dim=HIDDEN,
            attention_head_dim=8,
        )
    return unet.eval()


@dataclass
class TextDDPM:
    """A text-conditioned ε-prediction UNet; ``config.conditional`` is False (the condition is the caption).
    ``guidance`` is the classifier-free guidance scale used by :meth:`eps` (1 = none)."""

    unet: UNet2DConditionModel
    config: DDPMConfig
    guidance: float = 1.0

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
        if self.guidance != 1.0:
            cond = torch.cat([cond, null_condition(len(x)).to(cond)[:, : cond.shape[1]]])
            x, t = torch.cat([x, x]), torch.cat([t, t])
        states, mask = cond[..., :HIDDEN], cond[..., HIDDEN]
        out = self.unet(x, t, encoder_hidden_states=states, encoder_attention_mask=mask).sample
        if self.guidance != 1.0:
            c, u = out.chunk(2)
            out = u + self.guidance * (c - u)
        return out


def guided(model: TextDDPM, scale: float) -> TextDDPM:
    """The same network sampled with classifier-free guidance ``scale`` (> 0; 1 = plain conditional)."""
    if not scale > 0:
        raise TrustmapError(f"guidance scale must be > 0, got {scale}")
    return replace(model, guidance=float(scale))


def train_text_ddpm(x: np.ndarray, y: np.ndarray, config: DDPMConfig, *, progress: bool | None = None) -> TextDDPM:
    """Train on images and class labels: each step captions each image with its attribute caption (bins fitted
    on the training images, random template), a class-only caption or the null condition."""
    from trustmap.diffusion.train import fit_denoiser
    from trustmap.utils.seed import torch_generator

    if y is None or len(y) != len(x):
        raise TrustmapError("a text-conditioned DDPM needs one class label (0-9) per image to caption it")
    x, y = x[: config.n_train], np.asarray(y[: config.n_train], dtype=np.int64)
    attr = torch.as_tensor(tuple_id(AttributeBins.fit(x, y).tuples(x, y)) * len(ATTRIBUTE_TEMPLATES))
    cls = torch.as_tensor(class_caption_ids(y))
    table = caption_table()
    g = torch_generator(config.seed + 1)

    def cond(idx: torch.Tensor) -> torch.Tensor:
        u = torch.rand(len(idx), generator=g)
        a = attr[idx] + torch.randint(0, len(ATTRIBUTE_TEMPLATES), (len(idx),), generator=g)
        c = cls[idx] + torch.randint(0, len(CLASS_TEMPLATES), (len(idx),), generator=g)
        out = table[torch.where(u < P_CLASS_ONLY, c, a)].clone()
        drop = u >= 1.0 - P_NULL
        out[drop] = null_condition(int(drop.sum()))
        return out

    model = TextDDPM.build(config)
    fit_denoiser(model, x, config, cond=cond, progress=progress)
    return model
