"""Stackelberg Response Optimisation (SRO) for detoxification on non-parallel data (Xu et al., "Learning from
Response not Preference: A Stackelberg Approach for LLM Detoxification using Non-parallel Data",
arXiv 2410.20298), with its baselines, on a tiny word-level rewriter.

The rewriter (leader) paraphrases a toxic input ``x``; a binary screener (follower) passes or fails the
rewrite ``y``. Only toxic inputs are seen (non-parallel). Per sampled ``y`` (log-ratios against the frozen
reference policy ``ref``, ``r(y) = log pi(y|x) - log ref(y|x)``):

- ``sro``: pass -> ``-log sigma(beta (r(y) - r(x)))`` (DPO with the input itself as the loser);
  fail -> ``-log sigma(-beta r(y))`` (only push ``y`` down: a failed rewrite is no better than ``x``);
- ``dpo-pass``: the pass term only (failed samples are dropped);
- ``rs-sft``: rejection-sampling SFT, the negative log-likelihood of passing samples.

beta = 0.1 (paper). Sequences are ``<bos> x <sep> y <eos>`` token ids ``(B, T)``; the policy is
:class:`trustmap.llm.lm.TinyGPT`. Values not fixed by the paper are *(ours)*: Adam lr 1e-4, sampling
temperature 1, rewrites up to ``len(x) + 4`` tokens, the screener (bag-of-words logistic regression).

Data (synthetic toxicity): RT snippets scoring < 0.2 with alt-profanity-check, toxified by inserting
1-2 words of :data:`INSULTS` (each >= 0.9 with the judge) at seeded random places.

>>> policy = pretrain_rewriter(clean, config=cfg, seed=0)
>>> tuned = fine_tune(policy, toxic_inputs, passes=screener.passes, method="sro", steps=200, seed=0)
>>> tuned_rewrites = rewrite(tuned, eval_inputs)
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from trustmap.errors import TrustmapError
from trustmap.llm.lm import BOS, EOS, PAD, LMConfig, TinyGPT, TinyLM, build_vocab, continue_ids, words
from trustmap.utils.seed import seeded_generator, seeded_global_rng

INSULTS = (
    "fuck",
    "bitch",
    "fucking",
    "shit",
    "idiot",
    "bullshit",
    "asshole",
    "stupid",
    "fucked",
    "dick",
    "suck",
    "sucks",
    "idiots",
    "crap",
    "moron",
    "bastard",
    "idiotic",
    "dumbass",
    "shitty",
    "assholes",
    "jerk",
    "pathetic",
    "morons",
    "dumb",
    "loser",
    "hell",
    "piss",
    "scum",
    "damn",
    "wanker",
)
SEP = "<sep>"
METHODS = ("sro", "dpo-pass", "rs-sft")


def toxify(text: str, rng: random.Random) -> str:
    """``text`` with 1-2 insult words inserted at random word positions."""
    w = words(text)
    for _ in range(rng.randint(1, 2)):
        w.insert(rng.randrange(len(w) + 1), rng.choice(INSULTS))
    return " ".join(w)


def _noisy(w: list[str], rng: random.Random, fillers: Sequence[str]) -> list[str]:
    """Word dropout (10%), adjacent swaps (10%) and random non-insult additions (10%) *(ours)*."""
    out = [t for t in w if rng.random() >= 0.1] or w[:1]
    for i in range(len(out) - 1):
        if rng.random() < 0.1:
            out[i], out[i + 1] = out[i + 1], out[i]
    for _ in range(sum(rng.random() < 0.1 for _ in w)):
        out.insert(rng.randrange(len(out) + 1), rng.choice(fillers))
    return out


class Rewriter:
    """A :class:`TinyLM` used as ``x -> y`` rewriter: ``<bos> x <sep> y <eos>`` sequences."""

    def __init__(self, lm: TinyLM) -> None:
        if SEP not in lm.index:
            raise TrustmapError("a rewriter's vocabulary needs the <sep> token; build it with pretrain_rewriter")
        self.lm, self.sep = lm, lm.index[SEP]
        self.x_len = (lm.config.max_len - 3) // 2

    def ids(self, text: str) -> list[int]:
        return self.lm.encode(text)[: self.x_len]

    def pairs(self, xs: Sequence[list[int]], ys: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``(B, T)`` ids and the mask of the ``y <eos>`` positions being predicted."""
        rows = [[BOS, *x, self.sep, *[t for t in y if t != EOS][: self.x_len + 1], EOS] for x, y in zip(xs, ys)]
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long)
        mask = torch.zeros_like(ids, dtype=torch.bool)
        for i, x in enumerate(xs):
            mask[i, len(x) + 2 : len(rows[i])] = True
        return ids, mask

    def logprob(self, model: TinyGPT, xs: Sequence[list[int]], ys: Sequence[list[int]]) -> torch.Tensor:
        """``log pi(y | x)`` summed over ``y``'s tokens and ``<eos>`` ``(B,)`` (keeps grads)."""
        ids, mask = self.pairs(xs, ys)
        logp = F.log_softmax(model(ids[:, :-1]), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        return (logp * mask[:, 1:]).sum(1)

    def sample(self, model: TinyGPT, xs: Sequence[list[int]], *, temperature: float, gen: torch.Generator | None):
        rows = [[BOS, *x, self.sep] for x in xs]
        longest = max(len(x) for x in xs)
        room = min(longest + 4, self.lm.config.max_len - 2 - longest)  # positions stay below max_len
        return continue_ids(model, rows, max_new_tokens=room, temperature=temperature, generator=gen)


def pretrain_rewriter(texts: Sequence[str], *, config: LMConfig, seed: int = 0, toxic_share: float = 0.3) -> TinyLM:
    """A denoising paraphraser: ``noisy(s) -> s`` on ``texts``, a ``toxic_share`` of them toxified first
    (input and target keep the insult: the policy is trained on toxic text and never taught to remove it)."""
    rng = random.Random(seed)
    vocab = build_vocab(texts, config.vocab_size, reserved=[SEP, *INSULTS])
    fillers = [w for w in vocab[5 + len(INSULTS) : 305] if w.isalpha()]
    with seeded_global_rng(seed):
        lm = TinyLM(TinyGPT(len(vocab), config), vocab, config)
    rw = Rewriter(lm)
    srcs = [toxify(t, rng) if rng.random() < toxic_share else " ".join(words(t)) for t in texts]
    ys = [rw.ids(s) for s in srcs]
    xs = [[lm.index.get(w, 3) for w in _noisy([lm.vocab[i] for i in y], rng, fillers)][: rw.x_len] for y in ys]
    model, order = lm.model, seeded_generator(seed, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * (1 - s / config.steps))
    model.train()
    with seeded_global_rng(seed + 1):
        for _ in range(config.steps):
            idx = torch.randint(len(xs), (config.batch_size,), generator=order).tolist()
            ids, mask = rw.pairs([xs[i] for i in idx], [ys[i] for i in idx])
            logits = model(ids[:, :-1])
            nll = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
            loss = (nll * mask[:, 1:]).sum() / mask.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    model.eval()
    return lm


@dataclass
class Screener:
    """Bag-of-words logistic regression, toxic (1) vs clean (0); ``passes`` = P(toxic) < 0.5."""

    pipeline: object

    @classmethod
    def fit(cls, clean: Sequence[str], toxic: Sequence[str], *, flip: float = 0.0, seed: int = 0) -> Screener:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        y = np.r_[np.zeros(len(clean)), np.ones(len(toxic))].astype(int)
        if flip > 0:  # a perturbed screener: a share of the labels flipped
            rng = np.random.default_rng(seed)
            idx = rng.choice(len(y), round(flip * len(y)), replace=False)
            y[idx] = 1 - y[idx]
        pipe = make_pipeline(CountVectorizer(binary=True, token_pattern=r"\S+"), LogisticRegression(max_iter=1000))
        pipe.fit([*clean, *toxic], y)
        return cls(pipe)

    def toxic_prob(self, texts: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(list(texts))[:, 1]  # type: ignore[attr-defined]

    def passes(self, texts: Sequence[str]) -> np.ndarray:
        return self.toxic_prob(texts) < 0.5


def fine_tune(
    policy: TinyLM,
    inputs: Sequence[str],
    *,
    passes: Callable[[Sequence[str]], np.ndarray],
    method: str = "sro",
    steps: int = 200,
    batch_size: int = 16,
    beta: float = 0.1,
    lr: float = 1e-4,
    seed: int = 0,
) -> tuple[TinyLM, float]:
    """Fine-tune a copy of ``policy`` on toxic ``inputs`` with ``method``; returns it and the pass rate of
    its training samples."""
    if method not in METHODS:
        raise TrustmapError(f"unknown detox method {method!r}; choose from {', '.join(METHODS)}")
    rw_ref = Rewriter(policy)
    lm = TinyLM(copy.deepcopy(policy.model), policy.vocab, policy.config)
    rw, model, ref = Rewriter(lm), lm.model, policy.model
    model.eval()  # no dropout: samples and updates see the same network
    xs = [rw.ids(t) for t in inputs]
    order, gen = seeded_generator(seed, 3), seeded_generator(seed, 4)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    passed = 0
    for _ in range(steps):
        bx = [xs[i] for i in torch.randint(len(xs), (batch_size,), generator=order).tolist()]
        ys = rw.sample(model, bx, temperature=1.0, gen=gen)
        ok = torch.from_numpy(np.asarray(passes([lm.decode(y) for y in ys]), dtype=bool))
        passed += int(ok.sum())
        if method != "sro" and not bool(ok.any()):
            continue
        lp_y = rw.logprob(model, bx, ys)
        with torch.no_grad():
            ref_y = rw_ref.logprob(ref, bx, ys)
        if method == "rs-sft":
            loss = -(lp_y[ok] / torch.tensor([len(y) for y, k in zip(ys, ok) if k], dtype=torch.float32)).mean()
        else:
            lp_x = rw.logprob(model, bx, bx)
            with torch.no_grad():
                ref_x = rw_ref.logprob(ref, bx, bx)
            win = -F.logsigmoid(beta * ((lp_y - ref_y) - (lp_x - ref_x)))
            if method == "dpo-pass":
                loss = win[ok].mean()
            else:
                loss = torch.where(ok, win, -F.logsigmoid(-beta * (lp_y - ref_y))).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return lm, passed / (steps * batch_size)


def rewrite(policy: TinyLM, inputs: Sequence[str], *, batch_size: int = 128) -> list[str]:
    """Greedy rewrites of ``inputs``."""
    rw = Rewriter(policy)
    out: list[str] = []
    for i in range(0, len(inputs), batch_size):
        bx = [rw.ids(t) for t in inputs[i : i + batch_size]]
        out += [policy.decode(y) for y in rw.sample(policy.model, bx, temperature=0.0, gen=None)]
    return out


def bleu1(candidate: str, reference: str) -> float:
    """Sentence BLEU-1: clipped unigram precision times the brevity penalty (0 for an empty candidate)."""
    c, r = words(candidate), words(reference)
    if not c:
        return 0.0
    ref = Counter(r)
    clipped = sum(min(n, ref[w]) for w, n in Counter(c).items())
    bp = 1.0 if len(c) > len(r) else float(np.exp(1 - len(r) / len(c)))
    return bp * clipped / len(c)


__all__ = ["INSULTS", "METHODS", "Rewriter", "Screener", "bleu1", "fine_tune", "pretrain_rewriter", "rewrite", "toxify"]
