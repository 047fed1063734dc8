"""OpenAI-compatible response bodies for /v1/audio/transcriptions."""

from __future__ import annotations

from clinivox.asr.types import Segment
from clinivox.io.writers import to_srt, to_txt, to_vtt

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


def transcription_body(fmt: str, segments: list[Segment], language: str | None,
                       duration_s: float, granularities: set[str]) -> tuple[object, str]:
    """(body, media type) for an OpenAI `response_format`."""
    text = " ".join(s.text for s in segments).strip()
    if fmt == "text":
        if any(s.speaker for s in segments):
            return to_txt(segments), "text/plain; charset=utf-8"
        return text + "\n", "text/plain; charset=utf-8"
    if fmt == "srt":
        return to_srt(segments), "text/plain; charset=utf-8"
    if fmt == "vtt":
        return to_vtt(segments), "text/vtt; charset=utf-8"
    if fmt == "json":
        return {"text": text}, "application/json"
    body: dict = {"task": "transcribe", "language": language, "duration": round(duration_s, 3),
                  "text": text}
    if "segment" in granularities or not granularities:
        body["segments"] = [
            {"id": s.id, "seek": 0, "start": round(s.start_s, 3), "end": round(s.end_s, 3),
             "text": s.text, "tokens": [], "temperature": s.temperature,
             "avg_logprob": round(s.avg_logprob, 4),
             "compression_ratio": round(s.compression_ratio, 4),
             "no_speech_prob": round(s.no_speech_prob, 4),
             **({"speaker": s.speaker} if s.speaker else {}),
             **({"corrections": [c.to_dict() for c in s.corrections]} if s.corrections else {}),
             **({"general_model": True} if s.general_model else {})}
            for s in segments]
    if "word" in granularities:
        body["words"] = [{"word": w.word.strip(), "start": round(w.start_s, 3),
                          "end": round(w.end_s, 3)} for s in segments for w in s.words]
    return body, "application/json"
