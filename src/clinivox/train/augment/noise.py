"""Additive real noise at a chosen signal-to-noise ratio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float,
               rng: np.random.Generator | None = None) -> np.ndarray:
    """`speech` plus `noise` scaled so that speech power / noise power is `snr_db`. The
    noise is looped or cut (at a random offset with `rng`) to the speech's length. The mix
    is scaled down together if it would clip, which keeps the SNR."""
    if speech.size == 0:
        return speech.astype(np.float32)
    if noise.size == 0 or _power(noise) == 0.0:
        raise ValueError("noise is empty or silent")
    reps = -(-speech.shape[0] // noise.shape[0]) + 1
    tiled = np.tile(noise, reps)
    start = int(rng.integers(0, noise.shape[0])) if rng is not None else 0
    n = tiled[start:start + speech.shape[0]].astype(np.float64)
    ps = _power(speech)
    if ps == 0.0:
        return speech.astype(np.float32)
    gain = np.sqrt(ps / (_power(n) * 10 ** (snr_db / 10)))
    mixed = speech.astype(np.float64) + gain * n
    peak = float(np.max(np.abs(mixed)))
    if peak > 0.99:
        mixed *= 0.99 / peak
    return mixed.astype(np.float32)


@dataclass
class AddNoise:
    """Mix one of `noises` (16 kHz float32 arrays, e.g. ../shared/data/noise or MUSAN) at an
    SNR drawn uniformly from [min_snr_db, max_snr_db] (the seed's 5-20 dB)."""

    noises: Sequence[np.ndarray]
    min_snr_db: float = 5.0
    max_snr_db: float = 20.0

    def __post_init__(self) -> None:
        if not self.noises:
            raise ValueError("AddNoise needs at least one noise recording")
        if self.min_snr_db > self.max_snr_db:
            raise ValueError("min_snr_db must be <= max_snr_db")

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = self.noises[int(rng.integers(len(self.noises)))]
        snr = float(rng.uniform(self.min_snr_db, self.max_snr_db))
        return mix_at_snr(audio, noise, snr, rng)
