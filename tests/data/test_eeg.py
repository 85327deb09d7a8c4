"""The synthetic EEG generators: seeded, shaped as documented, and their spectra differ as designed."""

import mne
import numpy as np
import pytest
from mne.time_frequency import psd_array_welch

from trustmap.data.eeg import (
    MI_CHANNELS,
    band_noise,
    channel_positions,
    pink_noise,
    simulate_motor_imagery,
    simulate_unlabelled,
    topography,
)
from trustmap.data.sleep import SLEEP_STAGES, SleepSubject, random_sleep_subject, simulate_sleep
from trustmap.errors import DataError


def _band_power(x, sfreq, lo, hi):
    psd, f = psd_array_welch(x.astype(float), sfreq, fmin=0.5, fmax=sfreq / 2 - 1, n_fft=int(2 * sfreq), verbose=False)
    return psd[..., (f >= lo) & (f < hi)].mean(-1)


def test_generators_are_seeded_and_shaped():
    a, b = simulate_unlabelled(4, seed=3), simulate_unlabelled(4, seed=3)
    assert a.x.shape == (4, 19, 800) and a.x.dtype == np.float32
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.allclose(a.x, simulate_unlabelled(4, seed=4).x)
    mi = simulate_motor_imagery(8, seed=0)
    assert mi.x.shape == (8, 12, 800) and sorted(np.bincount(mi.y)) == [2, 2, 2, 2]
    np.testing.assert_array_equal(mi.x, simulate_motor_imagery(8, seed=0).x)
    raw = mi.to_raw(0)
    assert isinstance(raw, mne.io.RawArray) and raw.ch_names == list(MI_CHANNELS) and raw.get_montage() is not None


def test_bad_input_raises_data_error():
    with pytest.raises(DataError, match="electrode"):
        channel_positions(["Cz", "XYZ"])
    with pytest.raises(DataError):
        simulate_motor_imagery(4, erd=1.5)
    with pytest.raises(DataError):
        simulate_sleep(SleepSubject(), n_sequences=0)


def test_topography_peaks_at_its_site_and_noise_has_its_spectrum():
    gains = topography(MI_CHANNELS, "C4")
    assert MI_CHANNELS[int(np.argmax(gains))] == "C4" and gains.min() < 0.3
    rng = np.random.default_rng(0)
    pink = pink_noise(rng, (20, 4000), sfreq=200.0, exponent=1.0)
    psd, f = psd_array_welch(pink, 200.0, fmin=2, fmax=60, n_fft=400, verbose=False)
    slope = np.polyfit(np.log(f), np.log(psd.mean(0)), 1)[0]
    assert -1.3 < slope < -0.7
    alpha = band_noise(rng, (10, 2000), sfreq=200.0, low=8, high=12)
    assert _band_power(alpha, 200.0, 8, 12).mean() > 20 * _band_power(alpha, 200.0, 20, 30).mean()


def test_motor_imagery_erd_is_lateralised():
    mi = simulate_motor_imagery(160, seed=1)
    c3, c4 = MI_CHANNELS.index("C3"), MI_CHANNELS.index("C4")
    mu = np.log(_band_power(mi.x[:, :, 400:], 200.0, 9, 12))
    left, right = mi.y == 0, mi.y == 1  # left-hand imagery desynchronises the right hemisphere (C4)
    assert (mu[left, c4] - mu[left, c3]).mean() < (mu[right, c4] - mu[right, c3]).mean() - 0.3


def test_sleep_stage_spectra_differ_as_designed():
    data = simulate_sleep(SleepSubject(ident=1), n_sequences=30, seed=0)
    assert data.x.shape == (300, 3, 1500) and data.classes == SLEEP_STAGES
    np.testing.assert_array_equal(data.x, simulate_sleep(SleepSubject(ident=1), n_sequences=30, seed=0).x)
    cz, oz = 1, 2
    power = {
        band: np.array([_band_power(data.x[data.y == k], 50.0, lo, hi).mean(0) for k in range(5)])
        for band, (lo, hi) in {"delta": (0.5, 2), "alpha": (8, 12), "sigma": (12.5, 14.5)}.items()
    }
    w, n1, n2, n3, rem = range(5)
    assert np.argmax(power["alpha"][:, oz]) == w  # posterior alpha in wake
    assert np.argmax(power["delta"][:, cz]) == n3  # slow waves in N3
    assert power["sigma"][n2, cz] > 1.5 * max(power["sigma"][n1, cz], power["sigma"][rem, cz])  # spindles in N2


def test_subject_frequency_shift_moves_the_alpha_peak():
    def peak(shift):
        d = simulate_sleep(SleepSubject(freq_shift=shift, prior=(3, 0, 0, 0, 0)), n_sequences=6, seed=0)
        psd, f = psd_array_welch(d.x[d.y == 0, 2].astype(float), 50.0, fmin=6, fmax=14, n_fft=200, verbose=False)
        return f[np.argmax(psd.mean(0))]

    assert peak(1.0) - peak(-1.0) > 1.0
    strong = random_sleep_subject(5, shift=1.0, strong=True)
    assert abs(strong.freq_shift) >= 0.6 and abs(np.log(strong.gain)) >= 0.4
