"""Seeded synthetic sleep EEG: 30-s epochs of the stages W, N1, N2, N3 and REM for simulated subjects.

**Everything here is synthetic** (no polysomnography ships offline); it reuses :mod:`trustmap.data.eeg`'s
MNE template montage, MNE IIR band-pass oscillations and 1/f background. Stages follow a Markov chain
(:data:`TRANSITIONS`, ours, AASM-like dwell times) and are defined by their spectra and events *(ours)*:

==========  =====================================================================================
W           strong posterior alpha (8-12 Hz), beta, blinks at Fpz
N1          theta (4-7 Hz) replaces alpha, slow rolling eye movements
N2          sleep spindles (12.5-14 Hz bursts, 0.5-1.5 s, central) and K-complexes (frontal, biphasic)
N3          high-amplitude delta (0.5-2 Hz, frontal), few spindles
REM         low-amplitude mixed theta, rapid eye movements at Fpz
==========  =====================================================================================

Subjects differ (:class:`SleepSubject`) in overall gain, 1/f slope, a frequency shift of every rhythm and
spindle, and stage priors (a tilt of the transition matrix), so a model trained on some subjects loses
accuracy on others. Shapes: ``x`` ``(n_sequences * seq_len, channels, 30 * sfreq)`` float32, in sequence
order (epoch ``i`` of sequence ``k`` is row ``k * seq_len + i``).

>>> sub = random_sleep_subject(3, shift=1.0)
>>> data = simulate_sleep(sub, n_sequences=2, seed=0)
>>> data.x.shape, data.classes
((20, 3, 1500), ('W', 'N1', 'N2', 'N3', 'REM'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trustmap.data.eeg import EEGSet, band_noise, pink_noise, slow_envelope, topography
from trustmap.errors import DataError

SLEEP_STAGES = ("W", "N1", "N2", "N3", "REM")
SLEEP_SFREQ = 50.0
EPOCH_SECONDS = 30.0
SLEEP_CHANNELS = ("Fpz", "Cz", "Oz")
TRANSITIONS = np.array(
    [
        [0.85, 0.10, 0.03, 0.00, 0.02],
        [0.08, 0.60, 0.27, 0.00, 0.05],
        [0.03, 0.04, 0.80, 0.09, 0.04],
        [0.02, 0.00, 0.12, 0.86, 0.00],
        [0.04, 0.05, 0.06, 0.00, 0.85],
    ]
)
# band: (low Hz, high Hz, scalp site, topography width); the shift applies fully except to delta (x0.3)
BANDS = {
    "delta": (0.5, 2.0, "Fz", 0.9),
    "theta": (4.0, 7.0, "Cz", 0.7),
    "alpha": (8.0, 12.0, "Oz", 0.5),
    "beta": (15.0, 24.0, "Cz", 1.2),
}
# per-stage band amplitudes and event rates per 30-s epoch (ours)
STAGE_AMPLITUDE = {
    "W": {"delta": 0.5, "theta": 0.6, "alpha": 2.2, "beta": 1.0},
    "N1": {"delta": 0.8, "theta": 1.6, "alpha": 0.6, "beta": 0.5},
    "N2": {"delta": 1.3, "theta": 1.2, "alpha": 0.3, "beta": 0.3},
    "N3": {"delta": 3.5, "theta": 1.0, "alpha": 0.2, "beta": 0.2},
    "REM": {"delta": 0.6, "theta": 1.4, "alpha": 0.7, "beta": 0.6},
}
STAGE_EVENTS = {  # (spindles, K-complexes, blinks, slow eye movements, rapid eye movements)
    "W": (0.0, 0.0, 4.0, 0.0, 0.0),
    "N1": (0.0, 0.2, 0.5, 1.5, 0.0),
    "N2": (4.0, 1.5, 0.0, 0.0, 0.0),
    "N3": (1.0, 0.5, 0.0, 0.0, 0.0),
    "REM": (0.0, 0.0, 0.0, 0.0, 5.0),
}


@dataclass(frozen=True)
class SleepSubject:
    """One simulated sleeper: ``gain`` (x amplitude), ``slope`` (1/f exponent), ``freq_shift`` (Hz, every
    rhythm), ``prior`` (5 log-weights tilting the transition matrix towards some stages), ``ident``."""

    gain: float = 1.0
    slope: float = 1.0
    freq_shift: float = 0.0
    prior: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    ident: int = 0


def random_sleep_subject(seed: int, *, shift: float = 0.3, strong: bool = False) -> SleepSubject:
    """A subject whose departures from the population scale with ``shift``: gain e^{±0.7 shift}, slope
    1 ± 0.5 shift, frequency ± shift Hz, prior log-weights ± 0.5 shift. ``strong`` draws each departure
    from the outer 60-100% of its range (the strongly shifted targets of ``repro sf-uida``)."""
    rng = np.random.default_rng([seed, 7])
    lo = 0.6 if strong else 0.0

    def draw() -> float:
        return float(rng.choice([-1.0, 1.0]) * rng.uniform(lo, 1.0))

    return SleepSubject(
        gain=float(np.exp(0.7 * shift * draw())),
        slope=1.0 + 0.5 * shift * draw(),
        freq_shift=shift * draw(),
        prior=tuple(0.5 * shift * draw() for _ in SLEEP_STAGES),
        ident=seed,
    )


def stage_sequence(rng: np.random.Generator, n: int, prior: Sequence[float]) -> np.ndarray:
    """``n`` stages from the Markov chain, transition rows reweighted by ``exp(prior)``."""
    w = np.exp(np.asarray(prior, float))
    trans = TRANSITIONS * w[None, :]
    trans /= trans.sum(1, keepdims=True)
    start = w / w.sum()
    out = np.empty(n, np.int64)
    out[0] = rng.choice(5, p=start)
    for i in range(1, n):
        out[i] = rng.choice(5, p=trans[out[i - 1]])
    return out


def _events(rng: np.random.Generator, stage: str, t: np.ndarray, shift: float, topo: dict) -> np.ndarray:
    """Spindles, K-complexes and eye movements of one epoch, (channels, samples)."""
    rates = STAGE_EVENTS[stage]
    out = np.zeros((len(next(iter(topo.values()))), len(t)))
    T = t[-1]
    for _ in range(rng.poisson(rates[0])):  # spindle
        t0, dur = rng.uniform(1, T - 1), rng.uniform(0.5, 1.5)
        env = np.exp(-0.5 * ((t - t0) / (dur / 4)) ** 2)
        out += topo["Cz"][:, None] * 2.5 * env * np.sin(2 * np.pi * (13.2 + shift + rng.normal(0, 0.3)) * t)
    for _ in range(rng.poisson(rates[1])):  # K-complex
        t0 = rng.uniform(1, T - 2)
        wave = -np.exp(-(((t - t0) / 0.15) ** 2)) + 0.6 * np.exp(-(((t - t0 - 0.45) / 0.25) ** 2))
        out += topo["Fz"][:, None] * 6.0 * wave
    for _ in range(rng.poisson(rates[2])):  # blink
        out += topo["eye"][:, None] * 6.0 * np.exp(-(((t - rng.uniform(0, T)) / 0.12) ** 2))
    for _ in range(rng.poisson(rates[3])):  # slow rolling eye movement
        t0 = rng.uniform(0, T)
        out += topo["eye"][:, None] * 3.0 * np.exp(-(((t - t0) / 2.0) ** 2)) * np.sin(2 * np.pi * 0.3 * (t - t0))
    for _ in range(rng.poisson(rates[4])):  # rapid eye movement (saccade pair)
        t0 = rng.uniform(0, T - 1)
        out += topo["eye"][:, None] * 4.0 * (np.tanh((t - t0) / 0.05) - np.tanh((t - t0 - 0.4) / 0.05)) / 2
    return out


def simulate_sleep(
    subject: SleepSubject,
    *,
    n_sequences: int,
    seq_len: int = 10,
    channels: Sequence[str] = SLEEP_CHANNELS,
    sfreq: float = SLEEP_SFREQ,
    seed: int = 0,
) -> EEGSet:
    """``n_sequences`` runs of ``seq_len`` consecutive 30-s epochs of ``subject``'s sleep (see module doc)."""
    if n_sequences < 1 or seq_len < 1:
        raise DataError(f"need n_sequences >= 1 and seq_len >= 1, got {n_sequences}, {seq_len}")
    rng = np.random.default_rng([seed, subject.ident, 11])
    samples = round(EPOCH_SECONDS * sfreq)
    n = n_sequences * seq_len
    y = np.concatenate([stage_sequence(rng, seq_len, subject.prior) for _ in range(n_sequences)])
    x = 1.2 * pink_noise(rng, (n, len(channels), samples), sfreq=sfreq, exponent=subject.slope)
    for band, (lo, hi, site, width) in BANDS.items():
        df = subject.freq_shift * (0.3 if band == "delta" else 1.0)
        wave = band_noise(rng, (n, samples), sfreq=sfreq, low=lo + df, high=hi + df)
        amp = np.array([STAGE_AMPLITUDE[SLEEP_STAGES[s]][band] for s in y]) * rng.lognormal(0, 0.25, n)
        wave = wave * amp[:, None] * slow_envelope(rng, (n, samples), sfreq=sfreq, depth=0.4)
        x += wave[:, None, :] * topography(channels, site, width=width)[None, :, None]
    topo = {"Cz": topography(channels, "Cz"), "Fz": topography(channels, "Fz", width=0.6)}
    topo["eye"] = topography(channels, "Fpz", width=0.25)
    t = np.arange(samples) / sfreq
    for i in range(n):
        x[i] += _events(rng, SLEEP_STAGES[y[i]], t, subject.freq_shift, topo)
    x += 0.1 * rng.standard_normal(x.shape)
    subj = np.full(n, subject.ident, np.int64)
    return EEGSet((10.0 * subject.gain * x).astype(np.float32), y, subj, tuple(channels), sfreq, SLEEP_STAGES)
