"""Voices for synthetic speech: the bundled Piper voice with its variation, eSpeak NG and Flite.

A `Voice` is an engine, a voice name and the engine's settings; `speak(voice, text)` returns
16 kHz float32 audio. Piper comes with `clinivox[tts]`; eSpeak NG and Flite are Debian
packages (`apt-get install espeak-ng flite`) and are used when installed. `voice_bank`
draws a seeded set of voices and marks some as held out for validation, so the validation
split is spoken by voices (and voice settings) that training never hears.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from clinivox.errors import ClinivoxError
from clinivox.units import SAMPLE_RATE_HZ


class SynthesisError(ClinivoxError):
    """A TTS engine failed or is missing."""

    exit_code = 6


@dataclass(frozen=True)
class Voice:
    engine: str  # "piper", "espeak-ng", "flite"
    name: str  # engine voice: "en_US-joe-medium", "en-gb+f3", "slt"
    settings: tuple[tuple[str, float], ...] = ()  # engine parameters (sorted pairs)
    split: str = "train"

    @property
    def id(self) -> str:
        tail = ",".join(f"{k}={v:g}" for k, v in self.settings)
        return f"{self.engine}:{self.name}" + (f"[{tail}]" if tail else "")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["settings"] = dict(self.settings)
        d["id"] = self.id
        return d

    def get(self, key: str, default: float) -> float:
        return dict(self.settings).get(key, default)


def engines_available() -> list[str]:
    out = []
    try:
        from clinivox.tts.piper import piper_voice_path

        piper_voice_path()
        import piper  # noqa: F401

        out.append("piper")
    except ImportError:
        pass
    for exe, engine in (("espeak-ng", "espeak-ng"), ("flite", "flite")):
        if shutil.which(exe):
            out.append(engine)
    return out


# Engine voices. eSpeak NG: accent x variant (m1-m7 male, f1-f5 female); Flite: its built-in
# voices (kal is 8 kHz, the others 16 kHz).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")


@dataclass(frozen=True)
class VoiceBankSpec:
    per_engine: int = 12  # voices drawn per installed engine
    validation_share: float = 0.25  # of them held out for the validation split
    seed: int = 0
    engines: tuple[str, ...] | None = None  # None: every installed engine
    validation_only: tuple[str, ...] = field(default=("flite:slt", "espeak-ng:en-gb-scotland"))


def voice_bank(spec: VoiceBankSpec) -> list[Voice]:
    """A seeded set of voices from the installed engines, each marked train or validation.
    Piper contributes several settings of its one voice (speaking rate, generator and
    duration noise); the other engines contribute different speakers and accents."""
    rng = random.Random(spec.seed)
    engines = list(spec.engines) if spec.engines is not None else engines_available()
    voices: list[Voice] = []
    for engine in engines:
        drawn: list[Voice] = []
        settings: tuple[tuple[str, float], ...]
        if engine == "piper":
            for _ in range(spec.per_engine):
                settings = (("length_scale", round(rng.uniform(0.8, 1.25), 2)),
                            ("noise_scale", round(rng.uniform(0.3, 0.9), 2)),
                            ("noise_w", round(rng.uniform(0.3, 1.0), 2)))
                drawn.append(Voice("piper", "en_US-joe-medium", settings))
        elif engine == "espeak-ng":
            combos = [(a, v) for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
            for accent, variant in rng.sample(combos, min(spec.per_engine, len(combos))):
                settings = (("pitch", float(rng.randint(30, 70))),
                            ("speed", float(rng.randint(140, 185))))
                drawn.append(Voice("espeak-ng", f"{accent}+{variant}", settings))
        elif engine == "flite":
            for name in FLITE_VOICES:
                drawn.append(Voice("flite", name, (("stretch", round(rng.uniform(0.9, 1.15),
                                                                      2)),)))
        else:
            raise SynthesisError(f"unknown TTS engine {engine!r}")
        n_val = max(1, round(len(drawn) * spec.validation_share)) if len(drawn) > 1 else 0
        for i, v in enumerate(drawn):
            pinned = any(v.id.startswith(p) for p in spec.validation_only)
            split = "validation" if pinned or i >= len(drawn) - n_val else "train"
            voices.append(Voice(v.engine, v.name, v.settings, split))
    return voices


def piper_session(seed: int) -> Any:
    """A Piper voice whose generator and duration noise start from `seed`: Piper samples
    its noise inside the ONNX graph from a generator seeded when the session is created, so
    the same sequence of calls on a session made after onnxruntime.set_seed(seed) gives the
    same audio."""
    import onnxruntime
    from piper import PiperVoice

    from clinivox.tts.piper import piper_voice_path

    onnxruntime.set_seed(seed)
    return PiperVoice.load(str(piper_voice_path()))


def speak(voice: Voice, text: str, seed: int = 0, session: Any = None) -> np.ndarray:
    """`text` spoken by `voice`: `(samples,) float32` at 16 kHz. For Piper with noise,
    `session` (`piper_session`) is the seeded voice to use; without one, a session seeded
    with `seed` is made for this call alone (about 0.5 s)."""
    if voice.engine == "piper":
        audio, rate = _piper(voice, text, seed, session)
    elif voice.engine in ("espeak-ng", "flite"):
        audio, rate = _command(voice, text)
    else:
        raise SynthesisError(f"unknown TTS engine {voice.engine!r}")
    if rate != SAMPLE_RATE_HZ and audio.size:
        import soxr

        audio = soxr.resample(audio, rate, SAMPLE_RATE_HZ, quality="HQ")
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * (0.7 / peak)  # engines differ by 20 dB; level is augmentation's job
    return audio


def _piper(voice: Voice, text: str, seed: int, session: Any = None
           ) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    from clinivox.tts.piper import load_voice

    cfg = SynthesisConfig(length_scale=voice.get("length_scale", 1.0),
                          noise_scale=voice.get("noise_scale", 0.667),
                          noise_w_scale=voice.get("noise_w", 0.8))
    if cfg.noise_scale or cfg.noise_w_scale:
        tts = session if session is not None else piper_session(seed)
    else:
        tts = load_voice()
    chunks = list(tts.synthesize(text, syn_config=cfg))
    if not chunks:
        return np.zeros(0, np.float32), SAMPLE_RATE_HZ
    return (np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32),
            chunks[0].sample_rate)


def _command(voice: Voice, text: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    exe = shutil.which(voice.engine)
    if exe is None:
        raise SynthesisError(f"{voice.engine} is not installed (apt-get install "
                             f"{voice.engine})")
    fd, wav = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        if voice.engine == "espeak-ng":
            cmd = [exe, "-v", voice.name, "-p", str(int(voice.get("pitch", 50))),
                   "-s", str(int(voice.get("speed", 160))), "-w", wav, "--", text]
        else:
            cmd = [exe, "-voice", voice.name, "--setf",
                   f"duration_stretch={voice.get('stretch', 1.0)}", "-t", text, "-o", wav]
        done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            raise SynthesisError(f"{voice.engine} failed (exit {done.returncode})")
        audio, rate = sf.read(wav, dtype="float32", always_2d=False)
    except subprocess.TimeoutExpired:
        raise SynthesisError(f"{voice.engine} timed out") from None
    finally:
        os.unlink(wav)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    return audio, int(rate)
