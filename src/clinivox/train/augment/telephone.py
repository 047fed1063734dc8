"""Telephone channel: band-limited to 300-3400 Hz through an 8 kHz round trip, with
optional mu-law companding, as a call-centre or phone-dictation line delivers speech."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinivox.units import SAMPLE_RATE_HZ

TELEPHONE_RATE_HZ = 8_000


def _mu_law(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round((y + 1) / 2 * mu) / mu * 2 - 1  # 8-bit code
    return np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu


def telephone_band(audio: np.ndarray, mu_law: bool = True) -> np.ndarray:
    """`audio` as heard through a narrowband phone line, back at 16 kHz."""
    if audio.size == 0:
        return audio.astype(np.float32)
    import soxr
    from scipy.signal import butter, sosfilt

    narrow = soxr.resample(audio.astype(np.float32), SAMPLE_RATE_HZ, TELEPHONE_RATE_HZ)
    sos = butter(4, [300, 3400], btype="bandpass", fs=TELEPHONE_RATE_HZ, output="sos")
    narrow = sosfilt(sos, narrow)
    if mu_law:
        narrow = _mu_law(np.clip(narrow, -1.0, 1.0))
    wide = soxr.resample(narrow.astype(np.float32), TELEPHONE_RATE_HZ, SAMPLE_RATE_HZ)
    out = np.zeros(audio.shape[0], dtype=np.float32)
    n = min(out.shape[0], wide.shape[0])
    out[:n] = wide[:n]
    return out


@dataclass
class TelephoneBand:
    mu_law: bool = True

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return telephone_band(audio, self.mu_law)
