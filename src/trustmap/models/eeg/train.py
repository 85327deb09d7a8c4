"""Training and prediction loops shared by the EEG models (classification, cross-entropy, AdamW).

>>> from trustmap.models.eeg.eegnet import EEGNet
>>> net = EEGNet(channels=2, samples=400, classes=2)
>>> _ = train_classifier(net, torch.randn(8, 2, 400), torch.tensor([0, 1] * 4), epochs=1, seed=0)
>>> predict(net, torch.randn(3, 2, 400)).shape
torch.Size([3, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from trustmap.utils.seed import seeded_generator, seeded_global_rng


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 32,
    weight_decay: float = 0.01,
    seed: int = 0,
) -> list[float]:
    """Cross-entropy training with AdamW and a one-cycle schedule; returns the mean loss per epoch."""
    gen = seeded_generator(seed, 41)
    steps = epochs * -(-len(x) // batch_size)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    history = []
    model.train()
    with seeded_global_rng(seed):
        for _ in range(epochs):
            order, total = torch.randperm(len(x), generator=gen), 0.0
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            history.append(total / len(x))
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Logits of ``model`` (in eval mode) over ``x`` in batches."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
