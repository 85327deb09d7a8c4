"""SF-UIDA: source-free unsupervised individual domain adaptation for sleep staging.

Paper: "Personalized Sleep Staging Leveraging Source-free Unsupervised Domain Adaptation", arXiv 2412.12159
(AAAI 2025); no code was released, so this follows the paper's description. Each new subject is a target
domain; only the source model and the subject's *unlabelled* epoch sequences ``(S, L, C, T)`` are used.

1. **Sequential Cross-View Contrasting (SCC).** Two views of every sequence (view A: amplitude scaling +
   Gaussian noise; view B: a time shift across the sequence + a random band-stop); the feature extractor
   (CNN + GRU) plus a projection head is trained with an InfoNCE loss whose positive pair is the same epoch
   in the other view and whose negatives are all other epochs of the batch. The classifier is frozen.
2. **Teacher-student fine-tuning.** An EMA teacher (decay 0.99) labels the clean sequences; epochs it
   predicts with probability >= 0.9 train the student (cross-entropy on view A); the teacher is returned.

>>> from trustmap.models.eeg.sleepnet import SleepNet
>>> net = SleepNet(channels=1)
>>> out = sf_uida(net, torch.randn(4, 10, 1, 1500), config=SFUIDAConfig(scc_epochs=1, st_epochs=1), seed=0)
>>> out.model(torch.randn(1, 10, 1, 1500)).shape
torch.Size([1, 10, 5])

Values *(ours)*: temperature 0.2, projection 2-layer MLP to 64, noise 0.1 sd, scale 0.8-1.2, shift up to
a tenth of an epoch, a 2-Hz band-stop between 1 and 20 Hz, Adam 1e-4 (SCC) / 1e-4 (student), epochs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch import nn

from trustmap.errors import DataError
from trustmap.models.eeg.sleepnet import SleepNet
from trustmap.utils.seed import seeded_generator, seeded_global_rng


@dataclass(frozen=True)
class SFUIDAConfig:
    scc_epochs: int = 5
    st_epochs: int = 5
    lr: float = 1e-4
    batch_size: int = 4  # sequences
    temperature: float = 0.2
    threshold: float = 0.9
    ema: float = 0.99
    sfreq: float = 50.0


@dataclass
class AdaptResult:
    """The adapted model, the CPU seconds the adaptation took, and per-epoch losses."""

    model: SleepNet
    cpu_seconds: float
    losses: list[float]


def view_noise_scale(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """View A: per-sequence amplitude scaling in [0.8, 1.2] plus Gaussian noise of 0.1 signal sd."""
    scale = 0.8 + 0.4 * torch.rand(x.shape[0], 1, 1, 1, generator=gen)
    return x * scale + 0.1 * x.std() * torch.randn(x.shape, generator=gen)


def view_shift_bandstop(x: torch.Tensor, gen: torch.Generator, *, sfreq: float) -> torch.Tensor:
    """View B: the sequence's concatenated signal shifted by up to a tenth of an epoch, and a random 2-Hz
    band (between 1 and 20 Hz) removed in the Fourier domain."""
    s, length, c, t = x.shape
    flat = x.permute(0, 2, 1, 3).reshape(s, c, length * t)
    shift = int(torch.randint(-(t // 10), t // 10 + 1, (1,), generator=gen))
    flat = torch.roll(flat, shift, dims=-1)
    spec = torch.fft.rfft(flat, dim=-1)
    freqs = torch.fft.rfftfreq(flat.shape[-1], 1.0 / sfreq)
    lo = float(1.0 + 18.0 * torch.rand(1, generator=gen))
    spec = spec * ~((freqs >= lo) & (freqs < lo + 2.0))
    flat = torch.fft.irfft(spec, flat.shape[-1], dim=-1)
    return flat.reshape(s, c, length, t).permute(0, 2, 1, 3)


def info_nce(za: torch.Tensor, zb: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``za`` (n, k) and row i of ``zb`` are positives, all other rows negatives."""
    za, zb = nn.functional.normalize(za, dim=1), nn.functional.normalize(zb, dim=1)
    logits = za @ zb.T / temperature
    target = torch.arange(len(za))
    return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2


def _check(x: torch.Tensor) -> None:
    if x.dim() != 4 or len(x) < 2:
        raise DataError("target data must be (sequences >= 2, epochs, channels, samples)")


def sf_uida(model: SleepNet, x: torch.Tensor, *, config: SFUIDAConfig = SFUIDAConfig(), seed: int = 0) -> AdaptResult:
    """Adapt a copy of the source ``model`` to one subject's unlabelled sequences ``x`` (S, L, C, T)."""
    _check(x)
    start = time.process_time()
    gen = seeded_generator(seed, 51)
    student = copy.deepcopy(model)
    for p in student.classifier.parameters():
        p.requires_grad_(False)
    losses: list[float] = []
    bs = config.batch_size
    with seeded_global_rng(seed):
        head = nn.Sequential(nn.Linear(student.feature_dim, 64), nn.ReLU(), nn.Linear(64, 64))
        params = [p for p in student.parameters() if p.requires_grad] + list(head.parameters())
        opt = torch.optim.Adam(params, lr=config.lr)
        student.train()
        for _ in range(config.scc_epochs):  # step 1: sequential cross-view contrasting
            order, total = torch.randperm(len(x), generator=gen), 0.0
            for i in range(0, len(x), bs):
                xb = x[order[i : i + bs]]
                fa = student.features(view_noise_scale(xb, gen))
                fb = student.features(view_shift_bandstop(xb, gen, sfreq=config.sfreq))
                loss = info_nce(head(fa.flatten(0, 1)), head(fb.flatten(0, 1)), config.temperature)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            losses.append(total)
        for p in student.classifier.parameters():
            p.requires_grad_(True)
        teacher = copy.deepcopy(student).eval()
        opt = torch.optim.Adam(student.parameters(), lr=config.lr)
        for _ in range(config.st_epochs):  # step 2: teacher-student on confident pseudo-labels
            order, total = torch.randperm(len(x), generator=gen), 0.0
            for i in range(0, len(x), bs):
                xb = x[order[i : i + bs]]
                with torch.no_grad():
                    prob = teacher(xb).softmax(-1)
                conf, label = prob.max(-1)
                keep = conf >= config.threshold
                if not keep.any():
                    continue
                logits = student(view_noise_scale(xb, gen))
                loss = nn.functional.cross_entropy(logits[keep], label[keep])
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    for pt, ps in zip(teacher.parameters(), student.parameters(), strict=True):
                        pt.mul_(config.ema).add_(ps.detach(), alpha=1 - config.ema)
                    for bt, bs_ in zip(teacher.buffers(), student.buffers(), strict=True):
                        bt.copy_(bs_)
                total += loss.item()
            losses.append(total)
    teacher.eval()
    return AdaptResult(teacher, time.process_time() - start, losses)
