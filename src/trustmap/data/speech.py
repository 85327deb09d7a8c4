"""Real synthetic speech: espeak-ng audio of short Rotten Tomatoes phrases, added noise, torch-only log-mel.

The **audio is synthetic** (formant synthesis by Debian's ``espeak-ng``, installed by ``scripts/setup.sh``)
and the **words are real**: :func:`rt_phrases` takes runs of 4-6 consecutive words from Rotten Tomatoes
snippets (Pang & Lee 2005, :mod:`trustmap.data.text`) whose words all lie in the corpus's most frequent
alphabetic words (100 by default), so a closed-vocabulary recogniser and a language model trained on RT
text both apply. Each utterance gets a voice (5 English accents x 6 variants), a speed (140-200 words
per minute) and a pitch (25-75) drawn from its ``(seed, index)``; WAV files are cached under
``<trustmap cache>/speech`` by a hash of text and voice, so a second run calls no synthesiser.

Noise (:func:`make_noise`, :func:`add_noise`): ``white``; ``babble`` (three other espeak talkers summed);
``music`` (harmonic tones on a changing melody); ``car`` (low-passed brown noise with an engine hum),
mixed at a given SNR in dB. Features (:func:`log_mel`): ``torch.stft`` (Hann 512, hop 220 = 10 ms at
22,050 Hz) and a triangular HTK-mel filterbank built here (:func:`mel_filterbank`); torchaudio is not
needed.

Shapes: a waveform is ``(S,)`` float32 in [-1, 1]; ``log_mel`` returns ``(frames, n_mels)`` float32.

>>> phrases, vocab = rt_phrases("train")
>>> wav = synthesize(phrases[0], voice_for(0, 0))            # (S,) float32, 22,050 Hz
>>> noisy = add_noise(wav, make_noise("babble", len(wav), seed=1), snr_db=5.0)
>>> feats = log_mel(noisy)                                   # (frames, 40)
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trustmap.errors import DataError
from trustmap.utils.seed import derive_seed, seeded_generator

SAMPLE_RATE = 22050
ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan")
VARIANTS = ("", "+m2", "+m3", "+f2", "+f3", "+f4")
NOISE_TYPES = ("white", "babble", "music", "car")
_BABBLE = (
    "the story of a man who has never seen the sea",
    "she said that it would rain all day and all night",
    "we have been waiting here for more than an hour now",
    "a little dog ran across the road into the park",
)
ESPEAK_INSTALL = "apt-get install espeak-ng (scripts/setup.sh installs it)"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (``-v``), speed in words per minute (``-s``) and pitch 0-99 (``-p``)."""

    name: str = "en-us"
    speed: int = 170
    pitch: int = 50


def voice_for(seed: int, index: int) -> Voice:
    """The voice of utterance ``index`` under ``seed`` (accent, variant, speed and pitch; deterministic)."""
    r = np.random.default_rng(derive_seed(seed, 9101, index))
    name = ACCENTS[r.integers(len(ACCENTS))] + VARIANTS[r.integers(len(VARIANTS))]
    return Voice(name, int(r.integers(140, 201)), int(r.integers(25, 76)))


def espeak_binary() -> str:
    """The ``espeak-ng`` executable, or a one-line :class:`DataError` saying how to install it."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise DataError(f"espeak-ng was not found on PATH; speech data needs it: {ESPEAK_INSTALL}")
    return path


def speech_cache() -> Path:
    from trustmap.llm.lm import cache_root

    return cache_root() / "speech"


def read_wav(path: str | os.PathLike[str]) -> np.ndarray:
    """A mono 16-bit WAV file as float32 samples in [-1, 1] (``DataError`` if it is not one)."""
    try:
        with wave.open(str(path), "rb") as f:
            if f.getsampwidth() != 2 or f.getnchannels() != 1:
                raise DataError(f"{path} is not a mono 16-bit WAV file")
            raw = f.readframes(f.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise DataError(f"{path} is not a readable WAV file ({exc})") from exc
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def synthesize(text: str, voice: Voice = Voice(), *, cache_dir: str | os.PathLike[str] | None = None) -> np.ndarray:
    """espeak-ng speech of ``text`` at 22,050 Hz, ``(S,)`` float32, cached as a WAV file by text and voice."""
    text = " ".join(str(text).split())
    if not text:
        raise DataError("synthesize needs a non-empty text")
    folder = Path(cache_dir) if cache_dir is not None else speech_cache()
    key = hashlib.sha256(f"{voice.name}|{voice.speed}|{voice.pitch}|{text}".encode()).hexdigest()[:24]
    path = folder / f"{key}.wav"
    if path.is_file():
        try:
            return read_wav(path)
        except DataError:
            pass  # a half-written entry: synthesise again
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{key}.tmp{os.getpid()}.wav")
    cmd = [espeak_binary(), "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "-w", str(tmp)]
    done = subprocess.run([*cmd, text], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0 or not tmp.is_file():
        raise DataError(f"espeak-ng failed on voice {voice.name!r}: {done.stderr.strip()[:200] or 'no output'}")
    os.replace(tmp, path)
    return read_wav(path)


def make_noise(kind: str, n: int, *, seed: int, cache_dir: str | os.PathLike[str] | None = None) -> torch.Tensor:
    """``n`` samples of noise of type ``kind`` (one of :data:`NOISE_TYPES`), unit RMS, ``(n,)`` float32."""
    if kind not in NOISE_TYPES:
        raise DataError(f"unknown noise type {kind!r}; choose from {', '.join(NOISE_TYPES)}")
    g = seeded_generator(seed, 9102)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    if kind == "white":
        x = torch.randn(n, generator=g, dtype=torch.float64)
    elif kind == "babble":
        x = torch.zeros(n, dtype=torch.float64)
        for k in range(3):
            j = int(torch.randint(len(_BABBLE), (1,), generator=g))
            talker = torch.from_numpy(synthesize(_BABBLE[j], voice_for(seed, 10_000 + k), cache_dir=cache_dir))
            talker = talker.double().repeat(n // max(len(talker), 1) + 2)
            start = int(torch.randint(len(talker) - n, (1,), generator=g))
            x += talker[start : start + n]
    elif kind == "music":
        notes = 220.0 * 2 ** (torch.randint(0, 13, (int(t[-1] / 0.25) + 2,), generator=g).double() / 12)
        f = notes[(t / 0.25).long()]
        x = sum(torch.sin(2 * math.pi * f * h * t) / h for h in (1, 2, 3))
    else:  # car: brown noise, low-passed, plus a 30-Hz engine hum
        w = torch.randn(n, generator=g, dtype=torch.float64)
        x = torch.cumsum(w, 0)
        x = x - torch.nn.functional.avg_pool1d(x[None, None], 401, 1, 200, count_include_pad=False)[0, 0]
        x = x / x.std().clamp_min(1e-9) + 0.5 * torch.sin(2 * math.pi * 30.0 * t)
    x = torch.as_tensor(x, dtype=torch.float64)
    return (x / x.pow(2).mean().sqrt().clamp_min(1e-9)).float()


def add_noise(wav: np.ndarray | torch.Tensor, noise: torch.Tensor, *, snr_db: float) -> torch.Tensor:
    """``wav + noise`` with the noise scaled to ``snr_db`` dB below the speech power, ``(S,)`` float32."""
    x = torch.as_tensor(wav, dtype=torch.float32)
    if noise.shape != x.shape:
        raise DataError(f"noise has shape {tuple(noise.shape)}, the waveform {tuple(x.shape)}")
    p_speech = x.pow(2).mean().clamp_min(1e-12)
    scale = torch.sqrt(p_speech / (noise.pow(2).mean().clamp_min(1e-12) * 10 ** (snr_db / 10)))
    return x + scale * noise


def mel_filterbank(
    *, n_fft: int = 512, n_mels: int = 40, sample_rate: int = SAMPLE_RATE, fmin: float = 60.0, fmax: float = 8000.0
) -> torch.Tensor:
    """Triangular HTK-mel filters ``(n_mels, n_fft // 2 + 1)`` (mel = 2595 log10(1 + f / 700))."""
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise DataError(f"need 0 <= fmin < fmax <= {sample_rate / 2} Hz, got {fmin}, {fmax}")
    mel = torch.linspace(2595 * math.log10(1 + fmin / 700), 2595 * math.log10(1 + fmax / 700), n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up, down = (bins - lo) / (mid - lo), (hi - bins) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0)


def log_mel(wav: np.ndarray | torch.Tensor, *, n_mels: int = 40, n_fft: int = 512, hop: int = 220) -> torch.Tensor:
    """Log-mel energies ``(frames, n_mels)`` of a 22,050-Hz waveform ``(S,)``: Hann STFT, power, mel, log."""
    x = torch.as_tensor(wav, dtype=torch.float32)
    if x.ndim != 1 or len(x) < n_fft:
        raise DataError(f"log_mel needs a 1-D waveform of at least {n_fft} samples, got shape {tuple(x.shape)}")
    spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft), return_complex=True)
    power = spec.abs().pow(2)  # (freq, frames)
    return torch.log(mel_filterbank(n_fft=n_fft, n_mels=n_mels) @ power + 1e-6).T.contiguous()


def rt_phrases(
    split: str, *, vocab_size: int = 100, min_words: int = 4, max_words: int = 6
) -> tuple[list[str], list[str]]:
    """Runs of ``min_words``-``max_words`` consecutive in-vocabulary words from one RT split, and the vocabulary
    (the ``vocab_size`` most frequent alphabetic words of the RT training split, ties by word)."""
    from collections import Counter

    from trustmap.data.text import load_rotten_tomatoes
    from trustmap.llm.lm import words

    ds = load_rotten_tomatoes()
    parts = {"train": ds.train, "dev": ds.dev, "test": ds.test}
    if split not in parts or parts[split] is None:
        raise DataError(f"unknown split {split!r}; choose train, dev or test")
    counts = Counter(
        w for t in ds.train.x for w in words(t) if w.replace("'", "").isalpha() and (len(w) > 1 or w in "ai")
    )
    vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab_size]]
    known, out = set(vocab), []
    for text in parts[split].x:
        run: list[str] = []
        for w in [*words(text), "<end>"]:
            if w in known:
                run.append(w)
                continue
            for i in range(0, len(run) - min_words + 1, max_words):  # non-overlapping chunks of a long run
                chunk = run[i : i + max_words]
                if len(chunk) >= min_words:
                    out.append(" ".join(chunk))
            run = []
    return out, vocab


__all__ = [
    "NOISE_TYPES",
    "SAMPLE_RATE",
    "Voice",
    "add_noise",
    "espeak_binary",
    "log_mel",
    "make_noise",
    "mel_filterbank",
    "read_wav",
    "rt_phrases",
    "synthesize",
    "voice_for",
]
