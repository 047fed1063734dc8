"""`ChunkContext`: what the biasing stages share while they work on one chunk.

The engine's first decode of the chunk is copied into `result` (the stages edit the copy,
never the engine's result: the hook returns it), with the encoder output row, the options,
and two caches that live exactly as long as the chunk: each segment's confidence (one
teacher-forced pass, read by the screen and the proposals) and the LM's scores by text.
It replaces the scratch state that used to live on the shared biaser object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from clinivox.biasing.knowledge import TermKnowledge
from clinivox.biasing.profile import BiasProfile
from clinivox.medical.lm import NGramLM, classed_tokens
from clinivox.units import FRAMES_PER_S, SAMPLES_PER_FRAME

WINDOW_MARGIN_S = 1.0  # encoder context kept around a segment when rescoring it
MIN_WINDOW_FRAMES = 150


class Confidence(NamedTuple):
    """How sure Whisper was of one segment as written (`ChunkContext.confidence`)."""

    window: np.ndarray  # the segment's encoder frames (`window`)
    at: np.ndarray  # each token's first encoder position in `window`
    ends: list[int]  # tokens of the segment's first k words
    word_lp: list[float]  # each word's mean token log-probability
    base: np.ndarray  # each token's log-probability


@dataclass
class ChunkContext:
    engine: Any  # a `RescoringEngine` (asr.engine)
    encoder_row: np.ndarray  # (frames, d_model) float32: this chunk's encoder output
    n_samples: int  # the chunk's audio length at 16 kHz
    result: Any  # the chunk's `ChunkResult`: a copy the stages edit
    options: Any  # `TranscribeOptions`
    profile: BiasProfile
    knowledge: TermKnowledge
    lm: NGramLM | None
    gate: float  # spans Whisper wrote above this mean log-prob are not rewritten
    conf: dict[int, Confidence] = field(default_factory=dict)
    lm_cache: dict[str, float] = field(default_factory=dict)

    @property
    def language(self) -> str | None:
        return self.result.language

    @property
    def task(self) -> str:
        return self.options.task

    @property
    def tok(self) -> Any:
        return self.engine.tokenizer(self.result.language, self.options.task)

    def gate_tiers(self, group: list[Any], cap: int | None = None) -> list[list[Any]]:
        """The rewrites of `group` worth scoring, in tiers scored apart: those on spans under
        the profile's gate (what a live decode scores), then, when collecting for `tune` (a
        looser `gate`), those between the two. Scored apart, the first tier gets exactly the
        scores a live decode gives it: packing and the cap (`cap` per tier, in `group`'s
        order) are shared only within a tier. Empty tiers are left out."""
        live_gate = self.profile.gate_logprob
        tiers = [[rw for rw in group if rw.span_logprob <= live_gate],
                 [rw for rw in group if live_gate < rw.span_logprob <= self.gate]]
        return [t[:cap] for t in tiers if t]

    def lm_logprob(self, text: str) -> float:
        """The domain LM's log-probability of `text` (0 without an LM), kept for the chunk."""
        if self.lm is None:
            return 0.0
        if text not in self.lm_cache:
            self.lm_cache[text] = self.lm.logprob(classed_tokens(text,
                                                                 self.knowledge.matcher))
        return self.lm_cache[text]

    def confidence(self, s: int, ws: list[str]) -> Confidence:
        """How sure Whisper was of segment `s` (words `ws`) as it wrote it. One
        teacher-forced pass, kept for the chunk: the screen and the proposals both read it."""
        if s in self.conf:
            return self.conf[s]
        tok = self.tok
        base_tokens = tok.encode(" " + " ".join(ws))
        f0, f1 = window(self.result.segments[s], self.encoder_row.shape[0])
        frames, n_samples = self.encoder_row[f0:f1], (f1 - f0) * SAMPLES_PER_FRAME
        base, at = self.engine.token_logprobs(frames, n_samples, self.language, self.task,
                                              [base_tokens], positions=True)[0]
        ends = [len(tok.encode(" " + " ".join(ws[:k]))) for k in range(len(ws) + 1)]
        ends[0] = 0
        word_lp = [float(base[ends[k]:max(ends[k + 1], ends[k] + 1)].mean())
                   if ends[k] < len(base) else 0.0 for k in range(len(ws))]
        self.conf[s] = Confidence(frames, at, ends, word_lp, base)
        return self.conf[s]


def chunk_frames(encoder_row: np.ndarray, n_samples: int) -> int:
    """Encoder frames of a chunk's audio and a second after it: the decoder attends where
    the words are, so the 30 s window's padding can be left out."""
    return min(encoder_row.shape[0],
               -(-n_samples // SAMPLES_PER_FRAME) + int(WINDOW_MARGIN_S * FRAMES_PER_S))


def window(seg: Any, total_frames: int) -> tuple[int, int]:
    """Encoder frames [f0, f1) scored for a segment: its time and a margin either side."""
    f0 = max(0, int((seg.start_s - WINDOW_MARGIN_S) * FRAMES_PER_S))
    f1 = min(total_frames, int((seg.end_s + WINDOW_MARGIN_S) * FRAMES_PER_S) + 1)
    if f1 - f0 < MIN_WINDOW_FRAMES:
        f0, f1 = max(0, f1 - MIN_WINDOW_FRAMES), max(f1, min(total_frames,
                                                              f0 + MIN_WINDOW_FRAMES))
    return f0, f1


def encoder_rows(encoded: Any) -> np.ndarray:
    """The encoder output as a host array (B, frames, d). A CUDA StorageView is copied to
    the host first: numpy cannot read device memory (np.asarray gives a 0-d object)."""
    import ctranslate2

    if getattr(encoded, "device", "cpu") != "cpu":
        encoded = encoded.to_device(ctranslate2.Device.cpu)
    rows = np.asarray(encoded)
    if rows.ndim != 3:
        raise RuntimeError(f"unexpected encoder output shape {rows.shape}")
    return rows
