"""A small sleep-staging network: a CNN per 30-s epoch, a bidirectional GRU over a sequence of epochs.

In the spirit of DeepSleepNet / TinySleepNet (the paper of ``repro sf-uida`` plugs its adaptation into such
networks). Input ``(B, L, C, T)`` (L consecutive epochs), output logits ``(B, L, classes)``. The *feature
extractor* is the CNN plus the GRU (:meth:`SleepNet.features`, ``(B, L, 2 * hidden)``); the *classifier*
is the final linear layer (``SleepNet.classifier``), which source-free adaptation methods may freeze.
Sizes are ours.

>>> net = SleepNet(channels=3)
>>> net(torch.randn(2, 10, 3, 1500)).shape
torch.Size([2, 10, 5])
"""

from __future__ import annotations

import torch
from torch import nn


class SleepNet(nn.Module):
    def __init__(self, *, channels: int, classes: int = 5, hidden: int = 48, dropout: float = 0.3) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(channels, 16, 50, stride=6, padding=25),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.MaxPool1d(8),
            nn.Dropout(dropout),
            nn.Conv1d(16, 32, 8, padding=4),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Conv1d(32, 32, 8, padding=4),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(4),
            nn.Flatten(1),
            nn.Dropout(dropout),
        )
        self.gru = nn.GRU(128, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, classes)
        self.feature_dim = 2 * hidden

    def features(self, x: torch.Tensor) -> torch.Tensor:
        b, length = x.shape[:2]
        z = self.encoder(x.reshape(b * length, *x.shape[2:])).reshape(b, length, -1)
        return self.gru(z)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
