"""Regressions found on real noise recordings during development.

1. Without VAD, tiny.en looped one sentence across timestamped segments ("I'm going to put
   it in the middle." x14): the loop check compared tokens including timestamps.
2. A 0.59-probability VAD blip on background noise produced "Thank you." (no-speech 0.79).
3. Digital silence with VAD off produced "You You".
"""

from __future__ import annotations

import numpy as np

from clinivox.asr.types import TranscribeOptions
from clinivox.testing.synth import silence, white_noise


def test_digital_silence_without_vad(recognizer):
    segments, _ = recognizer.transcribe(silence(35.0), TranscribeOptions(vad=False))
    assert list(segments) == []


def test_noise_without_vad_does_not_loop(recognizer):
    rng = np.random.default_rng(7)
    # brown-ish noise: the kind of rumble that triggered looping output
    x = np.cumsum(rng.standard_normal(60 * 16_000)).astype(np.float32)
    x -= np.convolve(x, np.ones(400) / 400, mode="same")
    x = (0.05 * x / (np.abs(x).max() + 1e-9)).astype(np.float32) + white_noise(60.0, -45.0)
    segments, _ = recognizer.transcribe(x, TranscribeOptions(vad=False))
    texts = [s.text for s in segments]
    # No sentence may repeat more than max_repeat_ngram times.
    assert all(texts.count(t) <= 4 for t in texts)
