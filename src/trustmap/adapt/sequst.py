"""SeqUST: uncertainty-aware self-training for low-resource sequence labelling (Wang et al., AAAI 2023,
arXiv 2302.08659), on frozen token features.

A teacher tagger trains on the few labelled sentences. ``T`` Monte-Carlo dropout passes give each
unlabelled token a predictive mean ``p`` (over tags) and the variance of its top tag's probability;
tokens with ``max p >= confidence`` and variance ``<=`` the median variance become pseudo-labels, the rest
are masked. The student (re-initialised, *ours*) trains on the labelled sentences (cross-entropy) plus
the selected tokens with the noise-robust generalised cross-entropy ``(1 - p_y^q) / q`` (q = 0.7, *ours*)
and a Gaussian consistency term: ``KL(p(x) || p(x + eps))`` on every unlabelled token, ``eps ~
N(0, (noise * std(x))^2)``. The student is the next round's teacher. ``vanilla`` self-training instead
keeps every token's hard (deterministic) pseudo-label, with plain cross-entropy and no consistency.

Shapes: a sentence is ``(n_words, d)`` float32 token features (e.g. MiniLM, first word-piece per word,
:func:`trustmap.adapt.featcache.word_features`) with ``n_words`` int64 tags; the tagger is a BiLSTM
(hidden 128 per direction, dropout 0.3 on its input and output) + a linear layer to the tags.

>>> tagger, log = self_train(lab_x, lab_y, unl_x, num_tags=3, mode="sequst", seed=0)
>>> pred = predict_tags(tagger, test_x)          # list of (n_words,) int64
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from trustmap.utils.seed import derive_seed, seeded_global_rng, torch_generator

MODES = ("sequst", "vanilla")


class BiLSTMTagger(nn.Module):
    """Dropout -> BiLSTM -> dropout -> linear; ``forward(x (B, L, d), lengths (B,)) -> logits (B, L, tags)``."""

    def __init__(self, in_dim: int, num_tags: int, *, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, num_tags)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.drop(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=x.shape[1])
        return self.out(self.drop(h))


@dataclass
class RoundLog:
    """What one self-training round selected: counts and, when gold tags were given, pseudo-label accuracy."""

    round: int
    selected: int
    rejected: int
    selected_precision: float = float("nan")
    rejected_precision: float = float("nan")


@dataclass
class SelfTrainConfig:
    rounds: int = 3
    mc_passes: int = 10
    confidence: float = 0.9
    q: float = 0.7
    noise: float = 0.3
    consistency: float = 1.0
    teacher_steps: int = 150
    student_steps: int = 300
    batch_size: int = 32
    lr: float = 2e-3
    hidden: int = 128
    dropout: float = 0.3
    extra: dict[str, float] = field(default_factory=dict)


def _batch(xs: Sequence[np.ndarray], idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    seqs = [torch.from_numpy(np.asarray(xs[i], np.float32)) for i in idx]
    lengths = torch.tensor([len(s) for s in seqs])
    x = pad_sequence(seqs, batch_first=True)
    mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]
    return x, lengths, mask


def _pad_tags(ys: Sequence[np.ndarray], idx: Sequence[int], fill: int = -100) -> torch.Tensor:
    return pad_sequence([torch.as_tensor(np.asarray(ys[i]), dtype=torch.long) for i in idx], True, fill)


def gce_loss(logits: torch.Tensor, target: torch.Tensor, *, q: float = 0.7) -> torch.Tensor:
    """Generalised cross-entropy ``mean((1 - p_y^q) / q)`` over positions with ``target >= 0``."""
    keep = target >= 0
    if not keep.any():
        return logits.sum() * 0.0
    p = F.softmax(logits[keep], -1).gather(1, target[keep][:, None]).squeeze(1)
    return ((1.0 - p.clamp(min=1e-8) ** q) / q).mean()


def _nonempty(xs: Sequence[np.ndarray]) -> list[int]:
    return [i for i, x in enumerate(xs) if len(x) > 0]


@torch.no_grad()
def mc_dropout(
    model: nn.Module, xs: Sequence[np.ndarray], *, passes: int, seed: int, batch_size: int = 256
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sentence: mean tag probabilities ``(n, tags)`` over ``passes`` dropout passes and the variance
    of the top tag's probability ``(n,)``."""
    model.train()
    out: list[tuple[np.ndarray, np.ndarray]] = []
    with seeded_global_rng(seed):
        for i in range(0, len(xs), batch_size):
            idx = list(range(i, min(i + batch_size, len(xs))))
            x, lengths, _ = _batch(xs, idx)
            probs = torch.stack([F.softmax(model(x, lengths.clamp(min=1)), -1) for _ in range(passes)])
            mean = probs.mean(0)
            top = mean.argmax(-1, keepdim=True)
            var = probs.gather(-1, top.expand(passes, *top.shape)).squeeze(-1).var(0, unbiased=False)
            for b, n in enumerate(lengths.tolist()):
                out.append((mean[b, :n].numpy(), var[b, :n].numpy()))
    model.eval()
    return out


@torch.no_grad()
def predict_tags(model: nn.Module, xs: Sequence[np.ndarray], *, batch_size: int = 256) -> list[np.ndarray]:
    """Deterministic (eval-mode) argmax tags per sentence."""
    model.eval()
    out: list[np.ndarray] = []
    for i in range(0, len(xs), batch_size):
        idx = list(range(i, min(i + batch_size, len(xs))))
        x, lengths, _ = _batch(xs, idx)
        pred = model(x, lengths.clamp(min=1)).argmax(-1)
        out += [pred[b, :n].numpy().astype(np.int64) for b, n in enumerate(lengths.tolist())]
    return out


def train_tagger(
    model: nn.Module,
    lab_x: Sequence[np.ndarray],
    lab_y: Sequence[np.ndarray],
    *,
    steps: int,
    cfg: SelfTrainConfig,
    seed: int,
    unl_x: Sequence[np.ndarray] = (),
    pseudo: Sequence[np.ndarray] = (),
    robust: bool = False,
) -> nn.Module:
    """Train on every labelled sentence each step (cross-entropy), plus a batch of unlabelled sentences
    with ``pseudo`` tags (``-100`` masks a token) under GCE (``robust``) or cross-entropy, and, when
    ``robust``, the Gaussian consistency term."""
    gen = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    lab = _nonempty(lab_x)
    unl = _nonempty(unl_x) if len(pseudo) else []
    xl, ll, _ = _batch(lab_x, lab)
    yl = _pad_tags(lab_y, lab)
    std = float(np.concatenate([x for x in lab_x if len(x)]).std()) if lab else 1.0
    model.train()
    with seeded_global_rng(derive_seed(seed, 1)):
        for _ in range(steps):
            loss = F.cross_entropy(model(xl, ll).flatten(0, 1), yl.flatten(), ignore_index=-100)
            if unl:
                pick = torch.randint(len(unl), (cfg.batch_size,), generator=gen).tolist()
                idx = [unl[j] for j in pick]
                xu, lu, mu = _batch(unl_x, idx)
                yu = _pad_tags(pseudo, idx)
                logits = model(xu, lu)
                if robust:
                    loss = loss + gce_loss(logits.flatten(0, 1), yu.flatten(), q=cfg.q)
                    noisy = xu + torch.randn(xu.shape, generator=gen) * (cfg.noise * std)
                    logp_clean = F.log_softmax(logits[mu].detach(), -1)
                    logp_noisy = F.log_softmax(model(noisy, lu)[mu], -1)
                    kl = F.kl_div(logp_noisy, logp_clean, log_target=True, reduction="batchmean")
                    loss = loss + cfg.consistency * kl
                else:
                    loss = loss + F.cross_entropy(logits.flatten(0, 1), yu.flatten(), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _fresh(in_dim: int, num_tags: int, cfg: SelfTrainConfig, seed: int) -> BiLSTMTagger:
    with seeded_global_rng(seed):
        return BiLSTMTagger(in_dim, num_tags, hidden=cfg.hidden, dropout=cfg.dropout)


def self_train(
    lab_x: Sequence[np.ndarray],
    lab_y: Sequence[np.ndarray],
    unl_x: Sequence[np.ndarray],
    *,
    num_tags: int,
    mode: str = "sequst",
    seed: int = 0,
    config: SelfTrainConfig | None = None,
    unl_gold: Sequence[np.ndarray] | None = None,
    teacher: nn.Module | None = None,
) -> tuple[nn.Module, list[RoundLog]]:
    """Self-train a BiLSTM tagger; returns the final student and one :class:`RoundLog` per round.

    ``teacher``: an already trained round-0 teacher (else one is trained on the labelled sentences).
    ``unl_gold``: gold tags of the unlabelled sentences, used only to log pseudo-label precision."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not lab_x or not any(len(x) for x in lab_x):
        raise ValueError("self-training needs at least one labelled sentence with words")
    cfg = config or SelfTrainConfig()
    in_dim = int(next(x for x in lab_x if len(x)).shape[1])
    if teacher is None:
        teacher = train_tagger(
            _fresh(in_dim, num_tags, cfg, seed), lab_x, lab_y, steps=cfg.teacher_steps, cfg=cfg, seed=seed
        )
    logs: list[RoundLog] = []
    for r in range(1, cfg.rounds + 1):
        if mode == "sequst":
            stats = mc_dropout(teacher, unl_x, passes=cfg.mc_passes, seed=derive_seed(seed, 2, r))
            var_all = np.concatenate([v for _, v in stats]) if stats else np.zeros(0)
            median = float(np.median(var_all)) if len(var_all) else 0.0
            labels = [mean.argmax(-1).astype(np.int64) for mean, _ in stats]
            keep = [(mean.max(-1) >= cfg.confidence) & (var <= median) for mean, var in stats]
            pseudo = [np.where(k, lab, -100).astype(np.int64) for k, lab in zip(keep, labels)]
        else:
            labels = pseudo = predict_tags(teacher, unl_x)
            keep = [np.ones(len(p), bool) for p in pseudo]
        log = RoundLog(r, int(sum(k.sum() for k in keep)), int(sum((~k).sum() for k in keep)))
        if unl_gold is not None and len(keep):
            correct = np.concatenate([h == np.asarray(g) for h, g in zip(labels, unl_gold)])
            kept = np.concatenate(keep)
            log.selected_precision = float(correct[kept].mean()) if kept.any() else float("nan")
            log.rejected_precision = float(correct[~kept].mean()) if (~kept).any() else float("nan")
        logs.append(log)
        student = _fresh(in_dim, num_tags, cfg, derive_seed(seed, 3, r))
        teacher = train_tagger(
            student,
            lab_x,
            lab_y,
            steps=cfg.student_steps,
            cfg=cfg,
            seed=derive_seed(seed, 4, r),
            unl_x=unl_x,
            pseudo=pseudo,
            robust=mode == "sequst",
        )
    return teacher, logs


def train_supervised(
    lab_x: Sequence[np.ndarray],
    lab_y: Sequence[np.ndarray],
    *,
    num_tags: int,
    seed: int = 0,
    config: SelfTrainConfig | None = None,
) -> nn.Module:
    """The supervised-only teacher (round 0 of :func:`self_train`)."""
    cfg = config or SelfTrainConfig()
    in_dim = int(next(x for x in lab_x if len(x)).shape[1])
    return train_tagger(_fresh(in_dim, num_tags, cfg, seed), lab_x, lab_y, steps=cfg.teacher_steps, cfg=cfg, seed=seed)


def span_f1(pred: Sequence[np.ndarray], gold: Sequence[np.ndarray]) -> dict[str, float]:
    """Word-level micro precision/recall/F1 over the non-``O`` tags (tag 0 is ``O``)."""
    p = np.concatenate([np.asarray(a) for a in pred]) if pred else np.zeros(0, np.int64)
    g = np.concatenate([np.asarray(a) for a in gold]) if gold else np.zeros(0, np.int64)
    tp = float(((p == g) & (g > 0)).sum())
    prec = tp / max(float((p > 0).sum()), 1.0)
    rec = tp / max(float((g > 0).sum()), 1.0)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-12)}


__all__ = [
    "MODES",
    "BiLSTMTagger",
    "RoundLog",
    "SelfTrainConfig",
    "gce_loss",
    "mc_dropout",
    "predict_tags",
    "self_train",
    "span_f1",
    "train_supervised",
    "train_tagger",
]
