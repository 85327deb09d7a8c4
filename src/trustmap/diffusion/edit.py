"""Text-guided editing of generated images by attention control in the text-conditioned DDPM
(:mod:`trustmap.diffusion.text`): Free-Prompt-Editing's self-attention map injection (FPE, Liu et al., CVPR
2024, arXiv 2403.03431) and Prompt-to-Prompt's cross-attention map swap (Hertz et al., arXiv 2208.01626).

A source and a target branch start from the same noise ``x_T`` and run DDIM together (one batch). During
the first ``tau`` share of the steps, ``mode="self"`` copies the source branch's self-attention
probabilities (``attn1`` of every transformer block) into the target branch, ``mode="cross"`` copies its
cross-attention probabilities (``attn2``), ``mode="none"`` copies nothing; the target branch keeps its own
values, so only *where* it attends is borrowed. Attention processors replace diffusers' default
``AttnProcessor`` for the duration of the edit. With classifier-free guidance the null branches are paired
the same way.

Shapes: ``noise`` ``(N, 1, S, S)``; ``source`` and ``target`` encoded captions ``(N, L, 385)``; returns the
source and edited images ``(N, 1, S, S)`` in [-1, 1].

>>> src, out = edit(guided(model, 2.0), noise, model.encode(["a photo of a sneaker"] * n),
...                 model.encode(["a photo of a sandal"] * n), mode="self", tau=0.6, steps=20)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor

from trustmap.diffusion.sample import make_scheduler
from trustmap.diffusion.text import TextDDPM
from trustmap.errors import TrustmapError

MODES = ("none", "self", "cross")


@dataclass
class _Control:
    mode: str
    inject: bool = False


class InjectProcessor(AttnProcessor):
    """diffusers' ``AttnProcessor`` that, while ``control.inject``, copies each source chunk's attention
    probabilities into the target chunk after it (the batch is ``[source, target]`` chunks, repeated)."""

    def __init__(self, control: _Control, *, cross: bool) -> None:
        self.control, self.cross = control, cross

    def __call__(self, attn: Attention, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **_):
        batch, length, _ = (hidden_states if encoder_hidden_states is None else encoder_hidden_states).shape
        attention_mask = attn.prepare_attention_mask(attention_mask, length, batch)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        key, value = attn.head_to_batch_dim(attn.to_k(context)), attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(query, key, attention_mask)
        if self.control.inject and self.control.mode == ("cross" if self.cross else "self"):
            p = probs.view(batch, attn.heads, *probs.shape[1:]).clone()
            k = 2 if batch == 2 * self._n else 4  # [src, tgt] or, with guidance, [src, tgt, src-null, tgt-null]
            n = batch // k
            for g in range(0, k, 2):
                p[(g + 1) * n : (g + 2) * n] = p[g * n : (g + 1) * n]
            probs = p.view_as(probs)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[1](attn.to_out[0](out))
        return out / attn.rescale_output_factor

    _n = 0  # images per branch, set by :func:`edit`


@torch.no_grad()
def edit(
    model: TextDDPM,
    noise: torch.Tensor,
    source: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str = "self",
    tau: float = 0.6,
    steps: int = 20,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate the source image and its edit toward ``target`` with attention control ``mode``."""
    if not isinstance(model, TextDDPM):
        raise TrustmapError("editing needs a text-conditioned DDPM (trustmap.diffusion.text)")
    if mode not in MODES:
        raise TrustmapError(f"edit mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not 0.0 <= tau <= 1.0 or steps < 1:
        raise TrustmapError("tau must be in [0, 1] and steps >= 1")
    n = len(noise)
    if source.shape != target.shape or len(source) != n:
        raise TrustmapError("give one source and one target caption per noise")
    control = _Control(mode)
    unet = model.unet
    saved = unet.attn_processors
    procs = {}
    for name in saved:
        proc = InjectProcessor(control, cross=name.endswith("attn2.processor"))
        proc._n = n
        procs[name] = proc
    unet.set_attn_processor(procs)
    try:
        sched = make_scheduler(model, "ddim")
        sched.set_timesteps(steps)
        x, cond = torch.cat([noise, noise]), torch.cat([source, target])
        for i, t in enumerate(sched.timesteps):
            control.inject = i < round(tau * steps)
            x = sched.step(model.eps(x, t, cond), t, x).prev_sample
    finally:
        unet.set_attn_processor(saved)
    x = x.clamp(-1.0, 1.0)
    return x[:n], x[n:]
