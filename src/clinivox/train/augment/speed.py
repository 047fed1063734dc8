"""Speed perturbation (Kaldi style): resampling changes tempo and pitch together."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinivox.units import SAMPLE_RATE_HZ


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """`audio` played `factor` times faster: its duration becomes duration / factor."""
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"speed factor must be within [0.5, 2.0], got {factor}")
    if factor == 1.0 or audio.size == 0:
        return audio.astype(np.float32)
    import soxr

    # Read at rate*factor, written at rate: n samples become n / factor.
    out = soxr.resample(audio.astype(np.float32), SAMPLE_RATE_HZ * factor, SAMPLE_RATE_HZ,
                        quality="HQ")
    return np.asarray(out, dtype=np.float32)


@dataclass
class SpeedPerturb:
    """A speed factor drawn uniformly from [min_factor, max_factor] (the seed's 0.8-1.2)."""

    min_factor: float = 0.8
    max_factor: float = 1.2

    def __post_init__(self) -> None:
        if not 0.5 <= self.min_factor <= self.max_factor <= 2.0:
            raise ValueError("speed factors must satisfy 0.5 <= min <= max <= 2.0")

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return change_speed(audio, float(rng.uniform(self.min_factor, self.max_factor)))
