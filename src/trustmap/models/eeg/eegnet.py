"""EEGNet-style compact CNN (Lawhern et al., arXiv 1611.08024), the CNN baseline of ``repro cbramod``.

Temporal convolution (F1 filters, half a second long), depthwise spatial convolution (D per filter), BN,
ELU, average pooling, separable convolution (F2 filters), BN, ELU, pooling, linear classifier.
Input ``(B, C, T)``; output ``(B, classes)``.

>>> EEGNet(channels=12, samples=800, classes=4)(torch.randn(2, 12, 800)).shape
torch.Size([2, 4])
"""

from __future__ import annotations

import torch
from torch import nn


class EEGNet(nn.Module):
    def __init__(
        self,
        *,
        channels: int,
        samples: int,
        classes: int,
        f1: int = 8,
        depth: int = 2,
        f2: int = 16,
        kernel: int = 100,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, f1, (1, kernel), padding=(0, kernel // 2), bias=False),
            nn.BatchNorm2d(f1),
            nn.Conv2d(f1, f1 * depth, (channels, 1), groups=f1, bias=False),
            nn.BatchNorm2d(f1 * depth),
            nn.ELU(),
            nn.AvgPool2d((1, 4)),
            nn.Dropout(dropout),
            nn.Conv2d(f1 * depth, f1 * depth, (1, 16), padding=(0, 8), groups=f1 * depth, bias=False),
            nn.Conv2d(f1 * depth, f2, 1, bias=False),
            nn.BatchNorm2d(f2),
            nn.ELU(),
            nn.AvgPool2d((1, 8)),
            nn.Dropout(dropout),
            nn.Flatten(1),
        )
        with torch.no_grad():
            width = self.net(torch.zeros(1, 1, channels, samples)).shape[1]
        self.fc = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.net(x[:, None]))
