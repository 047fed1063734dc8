"""Synthesise speech with the bundled Piper voice (`clinivox[tts]`) and make test signals."""

from __future__ import annotations

import numpy as np

from clinivox.tts.piper import load_voice
from clinivox.units import SAMPLE_RATE_HZ


def _voice():
    return load_voice()


def synthesize(text: str, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
               length_scale: float | None = None, deterministic: bool = True) -> np.ndarray:
    """Speak `text` with the Piper voice; returns `(samples,) float32` at `sample_rate_hz`.

    deterministic: Piper samples generator and duration noise on every call, so the same
    text gives slightly different audio (and, at the margin, a different transcript) each
    run; fixtures switch the noise off so that tests see the same audio every time."""
    import soxr
    from piper import SynthesisConfig

    voice = _voice()
    syn_config = SynthesisConfig(length_scale=length_scale)
    if deterministic:
        syn_config.noise_scale = 0.0
        syn_config.noise_w_scale = 0.0
    chunks = list(voice.synthesize(text, syn_config=syn_config))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    rate = chunks[0].sample_rate
    if rate != sample_rate_hz:
        audio = soxr.resample(audio, rate, sample_rate_hz, quality="HQ").astype(np.float32)
    return audio


def silence(duration_s: float, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    return np.zeros(int(duration_s * sample_rate_hz), dtype=np.float32)


def white_noise(duration_s: float, level_dbfs: float = -30.0, seed: int = 0,
                sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rms = 10 ** (level_dbfs / 20)
    return (rng.standard_normal(int(duration_s * sample_rate_hz)) * rms).astype(np.float32)


def tone(freq_hz: float, duration_s: float, sample_rate_hz: int = SAMPLE_RATE_HZ,
         amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
