"""STRIP entropy (Gao et al., "STRIP: A Defence Against Trojan Attacks on Deep Neural Networks", ACSAC 2019,
arXiv 1902.06531).

STRIP superimposes an input on other clean images and reads the entropy of the model's predictions: a
clean input's class is fragile under superimposition (high entropy), while an input carrying a backdoor
trigger keeps the target class whatever it is mixed with (low entropy). Superimposition follows the
paper's code: the two images are added and clipped to the valid range (``addWeighted(a, 1, b, 1)`` on 8-bit
images), so a bright trigger survives it.

Shapes: ``x (N, C, H, W)``, ``overlays (M, C, H, W)``; returns the mean entropy per input ``(N,)`` in nats.

>>> h = strip_entropy(module, x, overlays=clean.x, n_overlays=8, clip=(0.0, 1.0), generator=g)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def strip_entropy(
    model: nn.Module,
    x: torch.Tensor,
    *,
    overlays: torch.Tensor,
    n_overlays: int = 8,
    clip: tuple[float, float] | None = (0.0, 1.0),
    generator: torch.Generator | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """Mean prediction entropy of each input of ``x`` superimposed on ``n_overlays`` random ``overlays``."""
    if len(x) == 0:
        return torch.zeros(0)
    if len(overlays) == 0 or n_overlays < 1:
        raise ValueError("STRIP needs at least one overlay image and n_overlays >= 1")
    model.eval()
    pick = torch.randint(len(overlays), (len(x), n_overlays), generator=generator)
    mixed = x[:, None] + overlays[pick]  # (N, n_overlays, C, H, W)
    if clip is not None:
        mixed = mixed.clamp(*clip)
    flat = mixed.reshape(-1, *x.shape[1:])
    logits = torch.cat([model(flat[i : i + batch_size]) for i in range(0, len(flat), batch_size)])
    p = F.softmax(logits.float(), dim=1)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum(1)
    return entropy.reshape(len(x), n_overlays).mean(1)
