"""Recognition: options, results and the Recognizer entry point."""

from clinivox.asr.types import Segment, TranscribeOptions, VadOptions, Word

__all__ = ["Recognizer", "Segment", "TranscribeOptions", "TranscriptionInfo", "VadOptions", "Word"]


def __getattr__(name: str):
    if name in ("Recognizer", "TranscriptionInfo"):
        from clinivox.asr import recognizer

        return getattr(recognizer, name)
    raise AttributeError(name)
