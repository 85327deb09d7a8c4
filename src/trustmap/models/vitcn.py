"""ViTCN (arXiv 2403.09962): CoPINet's contrast reasoning with a Vision Transformer panel encoder.

- :class:`PanelViT`: patch 4 on a 20x20 panel (25 patches + a class token), ``d`` 64, ``layers`` 4,
  4 heads, pre-norm, MLP ratio 2; the class token's output is the panel embedding.
- :class:`PanelCNN` (CoPINet-lite's perception): 4 conv layers (3x3, ReLU, two 2x2 pools) and a linear
  map to ``d``.
- :class:`ContrastReasoner`: a row network ``g`` maps the three panels of a row to a row feature; the
  context feature is the mean of rows 1 and 2; each candidate completes row 3. CoPINet's
  permutation-invariant contrast replaces each candidate's row feature by its residual against the
  candidates' mean (``contrast=True``); a scorer compares it with the context feature, and the loss is
  cross-entropy over the 8 candidate scores (the InfoNCE form of CoPINet's NCE contrast loss). With
  ``contrast=False`` and a ViT encoder it is the plain-ViT baseline.

Shapes: ``panels`` ``(B, 16, 20, 20)`` (8 context panels, then 8 candidates) -> scores ``(B, 8)``.

>>> net = ContrastReasoner(PanelViT())
>>> net(torch.zeros(2, 16, 20, 20)).shape
torch.Size([2, 8])
"""

from __future__ import annotations

import torch
from torch import nn


class PanelViT(nn.Module):
    def __init__(self, *, d: int = 64, layers: int = 4, heads: int = 4, patch: int = 4, size: int = 20) -> None:
        super().__init__()
        self.patch, self.d = patch, d
        n = (size // patch) ** 2
        self.embed = nn.Linear(patch * patch, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(0.02 * torch.randn(1, n + 1, d))
        layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, p = x.shape[0], self.patch
        tiles = x.unfold(1, p, p).unfold(2, p, p).reshape(b, -1, p * p)
        tokens = torch.cat([self.cls.expand(b, -1, -1), self.embed(tiles)], 1) + self.pos
        return self.norm(self.blocks(tokens)[:, 0])


class PanelCNN(nn.Module):
    def __init__(self, *, d: int = 64, width: int = 32) -> None:
        super().__init__()
        self.d = d
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(width * 25, d),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[:, None])


class ContrastReasoner(nn.Module):
    def __init__(self, encoder: nn.Module, *, contrast: bool = True) -> None:
        super().__init__()
        d = encoder.d
        self.encoder, self.contrast = encoder, contrast
        self.row = nn.Sequential(nn.Linear(3 * d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.score = nn.Sequential(nn.Linear(3 * d, d), nn.ReLU(), nn.Linear(d, 1))

    def forward(self, panels: torch.Tensor) -> torch.Tensor:
        b = panels.shape[0]
        emb = self.encoder(panels.reshape(-1, *panels.shape[2:])).reshape(b, 16, -1)
        ctx, cand = emb[:, :8], emb[:, 8:]
        r1 = self.row(ctx[:, 0:3].flatten(1))
        r2 = self.row(ctx[:, 3:6].flatten(1))
        third = torch.cat([ctx[:, None, 6:8].expand(-1, 8, -1, -1), cand[:, :, None]], 2)  # (B, 8, 3, d)
        r3 = self.row(third.flatten(2))
        if self.contrast:
            r3 = r3 - r3.mean(1, keepdim=True)
        rc = ((r1 + r2) / 2)[:, None].expand_as(r3)
        return self.score(torch.cat([r3, rc, r3 * rc], -1))[..., 0]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
