"""Loudness normalisation: bring speech to a target RMS level with a capped gain."""

from __future__ import annotations

import numpy as np

EPS = 1e-10


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level in dBFS of `audio: (samples,) float32` (full scale = 1.0)."""
    if audio.size == 0:
        return -float("inf")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, EPS))


def normalize_loudness(audio: np.ndarray, *, target_dbfs: float = -20.0,
                       max_gain_db: float = 30.0, peak_limit: float = 0.99) -> np.ndarray:
    """Scale `audio: (samples,)` to `target_dbfs` RMS, never by more than `max_gain_db`.

    The gain is also limited so that the peak stays under `peak_limit`, which keeps the
    waveform free of clipping. Digital silence is returned unchanged.
    """
    level = rms_dbfs(audio)
    if not np.isfinite(level) or level < -90.0:
        return audio
    gain_db = min(target_dbfs - level, max_gain_db)
    gain = 10.0 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak * gain > peak_limit and peak > 0:
        gain = peak_limit / peak
    return (audio * gain).astype(np.float32, copy=False)
