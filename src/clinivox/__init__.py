"""clinivox: speech recognition for clinical voice work.

`import clinivox` stays light: heavy modules (CTranslate2, onnxruntime) load on first use.
"""

from clinivox.asr.types import Segment, TranscribeOptions, VadOptions, Word
from clinivox.errors import ClinivoxError

__version__ = "0.1.0"
__all__ = ["ClinivoxError", "Recognizer", "Segment", "TranscribeOptions", "TranscriptionInfo",
           "VadOptions", "Word", "__version__"]


def __getattr__(name: str):
    if name in ("Recognizer", "TranscriptionInfo"):
        from clinivox.asr import recognizer

        return getattr(recognizer, name)
    raise AttributeError(name)
