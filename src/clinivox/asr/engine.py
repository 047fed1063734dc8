"""The engine protocol: what the recognizer, the server's scheduler and decode hooks need
of an ASR engine, and the chunk results engines return.

An engine decodes batches of speech chunks (each at most 30 s, 16 kHz float32) into
`ChunkResult`s with chunk-relative times. `Recognizer` does everything around it (decoding
files, VAD, packing chunks, mapping times back to the file), so a new engine (CTC on ONNX,
a fine-tuned Whisper export) implements `Engine` and plugs in with
`Recognizer.from_engine(engine)` without touching the biasing hook, the CLI or the server.

A `DecodeHook` (the medical biaser) runs inside `decode_batch`, after the first decode of a
batch and before word alignment. It reads the engine through `RescoringEngine` (teacher-
forced scores of other transcripts, a re-decode from a forced prefix) and returns the
chunks' results, edited copies where it changed something: it never edits the engine's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from clinivox.asr.types import TranscribeOptions


@dataclass
class ChunkWord:
    start_s: float  # chunk-relative
    end_s: float
    word: str
    probability: float


@dataclass
class ChunkSegment:
    start_s: float  # chunk-relative, from timestamp tokens (refined by words)
    end_s: float
    text: str
    tokens: list[int]
    words: list[ChunkWord] = field(default_factory=list)
    corrections: list = field(default_factory=list)  # medical term corrections applied


@dataclass
class ChunkResult:
    segments: list[ChunkSegment]
    language: str | None
    language_probability: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    alternatives: list[str] = field(default_factory=list)  # the beam's other hypotheses
    hypotheses: list[list[int]] = field(default_factory=list)  # the beam's tokens, best first
    # with a language asked of a multilingual model: what detection heard (code, probability)
    detected_language: tuple[str, float] | None = None
    # decoded again by the general model of a clinical build (`MedicalBiaser.general_fallback`)
    general: bool = False


@runtime_checkable
class DecodeHook(Protocol):
    """Runs on each decoded batch before word alignment (`clinivox.biasing.MedicalBiaser`)."""

    @property
    def n_best(self) -> int:
        """Beam hypotheses the engine should keep per chunk (1: the best only)."""
        ...

    @property
    def prompt(self) -> str | None:
        """A prompt to decode with where the user gave none, or None."""
        ...

    def apply(self, engine: Any, encoded: Any, chunks: list[np.ndarray],
              results: list[ChunkResult], options: TranscribeOptions) -> list[ChunkResult]:
        """The batch's results after the hook: `results[i]` itself where unchanged, an
        edited copy where changed. `encoded`: the engine's encoder output for `chunks`."""
        ...


@runtime_checkable
class Engine(Protocol):
    """Decodes batches of speech chunks. Calls are serialised by the caller."""

    multilingual: bool  # False: English only
    device: str  # "cpu" or "cuda"
    compute_type: str

    @property
    def model_name(self) -> str: ...

    def decode_batch(self, chunks: list[np.ndarray], options: TranscribeOptions,
                     biaser: DecodeHook | None = None) -> list[ChunkResult]:
        """`chunks`: each `(samples,) float32` at 16 kHz, at most 30 s."""
        ...


@runtime_checkable
class RescoringEngine(Engine, Protocol):
    """An engine a decode hook can rescore with (Whisper's teacher-forced decoder)."""

    hf_tokenizer: Any  # a `tokenizers.Tokenizer`

    def tokenizer(self, language: str | None, task: str) -> Any: ...

    def token_logprobs(self, encoder_row: np.ndarray, n_samples: int, language: str | None,
                       task: str, rows: list[list[int]], prompt: list[int] | None = None,
                       positions: bool = False,
                       want: list[list[tuple[int, int]]] | None = None,
                       trunk: list[int] | None = None) -> list:
        """Log-probability of each token of each row given `encoder_row: (frames, d)`."""
        ...

    def continue_text(self, encoder_row: np.ndarray, language: str | None, task: str,
                      prefix: list[int], max_new: int, prompt: list[int] | None = None,
                      beam_size: int = 1) -> tuple[list[int], bool]:
        """Tokens decoded after a forced `prefix`, and whether decoding ended by itself."""
        ...

    def split(self, tokens: list[int], tok: Any, duration_s: float) -> list[ChunkSegment]:
        """A decoded token sequence cut into segments at its timestamp tokens."""
        ...
