"""Augmentation transforms: each does what it says, measured on the signal."""

from __future__ import annotations

import numpy as np
import pytest

from clinivox.train.augment import (
    AddNoise,
    Reverb,
    SpecAugment,
    SpeedPerturb,
    change_speed,
    convolve_rir,
    mix_at_snr,
    telephone_band,
)

SR = 16_000


def tone(freq: float, seconds: float, amp: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def power(x):
    return float(np.mean(np.square(x, dtype=np.float64)))


@pytest.mark.parametrize("snr_db", [5.0, 10.0, 20.0])
def test_mixed_snr_is_within_half_a_db_of_the_request(snr_db):
    rng = np.random.default_rng(0)
    speech = tone(440, 2.0) + tone(1300, 2.0, 0.05)
    noise = rng.normal(0, 0.3, SR // 2).astype(np.float32)  # shorter: looped
    mixed = mix_at_snr(speech, noise, snr_db, rng)
    assert mixed.shape == speech.shape and mixed.dtype == np.float32
    measured = 10 * np.log10(power(speech) / power(mixed - speech))
    assert abs(measured - snr_db) <= 0.5


def test_a_loud_mix_is_scaled_down_together_keeping_the_snr():
    rng = np.random.default_rng(1)
    speech = tone(300, 1.0, amp=0.9)
    mixed = mix_at_snr(speech, rng.normal(0, 1, SR).astype(np.float32), 5.0, rng)
    assert np.max(np.abs(mixed)) <= 0.99 + 1e-6
    scale = float(np.dot(mixed, speech) / np.dot(speech, speech))  # noise is uncorrelated
    measured = 10 * np.log10(power(scale * speech) / power(mixed - scale * speech))
    assert abs(measured - 5.0) <= 0.5


def test_add_noise_draws_snr_in_range_and_refuses_no_noise():
    rng = np.random.default_rng(2)
    speech = tone(500, 1.0)
    aug = AddNoise([rng.normal(0, 0.1, SR).astype(np.float32)], 5.0, 20.0)
    for _ in range(5):
        out = aug(speech, rng)
        snr = 10 * np.log10(power(speech) / power(out - speech))
        assert 4.5 <= snr <= 20.5
    with pytest.raises(ValueError):
        AddNoise([])
    with pytest.raises(ValueError, match="silent"):
        mix_at_snr(speech, np.zeros(100, np.float32), 10.0)


@pytest.mark.parametrize("factor", [0.8, 0.9, 1.1, 1.2])
def test_speed_changes_the_duration_as_asked(factor):
    x = tone(440, 3.0)
    y = change_speed(x, factor)
    assert abs(y.shape[0] - x.shape[0] / factor) <= 0.002 * x.shape[0]
    # the tone's frequency moves with the speed (resampling, not time stretching)
    spectrum = np.abs(np.fft.rfft(y))
    peak_hz = np.argmax(spectrum) * SR / y.shape[0]
    assert abs(peak_hz - 440 * factor) < 5
    with pytest.raises(ValueError):
        change_speed(x, 3.0)
    out = SpeedPerturb()(x, np.random.default_rng(0))
    assert x.shape[0] / 1.2 - 10 <= out.shape[0] <= x.shape[0] / 0.8 + 10


def test_telephone_band_removes_what_a_phone_line_cannot_carry():
    low, mid, high = tone(100, 1.0), tone(1000, 1.0), tone(6000, 1.0)
    for x, kept in ((low, False), (mid, True), (high, False)):
        y = telephone_band(x, mu_law=False)
        assert y.shape == x.shape
        ratio = power(y[SR // 10:]) / power(x[SR // 10:])
        assert (ratio > 0.5) if kept else (ratio < 0.05), ratio
    assert telephone_band(mid).shape == mid.shape  # with mu-law companding


def test_reverb_keeps_length_level_and_timing():
    x = np.zeros(SR, np.float32)
    x[8000] = 0.5  # a click at 0.5 s
    rir = np.zeros(4000, np.float32)
    rir[100] = 1.0  # direct path after a 100-sample delay
    rir[100:] += (np.random.default_rng(0).normal(0, 0.05, 3900) *
                  np.exp(-np.arange(3900) / 800)).astype(np.float32)
    y = convolve_rir(x, rir)
    assert y.shape == x.shape
    assert int(np.argmax(np.abs(y))) == 8000  # aligned on the direct path
    assert abs(np.sqrt(power(y)) - np.sqrt(power(x))) < 1e-3
    assert np.count_nonzero(np.abs(y[8001:12000]) > 1e-4) > 1000  # a tail
    assert Reverb([rir])(x, np.random.default_rng(0)).shape == x.shape


def test_specaugment_masks_the_configured_bands():
    rng = np.random.default_rng(3)
    feats = rng.normal(0, 1, (80, 300)).astype(np.float32)
    aug = SpecAugment(time_masks=2, time_width=10, freq_masks=1, freq_width=5)
    out = aug(feats, rng)
    assert out.shape == feats.shape and not np.shares_memory(out, feats)
    changed = out != feats
    rows = np.flatnonzero(changed.all(axis=1))
    cols = np.flatnonzero(changed.all(axis=0))
    assert len(rows) <= 5 and len(cols) <= 20
    assert changed.any()
    none = SpecAugment(time_masks=0, freq_masks=0)(feats, rng)
    assert np.array_equal(none, feats)
    # only within the valid (speech) frames
    tail = SpecAugment(time_masks=3, time_width=50, freq_masks=0)(feats, rng, valid_frames=100)
    assert np.array_equal(tail[:, 100:], feats[:, 100:])
