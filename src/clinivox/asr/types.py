"""Options and results of recognition: frozen dataclasses shared by every engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clinivox.audio.vad import VadOptions

COMPUTE_TYPES = ("default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16",
                 "int16", "float16", "bfloat16", "float32")


@dataclass(frozen=True)
class TranscribeOptions:
    """How to decode. Accept a dict at the boundary with `TranscribeOptions.from_dict`."""

    language: str | None = None  # ISO code; None detects it per chunk (multilingual models)
    task: str = "transcribe"  # "transcribe" or "translate" (to English)
    beam_size: int = 5  # beam width; 1 is greedy
    batch_size: int = 8  # VAD chunks decoded together
    patience: float = 1.0  # beam-search patience factor
    length_penalty: float = 1.0  # exponent of the length normalisation
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback schedule
    compression_ratio_threshold: float | None = 2.4  # above this a decode counts as repetitive
    log_prob_threshold: float | None = -1.0  # below this average log-prob a decode is retried
    no_speech_threshold: float | None = 0.6  # with low log-prob, above this the chunk is silence
    repetition_penalty: float = 1.0  # >1 penalises tokens already generated
    no_repeat_ngram_size: int = 0  # forbid repeating n-grams of this size (0: off)
    max_repeat_ngram: int = 4  # guard: a phrase repeated more than this many times is cut
    initial_prompt: str | None = None  # text that conditions every chunk
    word_timestamps: bool = True  # align words with the cross-attention heads
    vad: bool = True  # gate the decoder with VAD (silence and noise give no text)
    vad_options: VadOptions = field(default_factory=VadOptions)
    normalize_loudness: bool = True  # bring each chunk to a target level before features
    target_dbfs: float = -20.0  # RMS level that normalisation aims for
    max_gain_db: float = 30.0  # normalisation never amplifies more than this
    silence_dbfs: float = -60.0  # chunks quieter than this RMS level are silence, not decoded
    suppress_blank: bool = True  # suppress blank outputs at the start of sampling
    prepend_punctuations: str = "\"'“¿([{-"  # punctuation merged into the next word
    append_punctuations: str = "\"'.。,，!！?？:：”)]}、"  # merged into the previous word
    # Encoder window. None: Whisper's full 30 s (what it was trained on). A number: only the
    # audio plus this margin, rounded up to 5 s, is encoded: about 3x cheaper for a few
    # seconds of audio and a few percent less accurate (docs/benchmarks.md); streaming
    # partials use it. A margin under ~5 s makes the decoder loop at the window's end.
    encoder_margin_s: float | None = None
    max_tokens_per_s: float | None = None  # cap on tokens per second of audio (loop guard)

    def validate(self) -> None:
        if self.task not in ("transcribe", "translate"):
            raise ValueError(f"task must be 'transcribe' or 'translate', got {self.task!r}")
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        if not 1 <= self.batch_size <= 256:
            raise ValueError(f"batch_size must be within [1, 256], got {self.batch_size}")
        if not self.temperatures or any(t < 0 for t in self.temperatures):
            raise ValueError("temperatures must be a non-empty sequence of values >= 0")
        if self.max_repeat_ngram < 1:
            raise ValueError("max_repeat_ngram must be >= 1")
        if self.max_gain_db < 0:
            raise ValueError("max_gain_db must be >= 0")
        if self.encoder_margin_s is not None and not 1.0 <= self.encoder_margin_s <= 30.0:
            raise ValueError("encoder_margin_s must be within [1, 30] seconds")
        if self.max_tokens_per_s is not None and self.max_tokens_per_s <= 0:
            raise ValueError("max_tokens_per_s must be > 0")
        self.vad_options.validate()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TranscribeOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown transcribe option(s): {', '.join(unknown)}")
        kwargs = dict(values)
        if isinstance(kwargs.get("vad_options"), Mapping):
            kwargs["vad_options"] = VadOptions(**kwargs["vad_options"])
        if "temperatures" in kwargs:
            t = kwargs["temperatures"]
            kwargs["temperatures"] = (float(t),) if isinstance(t, int | float) else tuple(t)
        opts = cls(**kwargs)
        opts.validate()
        return opts


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    word: str  # with its leading space, as the tokenizer produced it
    probability: float


@dataclass(frozen=True)
class Correction:
    """A medical term correction the medical layer (`clinivox.biasing`) made in a segment:
    what Whisper wrote, the term written instead and why. Defined here, with the segment
    that carries it, so that any layer can read a transcript's corrections."""

    original: str
    replacement: str
    score: float  # the rescoring gain that carried it
    similarity: float
    category: str
    code: str | None
    # the profile's rewrite verifier's probability that the term is right (None: no verifier)
    verified: float | None = None

    def to_dict(self) -> dict:
        return {"original": self.original, "replacement": self.replacement,
                "score": round(self.score, 3), "similarity": round(self.similarity, 3),
                "category": self.category, "code": self.code,
                **({"verified": round(self.verified, 3)} if self.verified is not None else {})}


@dataclass(frozen=True)
class Segment:
    id: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0  # mean token log-probability of the decode it came from
    no_speech_prob: float = 0.0  # probability of no speech in its chunk
    compression_ratio: float = 1.0  # gzip ratio of its text; high means repetitive
    temperature: float = 0.0  # temperature of the accepted decode
    language: str | None = None
    channel: int | None = None  # source channel when channels are transcribed separately
    corrections: tuple[Any, ...] = ()  # medical term corrections (biasing.Correction)
    speaker: str | None = None  # set by speaker attribution (diarization)
    # decoded by the general model of a clinical build (`BiasProfile.general_fallback`)
    general_model: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "text": self.text,
            "words": [
                {"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3), "word": w.word,
                 "probability": round(w.probability, 4)}
                for w in self.words
            ],
            "avg_logprob": round(self.avg_logprob, 4),
            "no_speech_prob": round(self.no_speech_prob, 4),
            "language": self.language,
            **({"channel": self.channel} if self.channel is not None else {}),
            **({"speaker": self.speaker} if self.speaker is not None else {}),
            **({"corrections": [c.to_dict() for c in self.corrections]}
               if self.corrections else {}),
            **({"general_model": True} if self.general_model else {}),
        }


def word_char_spans(text: str, words: Sequence[str]) -> list[tuple[int, int] | None]:
    """Where each word (as the tokenizer wrote it, leading space and all) stands in `text`:
    `(start, end)` character offsets, found left to right, or None for a word the text does
    not hold there (a segment rewritten after alignment). The NLU maps entities to times
    and PHI redaction maps spans to words with it."""
    out: list[tuple[int, int] | None] = []
    pos = 0
    for word in words:
        core = word.strip()
        at = text.find(core, pos) if core else -1
        if at < 0:
            out.append(None)
            continue
        pos = at + len(core)
        out.append((at, pos))
    return out
