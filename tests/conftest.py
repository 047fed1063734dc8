"""Shared fixtures: the bundled tiny.en model and audio the tests synthesise themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SENTENCES = {
    "fox": "The quick brown fox jumps over the lazy dog.",
    "clinic": "The patient reports a mild headache and a sore throat since Tuesday.",
    "weather": "It was a bright cold day in April, and the clocks were striking thirteen.",
    "numbers": "Please call me back tomorrow morning after nine.",
}


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Derived model files go to a per-run cache, never the user's."""
    os.environ.setdefault("CLINIVOX_HOME", str(tmp_path_factory.mktemp("clinivox_home")))


@pytest.fixture(scope="session")
def speech() -> dict[str, np.ndarray]:
    """Each sentence synthesised by the Piper voice: (samples,) float32 at 16 kHz."""
    from clinivox.testing.synth import synthesize

    return {k: synthesize(v) for k, v in SENTENCES.items()}


@pytest.fixture(scope="session")
def recognizer():
    from clinivox import Recognizer

    return Recognizer("tiny.en", device="cpu", compute_type="int8")


@pytest.fixture(scope="session")
def biaser(recognizer):
    """The full medical biaser (lexicon, sound index, tuned profile; no domain LM in the
    per-run cache) for `recognizer`."""
    from clinivox.biasing import load_biaser

    return load_biaser(recognizer.engine)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory, speech) -> Path:
    """The fox sentence in several formats, rates and layouts."""
    import soundfile as sf
    import soxr

    d = tmp_path_factory.mktemp("audio")
    pad = np.zeros(8000, dtype=np.float32)
    x16 = np.concatenate([pad, speech["fox"], pad])
    for rate in (8_000, 22_050, 44_100, 48_000):
        y = soxr.resample(x16, 16_000, rate).astype(np.float32)
        sf.write(d / f"fox_{rate}.wav", y, rate, subtype="PCM_16")
    y44 = soxr.resample(x16, 16_000, 44_100).astype(np.float32)
    sf.write(d / "fox_44100_stereo.flac", np.stack([y44, 0.5 * y44], axis=1), 44_100)
    sf.write(d / "fox_48000.ogg", soxr.resample(x16, 16_000, 48_000).astype(np.float32),
             48_000, format="OGG", subtype="VORBIS")
    sf.write(d / "fox_24000.mp3", soxr.resample(x16, 16_000, 24_000).astype(np.float32),
             24_000, format="MP3", subtype="MPEG_LAYER_III")
    _write_m4a(d / "fox_32000.m4a", soxr.resample(x16, 16_000, 32_000).astype(np.float32),
               32_000)
    return d


def _write_m4a(path: Path, audio: np.ndarray, rate: int) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        for i in range(0, pcm.shape[0], 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, i:i + 1024], format="s16",
                                               layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def text_of(segments) -> str:
    return " ".join(s.text for s in segments).strip()
