"""Frozen MiniLM features cached on disk: per-word token features and sentence embeddings.

Methods that train only small heads on a frozen MiniLM (``sequst``'s BiLSTM tagger, ``conaclip``'s text
teacher, ``piccolo2``'s frozen-model hard-negative mining) run the encoder once per text set and keep the
result in ``$TRUSTMAP_CACHE/minilm/`` (else the user cache folder), keyed by a hash of the texts, the
options and the model file's size and modification time. Files are safetensors; a corrupt file is
recomputed.

* :func:`word_features`: for pre-split words, the last hidden state of each word's **first** word-piece;
  a list of ``(n_i, 384)`` float32 arrays, ``n_i`` = words whose first piece fits in ``max_len`` pieces.
* :func:`sentence_embeddings`: mean-pooled, L2-normalised sentence embeddings ``(N, 384)`` float32.

>>> feats = word_features([["a", "fine", "film"]])      # [array (3, 384)]
>>> emb = sentence_embeddings(["a fine film"])          # (1, 384)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

CHUNK = 64


def cache_dir() -> Path:
    env = os.environ.get("TRUSTMAP_CACHE")
    if env:
        return Path(env) / "minilm"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("trustmap", appauthor=False)) / "minilm"


@functools.lru_cache(maxsize=1)
def _model_key() -> str:
    from trustmap.models.text import minilm_path

    st = (minilm_path() / "model.safetensors").stat()
    return f"{st.st_size}-{int(st.st_mtime)}"


def _key(kind: str, payload: object) -> str:
    blob = json.dumps([kind, _model_key(), payload], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _load(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError):
        return None


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp))
    os.replace(tmp, path)


@functools.lru_cache(maxsize=1)
def _encoder() -> tuple[torch.nn.Module, object]:
    from trustmap.models.text import load_encoder, load_tokenizer

    return load_encoder().eval(), load_tokenizer()


@torch.no_grad()
def _word_features(words: Sequence[Sequence[str]], max_len: int) -> list[np.ndarray]:
    enc, tok = _encoder()
    out: list[np.ndarray] = []
    for i in range(0, len(words), CHUNK):
        batch = [list(w) for w in words[i : i + CHUNK]]
        inputs = tok(
            batch, is_split_into_words=True, truncation=True, max_length=max_len, padding=True, return_tensors="pt"
        )
        hidden = enc(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
        for b in range(len(batch)):
            firsts, seen = [], set()
            for pos, wid in enumerate(inputs.word_ids(b)):
                if wid is not None and wid not in seen:
                    seen.add(wid)
                    firsts.append(pos)
            out.append(hidden[b, firsts].numpy().astype(np.float32))
    return out


def word_features(words: Sequence[Sequence[str]], *, max_len: int = 64) -> list[np.ndarray]:
    """First-word-piece MiniLM features ``(n_i, 384)`` per text of pre-split ``words`` (cached on disk)."""
    path = cache_dir() / f"words-{_key('words', [max_len, [list(w) for w in words]])}.safetensors"
    got = _load(path)
    if got is not None:
        flat, offsets = got["features"], got["offsets"]
        return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    feats = _word_features(words, max_len)
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in feats])]).astype(np.int64)
    flat = np.concatenate(feats) if feats else np.zeros((0, 384), np.float32)
    _save(path, {"features": flat, "offsets": offsets})
    return feats


@torch.no_grad()
def sentence_embeddings(texts: Sequence[str], *, max_len: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings ``(N, 384)`` float32 (cached on disk)."""
    texts = [str(t) for t in texts]
    path = cache_dir() / f"sent-{_key('sent', [max_len, texts])}.safetensors"
    got = _load(path)
    if got is not None:
        return got["embeddings"]
    enc, tok = _encoder()
    rows = []
    for i in range(0, len(texts), CHUNK):
        inputs = tok(texts[i : i + CHUNK], truncation=True, max_length=max_len, padding=True, return_tensors="pt")
        h = enc(**{k: inputs[k] for k in ("input_ids", "attention_mask")}).last_hidden_state
        m = inputs["attention_mask"].unsqueeze(-1).float()
        rows.append(torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1.0), dim=-1))
    emb = torch.cat(rows).numpy() if rows else np.zeros((0, 384), np.float32)
    _save(path, {"embeddings": emb})
    return emb


__all__ = ["cache_dir", "sentence_embeddings", "word_features"]
