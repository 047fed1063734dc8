"""Plain faster-whisper, the baseline every benchmark runs beside clinivox."""

from __future__ import annotations

import os

from clinivox.asr.engines.whisper_ct2 import pick_device
from clinivox.asr.models import resolve_model


class PlainFasterWhisper:
    """`faster_whisper.WhisperModel.transcribe` with its defaults (beam 5, sequential)."""

    name = "faster-whisper (plain, sequential)"

    def __init__(self, model: str | None = None, *, device: str = "auto",
                 compute_type: str = "auto", cpu_threads: int = 0) -> None:
        from faster_whisper import WhisperModel

        ref = resolve_model(model)
        self.device, self.compute_type = pick_device(device, compute_type)
        self.model = WhisperModel(str(ref.path), device=self.device,
                                  compute_type=self.compute_type,
                                  cpu_threads=cpu_threads or (os.cpu_count() or 1))

    def transcribe_text(self, audio, language: str | None = None) -> str:
        segments, _ = self.model.transcribe(audio, beam_size=5, language=language)
        return " ".join(s.text.strip() for s in segments).strip()
