"""A tiny GPT-style causal language model trained in the project on real text (Rotten Tomatoes snippets).

Architecture (after Radford et al., GPT-2, 2019; ours at this scale): word-level vocabulary built from the
training corpus (lower-cased words and punctuation, the ``vocab_size`` most frequent plus ``<pad>``,
``<bos>``, ``<eos>``, ``<unk>`` and any ``reserved`` words), learned positions, ``layers`` pre-norm blocks
of causal self-attention (``heads`` heads) and a GELU MLP (4 x ``d``), weight-tied output head. Defaults
*(ours)*: 2 layers, d = 128, 4 heads, vocabulary 2,000, 40 tokens, AdamW lr 3e-3 with linear warm-down,
batch 32, 600 steps (about a minute of one CPU core on the 10,252 RT training snippets).

Shapes: token ids ``(B, T)`` int64 with ``T <= max_len`` -> logits ``(B, T, V)`` float32.

Weights are saved with safetensors and the config and vocabulary as JSON (never pickle);
:func:`cached_lm` keys a trained model by its config, seed and a hash of its training text.

>>> lm = train_lm(texts, config=LMConfig(steps=300), seed=0)
>>> lm.perplexity(test_texts)                       # per-token perplexity, <eos> included
>>> lm.complete(["the secret code of alice is"], max_new_tokens=8)
>>> lm.save(folder); TinyLM.load(folder)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from trustmap.errors import DataError, ModelError
from trustmap.utils.seed import seeded_generator, seeded_global_rng

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = range(4)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens of ``text``."""
    return _WORD.findall(str(text).lower())


@dataclass(frozen=True)
class LMConfig:
    """Model and training settings (all *(ours)*); part of the cache key."""

    vocab_size: int = 2000
    max_len: int = 40
    d: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)
        self.heads = heads

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        if pad is not None:  # left padding: never attend to pad keys (each row keeps itself)
            mask = (mask & ~pad[:, None, None, :]) | torch.eye(t, dtype=torch.bool)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(a))
        return x + self.drop(self.mlp(self.ln2(x)))


class TinyGPT(nn.Module):
    """Token ids ``(B, T)`` -> next-token logits ``(B, T, V)``; ``pad`` marks padded positions."""

    def __init__(self, vocab: int, config: LMConfig) -> None:
        super().__init__()
        if config.d % config.heads:
            raise ModelError(f"d={config.d} must be divisible by heads={config.heads}")
        self.tok = nn.Embedding(vocab, config.d)
        self.pos = nn.Embedding(config.max_len, config.d)
        self.blocks = nn.ModuleList(_Block(config.d, config.heads, config.dropout) for _ in range(config.layers))
        self.ln = nn.LayerNorm(config.d)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        positions = torch.arange(ids.shape[1])
        if pad is not None:  # left-padded prompts: real tokens count positions from 0
            positions = (torch.cumsum(~pad, 1) - 1).clamp(min=0)
        h = self.drop(self.tok(ids) + self.pos(positions))
        for block in self.blocks:
            h = block(h, pad)
        return self.ln(h) @ self.tok.weight.T


class TinyLM:
    """A trained :class:`TinyGPT` with its vocabulary: encode, score (perplexity), complete, save, load."""

    def __init__(self, model: TinyGPT, vocab: Sequence[str], config: LMConfig) -> None:
        self.model, self.vocab, self.config = model.eval(), list(vocab), config
        self.index = {w: i for i, w in enumerate(self.vocab)}

    def encode(self, text: str) -> list[int]:
        return [self.index.get(w, UNK) for w in words(text)]

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.vocab[i] for i in ids if i not in (PAD, BOS, EOS))

    def batch(self, texts: Sequence[str]) -> torch.Tensor:
        """``<bos> text <eos>`` rows, truncated to ``max_len`` and right-padded: ``(N, T)`` int64."""
        rows = [[BOS, *self.encode(t), EOS][: self.config.max_len] for t in texts]
        width = max(len(r) for r in rows)
        return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long)

    @torch.no_grad()
    def token_logprobs(self, ids: torch.Tensor) -> torch.Tensor:
        """Summed next-token log-probabilities per row ``(N,)`` (pads ignored)."""
        return sequence_logprob(self.model, ids)

    @torch.no_grad()
    def perplexity(self, texts: Sequence[str], *, batch_size: int = 256) -> float:
        """Per-token perplexity of ``texts`` (``<eos>`` counted, ``<bos>`` not)."""
        if len(texts) == 0:
            raise DataError("perplexity needs at least one text")
        nll, count = 0.0, 0
        for i in range(0, len(texts), batch_size):
            ids = self.batch(texts[i : i + batch_size])
            nll -= float(sequence_logprob(self.model, ids).sum())
            count += int((ids[:, 1:] != PAD).sum())
        return math.exp(nll / count)

    @torch.no_grad()
    def complete(
        self, prompts: Sequence[str], *, max_new_tokens: int = 12, temperature: float = 0.0, seed: int = 0
    ) -> list[str]:
        """Continuations of ``prompts`` (greedy when ``temperature == 0``, else seeded sampling)."""
        rows = [[BOS, *self.encode(p)][-(self.config.max_len - max_new_tokens) :] for p in prompts]
        out = continue_ids(
            self.model,
            rows,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            generator=seeded_generator(seed, 17),
        )
        return [self.decode(o) for o in out]

    def save(self, folder: str | os.PathLike[str]) -> Path:
        from safetensors.torch import save_file

        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(path / "model.safetensors"))
        meta = {"format": "trustmap-tiny-lm/1", "config": dataclasses.asdict(self.config), "vocab": self.vocab}
        (path / "lm.json").write_text(json.dumps(meta))
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> TinyLM:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(folder)
        try:
            meta = json.loads((path / "lm.json").read_text())
            config = LMConfig(**meta["config"])
            model = TinyGPT(len(meta["vocab"]), config)
            model.load_state_dict(load_file(str(path / "model.safetensors")))
        except (OSError, KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as exc:
            raise ModelError(f"{path} is not a saved tiny LM ({type(exc).__name__}); retrain it with train_lm") from exc
        return cls(model, meta["vocab"], config)


@torch.no_grad()
def continue_ids(
    model: nn.Module,
    rows: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """New token ids after each (left-padded) row, up to and including ``<eos>``; greedy at temperature 0."""
    width = max((len(r) for r in rows), default=0)
    ids = torch.tensor([[PAD] * (width - len(r)) + list(r) for r in rows], dtype=torch.long)
    pad = ids == PAD
    done = torch.zeros(len(rows), dtype=torch.bool)
    out: list[list[int]] = [[] for _ in rows]
    for _ in range(max_new_tokens):
        logits = model(ids, pad)[:, -1]
        logits[:, [PAD, BOS, UNK]] = -math.inf
        if temperature > 0:
            nxt = torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=generator).squeeze(1)
        else:
            nxt = logits.argmax(-1)
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                out[i].append(t)
        done |= nxt == EOS
        if bool(done.all()):
            break
        ids, pad = torch.cat([ids, nxt[:, None]], 1), torch.cat([pad, torch.zeros_like(done)[:, None]], 1)
    return out


def sequence_logprob(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Summed log-probability of each row's tokens after the first ``(N,)``, pads ignored (keeps grads)."""
    logp = F.log_softmax(model(ids[:, :-1]), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (logp * (ids[:, 1:] != PAD)).sum(1)


def build_vocab(texts: Sequence[str], size: int, *, reserved: Sequence[str] = ()) -> list[str]:
    """Specials, then ``reserved`` words, then the most frequent words of ``texts`` up to ``size`` in all."""
    counts = Counter(w for t in texts for w in words(t))
    vocab = list(SPECIALS) + [w for w in dict.fromkeys(reserved) if w not in SPECIALS]
    seen = set(vocab)
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    return vocab


def train_lm(
    texts: Sequence[str],
    *,
    config: LMConfig = LMConfig(),
    seed: int = 0,
    reserved: Sequence[str] = (),
    init: TinyLM | None = None,
) -> TinyLM:
    """Train a :class:`TinyLM` on ``texts`` (``init``: continue from its weights and vocabulary)."""
    texts = [str(t) for t in texts]
    if not texts:
        raise DataError("train_lm needs at least one training text")
    vocab = init.vocab if init is not None else build_vocab(texts, config.vocab_size, reserved=reserved)
    with seeded_global_rng(seed):
        model = TinyGPT(len(vocab), config)
        if init is not None:
            model.load_state_dict(init.model.state_dict())
    lm = TinyLM(model, vocab, config)
    data = lm.batch(texts)
    order = seeded_generator(seed, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * (1 - s / config.steps))
    model.train()
    with seeded_global_rng(seed + 1):  # dropout masks
        for _ in range(config.steps):
            rows = data[torch.randint(len(data), (config.batch_size,), generator=order)]
            rows = rows[:, : int((rows != PAD).sum(1).max())]
            logits = model(rows[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1), ignore_index=PAD)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    model.eval()
    return lm


def cache_root() -> Path:
    """``$TRUSTMAP_CACHE`` or the user cache folder (``.../trustmap``)."""
    env = os.environ.get("TRUSTMAP_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("trustmap", appauthor=False))


def cache_key(texts: Sequence[str], config: LMConfig, seed: int, reserved: Sequence[str] = ()) -> str:
    h = hashlib.sha256(json.dumps([dataclasses.asdict(config), seed, list(reserved)]).encode())
    for t in texts:
        h.update(str(t).encode() + b"\0")
    return h.hexdigest()[:20]


def cached_lm(
    texts: Sequence[str],
    *,
    config: LMConfig = LMConfig(),
    seed: int = 0,
    reserved: Sequence[str] = (),
    cache_dir: str | os.PathLike[str] | None = None,
) -> TinyLM:
    """:func:`train_lm`, or the model saved earlier under the same config, seed, reserved words and text."""
    key = cache_key(texts, config, seed, reserved)
    return cached(key, lambda: train_lm(texts, config=config, seed=seed, reserved=reserved), cache_dir=cache_dir)


def cached(key: str, build: Callable[[], TinyLM], *, cache_dir: str | os.PathLike[str] | None = None) -> TinyLM:
    """The :class:`TinyLM` saved under ``key`` in the cache folder, else ``build()`` saved there."""
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "tiny-lm"
    path = folder / key
    if (path / "lm.json").is_file():
        try:
            return TinyLM.load(path)
        except ModelError:
            pass  # a half-written or stale entry: rebuild and overwrite it
    lm = build()
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    lm.save(tmp)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return lm


def unigram_perplexity(train: Sequence[str], test: Sequence[str], lm: TinyLM) -> float:
    """Perplexity of an add-one unigram model over ``lm``'s vocabulary (the trivial baseline)."""
    counts = torch.ones(len(lm.vocab))
    for t in train:
        for i in [*lm.encode(t), EOS]:
            counts[i] += 1
    logp = torch.log(counts / counts.sum())
    ids = [i for t in test for i in [*lm.encode(t), EOS][: lm.config.max_len - 1]]
    return math.exp(-float(logp[ids].mean()))


__all__ = [
    "LMConfig",
    "TinyGPT",
    "TinyLM",
    "build_vocab",
    "cache_root",
    "cached",
    "cached_lm",
    "continue_ids",
    "sequence_logprob",
    "train_lm",
    "unigram_perplexity",
    "words",
]
