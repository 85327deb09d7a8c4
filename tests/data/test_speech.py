"""Speech data: espeak-ng synthesis and its cache, noise at a given SNR, the torch-only log-mel front end."""

import math

import numpy as np
import pytest
import torch

from trustmap.data import speech
from trustmap.errors import DataError


def test_synthesis_is_real_audio_cached_by_text_and_voice(tmp_path):
    wav = speech.synthesize("the film is good", speech.Voice("en-us", 170, 50), cache_dir=tmp_path)
    assert wav.dtype == np.float32 and wav.ndim == 1 and 0.5 * speech.SAMPLE_RATE < len(wav) < 3 * speech.SAMPLE_RATE
    assert 0.01 < np.abs(wav).max() <= 1.0
    files = list(tmp_path.glob("*.wav"))
    assert len(files) == 1
    again = speech.synthesize("the  film is good", speech.Voice("en-us", 170, 50), cache_dir=tmp_path)
    assert np.array_equal(wav, again) and len(list(tmp_path.glob("*.wav"))) == 1  # same text: read from the cache
    faster = speech.synthesize("the film is good", speech.Voice("en-us", 200, 50), cache_dir=tmp_path)
    assert len(faster) < len(wav)


def test_voices_are_deterministic_per_seed_and_index():
    assert speech.voice_for(3, 7) == speech.voice_for(3, 7)
    voices = {speech.voice_for(0, i) for i in range(40)}
    assert len(voices) > 20 and all(140 <= v.speed <= 200 and 25 <= v.pitch <= 75 for v in voices)


def test_missing_espeak_is_a_one_line_data_error(monkeypatch, tmp_path):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="espeak-ng was not found.*apt-get install espeak-ng") as err:
        speech.synthesize("hello there", cache_dir=tmp_path)
    assert "\n" not in str(err.value)


def test_broken_wav_and_bad_inputs_are_data_errors(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(DataError, match="not a readable WAV"):
        speech.read_wav(bad)
    with pytest.raises(DataError, match="non-empty"):
        speech.synthesize("   ", cache_dir=tmp_path)
    with pytest.raises(DataError, match="unknown noise type"):
        speech.make_noise("rain", 100, seed=0)
    with pytest.raises(DataError, match="at least 512"):
        speech.log_mel(np.zeros(100, np.float32))


@pytest.mark.parametrize("kind", speech.NOISE_TYPES)
def test_noise_is_mixed_at_the_requested_snr(kind, tmp_path):
    clean = torch.sin(torch.arange(8000) * 0.05)
    noise = speech.make_noise(kind, 8000, seed=1, cache_dir=tmp_path)
    assert noise.shape == (8000,) and abs(float(noise.pow(2).mean()) - 1.0) < 1e-3
    noisy = speech.add_noise(clean, noise, snr_db=5.0)
    snr = 10 * math.log10(float(clean.pow(2).mean()) / float((noisy - clean).pow(2).mean()))
    assert abs(snr - 5.0) < 1e-3
    assert torch.equal(noise, speech.make_noise(kind, 8000, seed=1, cache_dir=tmp_path))


def test_mel_filterbank_and_log_mel_put_a_tone_in_its_band():
    fb = speech.mel_filterbank(n_fft=512, n_mels=40)
    assert fb.shape == (40, 257) and fb.min() >= 0 and torch.all(fb.max(1).values > 0.5)
    centres = fb.argmax(1)
    assert torch.all(centres[1:] >= centres[:-1])  # filters ordered by frequency
    t = torch.arange(speech.SAMPLE_RATE) / speech.SAMPLE_RATE
    feats = speech.log_mel(torch.sin(2 * math.pi * 1000 * t))
    assert feats.shape == (speech.SAMPLE_RATE // 220 + 1, 40)
    band = int(feats.mean(0).argmax())
    hz = centres[band] * speech.SAMPLE_RATE / 512
    assert 800 < hz < 1200


def test_rt_phrases_are_in_vocabulary_runs_of_four_to_six_words():
    phrases, vocab = speech.rt_phrases("dev")
    assert len(vocab) == 100 and "the" in vocab and len(phrases) > 50
    known = set(vocab)
    assert all(4 <= len(p.split()) <= 6 and set(p.split()) <= known for p in phrases)
    with pytest.raises(DataError, match="unknown split"):
        speech.rt_phrases("validation")
