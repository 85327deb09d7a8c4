"""Shared set-up of the speech repros (``uadf``, ``robustger``): espeak-ng RT phrases, noise, the CTC model.

Per seed, the acoustic model is trained on ``n_train`` RT training phrases, each once clean and once with
noise of a type and SNR drawn from the utterance (types cycle over :data:`NOISE_TYPES`, SNR in
{0, 5, 10, 15, 20} dB), voices drawn from ``(seed, utterance)``. Trained models are cached (safetensors)
under ``<trustmap cache>/speech-am`` by their settings and seed, so the two repros share them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from trustmap.data.speech import NOISE_TYPES, add_noise, log_mel, make_noise, rt_phrases, synthesize, voice_for
from trustmap.models.asr import CTCWordModel, train_ctc
from trustmap.utils.seed import derive_seed

TRAIN_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)
OFFSETS = {"train": 0, "dev": 100_000, "test": 200_000}


def phrases(split: str, n: int, *, seed: int, skip: int = 0) -> tuple[list[str], list[str]]:
    """``n`` phrases of ``split`` sampled by ``seed`` (after the first ``skip`` of its order), and the vocabulary."""
    texts, vocab = rt_phrases(split)
    pick = np.random.default_rng(derive_seed(seed, 7301, OFFSETS[split])).permutation(len(texts))[skip : skip + n]
    return [texts[i] for i in sorted(pick)], vocab


def features(
    texts: Sequence[str], *, seed: int, split: str, noise: Sequence[tuple[str, float] | None], offset: int = 0
) -> list[torch.Tensor]:
    """Log-mel features ``(T, 40)`` of each phrase spoken by its voice, with ``noise[i]`` = (type, SNR) or clean."""
    out = []
    for i, (text, nz) in enumerate(zip(texts, noise, strict=True)):
        key = OFFSETS[split] + offset + i
        wav = torch.from_numpy(synthesize(text, voice_for(seed, key)))
        if nz is not None:
            wav = add_noise(wav, make_noise(nz[0], len(wav), seed=derive_seed(seed, 7302, key)), snr_db=nz[1])
        out.append(log_mel(wav))
    return out


def word_ids(texts: Sequence[str], vocab: Sequence[str]) -> list[list[int]]:
    index = {w: i + 1 for i, w in enumerate(vocab)}
    return [[index[w] for w in t.split()] for t in texts]


def acoustic_model(*, seed: int, n_train: int, epochs: int) -> tuple[CTCWordModel, list[str]]:
    """The seed's CTC model trained on ``n_train`` phrases (clean + one noisy copy each), from the cache if there."""
    from safetensors.torch import load_file, save_file

    from trustmap.llm.lm import cache_root

    texts, vocab = phrases("train", n_train, seed=seed)
    key = hashlib.sha256(json.dumps([seed, n_train, epochs, texts, "am-v1"]).encode()).hexdigest()[:20]
    path = Path(cache_root()) / "speech-am" / f"{key}.safetensors"
    model = CTCWordModel(len(vocab))
    if path.is_file():
        try:
            model.load_state_dict(load_file(str(path)))
            return model.eval(), vocab
        except (OSError, RuntimeError, ValueError):
            pass  # a stale or half-written entry: retrain
    noisy = [(NOISE_TYPES[i % 4], TRAIN_SNRS[(i // 4) % 5]) for i in range(len(texts))]
    feats = features(texts, seed=seed, split="train", noise=[None] * len(texts))
    feats += features(texts, seed=seed, split="train", noise=noisy)
    labels = word_ids(texts, vocab)
    model = train_ctc(feats, labels + labels, n_words=len(vocab), epochs=epochs, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{key}.tmp{os.getpid()}")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, path)
    return model, vocab
