"""Seeded synthetic multi-channel EEG, built from MNE-Python's offline pieces.

No real EEG ships offline, so ``repro cbramod`` and ``repro sf-uida`` run on signals this module simulates.
**Everything here is synthetic.** What comes from MNE-Python: electrode positions (the ``colin27_1005``
template montage that ships with ``mne``), band-limited oscillations (``mne.filter.filter_data``, IIR
Butterworth, zero phase) and the :class:`mne.io.RawArray` export (:meth:`EEGSet.to_raw`). What is ours: the
1/f background (FFT-shaped pink noise), latent oscillators placed on the scalp whose gains to each electrode
decay with angular distance (a smooth stand-in for a forward model, which needs the fsaverage download), their
slow amplitude envelopes, and the class-specific modulations of the labelled tasks.

Shapes: ``EEGSet.x`` is ``(n, channels, samples)`` float32 in microvolt-like units, ``y`` is ``(n,)`` int64.

>>> pre = simulate_unlabelled(8, seed=0)            # 19 channels (10-20), 4 s at 200 Hz
>>> pre.x.shape
(8, 19, 800)
>>> mi = simulate_motor_imagery(8, seed=0)          # another 12-channel montage, 4 classes
>>> mi.x.shape, mi.classes[0]
((8, 12, 800), 'left hand')

Motor imagery *(ours)*: imagining a left-hand, right-hand, feet or tongue movement desynchronises (ERD) the
mu (10 Hz) and beta (20 Hz) sources over right motor cortex (C4), left (C3), the vertex (Cz) or both lateral
sites (C5, C6); the ERD starts 0.5-1.5 s into the 4-s trial and lowers the source's amplitude by ``erd``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trustmap.errors import DataError

SFREQ = 200.0
PRETRAIN_CHANNELS = (
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "T7",
    "C3",
    "Cz",
    "C4",
    "T8",
    "P7",
    "P3",
    "Pz",
    "P4",
    "P8",
    "O1",
    "O2",
)
MI_CHANNELS = ("FC3", "FCz", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6", "CP3", "CP4")
MI_CLASSES = ("left hand", "right hand", "feet", "tongue")
# fixed latent oscillators (ours): (scalp site, centre Hz, half-band Hz, relative amplitude)
_FIXED_SOURCES = (
    ("Oz", 10.0, 1.5, 1.6),  # posterior alpha
    ("Fz", 6.0, 1.0, 0.8),  # frontal midline theta
    ("C3", 10.5, 1.0, 1.0),  # left mu
    ("C4", 10.5, 1.0, 1.0),  # right mu
    ("Cz", 10.5, 1.0, 0.8),  # vertex mu
    ("C3", 21.0, 3.0, 0.5),  # left beta
    ("C4", 21.0, 3.0, 0.5),  # right beta
    ("Cz", 21.0, 3.0, 0.4),  # vertex beta
    ("C5", 11.0, 1.0, 0.7),  # left lateral (face/tongue) mu
    ("C6", 11.0, 1.0, 0.7),  # right lateral mu
)
# which fixed sources each imagery class desynchronises
_ERD_SOURCES = {0: (3, 6), 1: (2, 5), 2: (4, 7), 3: (8, 9)}


@dataclass(frozen=True)
class EEGSet:
    """Simulated EEG: ``x`` (n, channels, samples), labels ``y`` (n,), ``subject`` ids (n,)."""

    x: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    channels: tuple[str, ...]
    sfreq: float
    classes: tuple[str, ...]

    def to_raw(self, index: int = 0):  # -> mne.io.RawArray
        """Trial ``index`` as an :class:`mne.io.RawArray` (volts) with the template montage set."""
        import mne

        info = mne.create_info(list(self.channels), self.sfreq, ch_types="eeg", verbose=False)
        raw = mne.io.RawArray(self.x[index].astype(np.float64) * 1e-6, info, verbose=False)
        montage = mne.channels.make_standard_montage("colin27_1005")
        return raw.set_montage(montage, verbose=False)


@functools.lru_cache(maxsize=1)
def _positions() -> dict[str, np.ndarray]:
    import mne

    pos = mne.channels.make_standard_montage("colin27_1005").get_positions()["ch_pos"]
    return {name: np.asarray(p, dtype=np.float64) for name, p in pos.items()}


def channel_positions(channels: Sequence[str]) -> np.ndarray:
    """Unit vectors ``(C, 3)`` from the head centre to each electrode of MNE's colin27 10-05 template."""
    pos = _positions()
    missing = [c for c in channels if c not in pos]
    if missing:
        raise DataError(f"unknown 10-05 electrode name(s) {missing}; use names such as Fp1, Cz, O2")
    xyz = np.stack([pos[c] for c in channels])
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True)


def topography(channels: Sequence[str], centre: str | np.ndarray, *, width: float = 0.45) -> np.ndarray:
    """Gains ``(C,)`` of a source under electrode (or direction) ``centre``: exp(-angle^2 / 2 width^2)."""
    to = channel_positions([centre])[0] if isinstance(centre, str) else np.asarray(centre, float)
    to = to / np.linalg.norm(to)
    angle = np.arccos(np.clip(channel_positions(channels) @ to, -1.0, 1.0))
    return np.exp(-(angle**2) / (2 * width**2))


def pink_noise(rng: np.random.Generator, shape: tuple[int, ...], *, sfreq: float, exponent: float = 1.0) -> np.ndarray:
    """Noise whose power falls as 1/f^exponent (flat below 0.5 Hz), unit variance along the last axis."""
    n = shape[-1]
    f = np.fft.rfftfreq(n, 1.0 / sfreq)
    spec = np.fft.rfft(rng.standard_normal(shape), axis=-1) / np.maximum(f, 0.5) ** (exponent / 2)
    out = np.fft.irfft(spec, n, axis=-1)
    return out / out.std(axis=-1, keepdims=True)


def band_noise(
    rng: np.random.Generator, shape: tuple[int, ...], *, sfreq: float, low: float, high: float
) -> np.ndarray:
    """A band-limited oscillation (white noise through MNE's zero-phase IIR band-pass), unit variance."""
    import mne

    low = max(low, 0.3)
    high = min(high, sfreq / 2 - 1.0)
    out = mne.filter.filter_data(rng.standard_normal(shape), sfreq, low, high, method="iir", verbose=False)
    return out / (out.std(axis=-1, keepdims=True) + 1e-12)


def slow_envelope(rng: np.random.Generator, shape: tuple[int, ...], *, sfreq: float, depth: float = 0.5) -> np.ndarray:
    """A positive waxing-and-waning amplitude (log-normal, below 1 Hz) with mean about 1."""
    n = shape[-1]
    f = np.fft.rfftfreq(n, 1.0 / sfreq)
    spec = np.fft.rfft(rng.standard_normal(shape), axis=-1) * (f < 1.0)
    slow = np.fft.irfft(spec, n, axis=-1)
    slow = slow / (slow.std(axis=-1, keepdims=True) + 1e-12)
    return np.exp(depth * slow - depth**2 / 2)


def _random_sources(rng: np.random.Generator, k: int) -> list[tuple[np.ndarray, float, float, float]]:
    """``k`` latent oscillators at random upper-hemisphere directions and frequencies (delta to beta)."""
    out = []
    for _ in range(k):
        v = rng.standard_normal(3)
        v[2] = abs(v[2]) + 0.3
        centre = rng.choice([2.0, 5.5, 9.5, 13.0, 18.0, 24.0])
        out.append((v / np.linalg.norm(v), float(centre), float(0.15 * centre + 0.5), float(rng.uniform(0.3, 0.8))))
    return out


def _mix(
    rng: np.random.Generator,
    n: int,
    channels: Sequence[str],
    samples: int,
    sfreq: float,
    *,
    n_sources: int,
    modulation: np.ndarray,
    layout_seed: int,
) -> np.ndarray:
    """Latent oscillators mixed into ``channels`` plus pink background; ``modulation`` (n, sources, samples)
    scales the fixed sources' amplitudes (ERD), the random ones are left alone."""
    sources = [(s, c, b, a) for s, c, b, a in _FIXED_SOURCES]
    sources += _random_sources(np.random.default_rng(layout_seed), max(n_sources - len(_FIXED_SOURCES), 0))
    x = np.zeros((n, len(channels), samples))
    for j, (site, centre, half, amp) in enumerate(sources[:n_sources]):
        wave = band_noise(rng, (n, samples), sfreq=sfreq, low=centre - half, high=centre + half)
        gain = amp * rng.lognormal(0.0, 0.4, size=(n, 1))  # trial-to-trial amplitude variability
        wave = wave * gain * slow_envelope(rng, (n, samples), sfreq=sfreq)
        if j < len(_FIXED_SOURCES):
            wave = wave * modulation[:, j]
        x += wave[:, None, :] * topography(channels, site)[None, :, None]
    x += 0.8 * pink_noise(rng, x.shape, sfreq=sfreq) + 0.15 * rng.standard_normal(x.shape)
    return (10.0 * x).astype(np.float32)


def _erd_profile(rng: np.random.Generator, n: int, samples: int, sfreq: float, depth: np.ndarray) -> np.ndarray:
    """(n, samples) multipliers: 1 before a random onset in 0.5-1.5 s, then 1 - depth (0.3-s ramp)."""
    t = np.arange(samples) / sfreq
    onset = rng.uniform(0.5, 1.5, size=(n, 1))
    ramp = np.clip((t[None, :] - onset) / 0.3, 0.0, 1.0)
    return 1.0 - depth[:, None] * ramp


def _check(n: int, seconds: float, sfreq: float) -> int:
    if n < 1 or seconds <= 0 or sfreq <= 0:
        raise DataError(f"need n >= 1 trials and positive seconds and sfreq, got n={n}, {seconds} s, {sfreq} Hz")
    return round(seconds * sfreq)


def simulate_unlabelled(
    n: int,
    *,
    channels: Sequence[str] = PRETRAIN_CHANNELS,
    seconds: float = 4.0,
    sfreq: float = SFREQ,
    n_sources: int = 16,
    seed: int = 0,
) -> EEGSet:
    """Unlabelled resting/task EEG for pre-training: the same oscillators, with ERD at random sites and times."""
    samples = _check(n, seconds, sfreq)
    rng = np.random.default_rng([seed, 1])
    mod = np.ones((n, len(_FIXED_SOURCES), samples))
    active = rng.random((n, len(_FIXED_SOURCES))) < 0.3
    for j in range(len(_FIXED_SOURCES)):
        depth = np.where(active[:, j], rng.uniform(0.3, 0.8, size=n), 0.0)
        mod[:, j] = _erd_profile(rng, n, samples, sfreq, depth)
    x = _mix(rng, n, channels, samples, sfreq, n_sources=n_sources, modulation=mod, layout_seed=0)
    return EEGSet(x, np.full(n, -1, np.int64), np.zeros(n, np.int64), tuple(channels), sfreq, ())


def simulate_motor_imagery(
    n: int,
    *,
    channels: Sequence[str] = MI_CHANNELS,
    seconds: float = 4.0,
    sfreq: float = SFREQ,
    erd: float = 0.5,
    n_sources: int = 16,
    seed: int = 0,
) -> EEGSet:
    """A balanced 4-class motor-imagery-like task (:data:`MI_CLASSES`): class-specific mu/beta ERD of depth
    ``erd`` (jittered ±0.15) on top of the same background as :func:`simulate_unlabelled`."""
    samples = _check(n, seconds, sfreq)
    if not 0.0 < erd < 1.0:
        raise DataError(f"erd must lie in (0, 1), got {erd}")
    rng = np.random.default_rng([seed, 2])
    y = rng.permutation(np.arange(n) % len(MI_CLASSES)).astype(np.int64)
    mod = np.ones((n, len(_FIXED_SOURCES), samples))
    for cls, idx in _ERD_SOURCES.items():
        rows = np.flatnonzero(y == cls)
        depth = np.clip(erd + rng.uniform(-0.15, 0.15, size=len(rows)), 0.05, 0.95)
        prof = _erd_profile(rng, len(rows), samples, sfreq, depth)
        for j in idx:
            mod[rows, j] = prof
    x = _mix(rng, n, channels, samples, sfreq, n_sources=n_sources, modulation=mod, layout_seed=0)
    return EEGSet(x, y, np.zeros(n, np.int64), tuple(channels), sfreq, MI_CLASSES)
