"""Source-free adaptation baselines for ``repro sf-uida``: Tent and SHOT, on a :class:`SleepNet`.

- **Tent** (Wang et al., arXiv 2006.10726): entropy minimisation of the predictions on the target data,
  updating only the BatchNorm affine parameters, with BatchNorm normalising by target batch statistics.
- **SHOT** (Liang et al., arXiv 2002.08431): the classifier is frozen; the feature extractor is trained with
  information maximisation (mean per-epoch entropy minus the entropy of the mean prediction) plus
  ``beta`` x cross-entropy on pseudo-labels from weighted class centroids (cosine distance, one refinement),
  recomputed at the start of every pass.

Input: one subject's unlabelled sequences ``(S, L, C, T)``; output :class:`AdaptResult`. Learning rates and
epochs are ours.

>>> from trustmap.models.eeg.sleepnet import SleepNet
>>> out = tent(SleepNet(channels=1), torch.randn(4, 10, 1, 1500), epochs=1, seed=0)
>>> out.model(torch.randn(1, 10, 1, 1500)).shape
torch.Size([1, 10, 5])
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from trustmap.models.eeg.sf_uida import AdaptResult, _check
from trustmap.models.eeg.sleepnet import SleepNet
from trustmap.utils.seed import seeded_generator, seeded_global_rng


def _entropy(prob: torch.Tensor) -> torch.Tensor:
    return -(prob * prob.clamp_min(1e-8).log()).sum(-1)


def tent(
    model: SleepNet, x: torch.Tensor, *, epochs: int = 5, lr: float = 1e-3, batch_size: int = 4, seed: int = 0
) -> AdaptResult:
    _check(x)
    start = time.process_time()
    gen = seeded_generator(seed, 61)
    net = copy.deepcopy(model)
    net.eval()  # dropout off; BatchNorm switched to batch statistics below
    params = []
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.train()
            params += [m.weight, m.bias]
    for p in net.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(epochs):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for i in range(0, len(x), batch_size):
            loss = _entropy(net(x[order[i : i + batch_size]]).softmax(-1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total)
    net.eval()  # running statistics have followed the target batches
    return AdaptResult(net, time.process_time() - start, losses)


@torch.no_grad()
def _centroid_labels(net: SleepNet, x: torch.Tensor) -> torch.Tensor:
    feats = torch.cat([net.features(x[i : i + 8]).flatten(0, 1) for i in range(0, len(x), 8)])
    prob = net.classifier(feats).softmax(-1)
    feats = nn.functional.normalize(feats, dim=1)
    for _ in range(2):  # weighted centroids, then one hard-label refinement
        cent = nn.functional.normalize(prob.T @ feats / (prob.sum(0)[:, None] + 1e-8), dim=1)
        label = (feats @ cent.T).argmax(1)
        prob = nn.functional.one_hot(label, cent.shape[0]).float()
    return label.reshape(x.shape[0], x.shape[1])


def shot(
    model: SleepNet,
    x: torch.Tensor,
    *,
    epochs: int = 5,
    lr: float = 1e-4,
    beta: float = 0.3,
    batch_size: int = 4,
    seed: int = 0,
) -> AdaptResult:
    _check(x)
    start = time.process_time()
    gen = seeded_generator(seed, 71)
    net = copy.deepcopy(model)
    for p in net.classifier.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    losses = []
    with seeded_global_rng(seed):
        for _ in range(epochs):
            net.eval()
            pseudo = _centroid_labels(net, x)
            net.train()
            order, total = torch.randperm(len(x), generator=gen), 0.0
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                prob = net(x[idx]).softmax(-1).flatten(0, 1)
                mean = prob.mean(0)
                im = _entropy(prob).mean() - _entropy(mean)
                ce = nn.functional.nll_loss(prob.clamp_min(1e-8).log(), pseudo[idx].flatten())
                loss = im + beta * ce
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            losses.append(total)
    net.eval()
    return AdaptResult(net, time.process_time() - start, losses)
