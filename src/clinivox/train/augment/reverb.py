"""Room reverberation: convolution with a measured room impulse response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def convolve_rir(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """`audio` convolved with `rir` (aligned on its direct-path peak, so the words keep
    their timing), cut to the input's length, at the input's RMS level."""
    if audio.size == 0:
        return audio.astype(np.float32)
    if rir.size == 0 or not np.any(rir):
        raise ValueError("room impulse response is empty or silent")
    peak = int(np.argmax(np.abs(rir)))
    h = rir[peak:].astype(np.float64) / float(np.abs(rir[peak]))
    from scipy.signal import fftconvolve

    wet = fftconvolve(audio.astype(np.float64), h)[: audio.shape[0]]
    rms_in = np.sqrt(np.mean(np.square(audio, dtype=np.float64)))
    rms_out = np.sqrt(np.mean(np.square(wet)))
    if rms_out > 0:
        wet *= rms_in / rms_out
    peak_out = float(np.max(np.abs(wet)))
    if peak_out > 0.99:
        wet *= 0.99 / peak_out
    return wet.astype(np.float32)


@dataclass
class Reverb:
    """Convolve with one of `rirs` (16 kHz arrays), drawn at random."""

    rirs: Sequence[np.ndarray]

    def __post_init__(self) -> None:
        if not self.rirs:
            raise ValueError("Reverb needs at least one room impulse response")

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return convolve_rir(audio, self.rirs[int(rng.integers(len(self.rirs)))])
