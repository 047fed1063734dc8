"""Hallucination guards: repetition loops, compression ratio, no-speech gating."""

from __future__ import annotations

import zlib
from collections.abc import Sequence


def compression_ratio(text: str) -> float:
    """gzip compression ratio of `text`; above ~2.4 Whisper output is usually a loop."""
    data = text.encode("utf-8")
    if not data:
        return 1.0
    return len(data) / len(zlib.compress(data))


def trim_repetitions(tokens: Sequence[int], max_repeats: int, max_ngram: int = 24,
                     text_below: int | None = None) -> list[int]:
    """Cut a run of an n-gram repeated back to back more than `max_repeats` times.

    Whisper sometimes loops ("thank you. thank you. thank you. ..."). The tokens up to and
    including the `max_repeats`-th occurrence are kept; everything after the loop is dropped,
    because decoding after a loop rarely recovers. With `text_below`, only tokens under that id
    (text, not timestamps) are compared, so a sentence looping across segments is caught.
    """
    if text_below is not None:
        positions = [i for i, t in enumerate(tokens) if t < text_below]
        kept = trim_repetitions([tokens[i] for i in positions], max_repeats, max_ngram)
        if len(kept) == len(positions):
            return list(tokens)
        return list(tokens[:positions[len(kept)]])
    toks = list(tokens)
    n_tok = len(toks)
    # The loop whose (max_repeats+1)-th copy ends first decides the cut: cutting there
    # leaves no complete loop of any n-gram size in the kept prefix.
    best_end, best_cut = None, None
    for n in range(1, min(max_ngram, n_tok // (max_repeats + 1)) + 1):
        for i in range(n_tok - n * (max_repeats + 1) + 1):
            end = i + n * (max_repeats + 1)
            if best_end is not None and end >= best_end:
                break
            gram = toks[i:i + n]
            if all(toks[i + j * n:i + (j + 1) * n] == gram for j in range(1, max_repeats + 1)):
                best_end, best_cut = end, i + n * max_repeats
                break
    return toks if best_cut is None else toks[:best_cut]


def is_silence(no_speech_prob: float, avg_logprob: float, no_speech_threshold: float | None,
               log_prob_threshold: float | None) -> bool:
    """Whisper's rule: high no-speech probability and a low-confidence decode mean silence."""
    if no_speech_threshold is None or no_speech_prob <= no_speech_threshold:
        return False
    return log_prob_threshold is None or avg_logprob < log_prob_threshold


# Phrases Whisper is known to produce on silence and noise (learnt from subtitle credits).
# They are dropped only with evidence that the audio holds no speech.
KNOWN_HALLUCINATIONS = frozenset({
    "you", "thank you", "thank you very much", "thanks for watching",
    "thank you for watching", "thanks for watching and see you next time",
    "see you in the next video", "please subscribe", "bye", "oh", "so", "okay",
    "subtitles by the amara org community", "i m sorry", "music", "applause",
})


def _plain(text: str) -> str:
    return " ".join("".join(ch.lower() if ch.isalnum() else " " for ch in text).split())


def is_hallucination(text: str, no_speech_prob: float, word_probs: Sequence[float] | None,
                     no_speech_threshold: float | None) -> bool:
    """A segment that is one of Whisper's stock silence phrases, or a low-confidence segment
    from a chunk the model itself thinks is silent. Without word probabilities (no word
    timestamps) only the no-speech probability is used."""
    if no_speech_threshold is None:
        return False
    if word_probs is None:
        if _plain(text) in KNOWN_HALLUCINATIONS:
            return no_speech_prob > no_speech_threshold / 2
        return no_speech_prob > no_speech_threshold + 0.2
    mean_p = sum(word_probs) / len(word_probs) if word_probs else 0.0
    if _plain(text) in KNOWN_HALLUCINATIONS and (no_speech_prob > no_speech_threshold / 2
                                                  or mean_p < 0.5):
        return True
    return no_speech_prob > no_speech_threshold and mean_p < 0.4
