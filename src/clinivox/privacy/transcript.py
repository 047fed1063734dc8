"""PHI redaction of a transcript (segment texts and their words) and of its audio (the PHI
words' time spans silenced, from word timestamps)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.asr.types import Segment, word_char_spans
from clinivox.privacy.phi import PhiSpan, redact
from clinivox.units import SAMPLE_RATE_HZ

AUDIO_PAD_S = 0.05  # silence this much either side of a redacted word


@dataclasses.dataclass
class Redaction:
    segments: list[Segment]  # redacted
    spans: list[tuple[int, PhiSpan]]  # (segment id, span in the segment's original text)
    times: list[tuple[float, float]]  # audio time of the redacted words

    @property
    def categories(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, s in self.spans:
            out[s.category] = out.get(s.category, 0) + 1
        return out


def redact_segments(segments: Sequence[Segment], policy: str = "tag",
                    salt: str = "") -> Redaction:
    """Each segment's text redacted; a word inside a PHI span is replaced (the span's
    first word by the replacement, spanning the time of all the span's words; the others
    emptied) and its time kept for the audio."""
    out, spans, times = [], [], []
    for seg in segments:
        seg = _redact_corrections(seg, policy, salt)
        text, found = redact(seg.text, policy, salt)
        if not found:
            out.append(seg)
            continue
        spans += [(seg.id, s) for s in found]
        words: list = []
        shown_at: dict[int, int] = {}  # span -> index of its replacement word
        for w, where in zip(seg.words, word_char_spans(seg.text, [w.word for w in seg.words]),
                            strict=True):
            if where is None:
                words.append(w)
                continue
            at, pos = where
            hit = next((i for i, s in enumerate(found) if at < s.end and pos > s.start), None)
            if hit is None:
                words.append(w)
                continue
            times.append((w.start_s, w.end_s))
            if hit in shown_at:  # "[NAME]" ends where the name's last word ends
                first = words[shown_at[hit]]
                words[shown_at[hit]] = dataclasses.replace(first, end_s=max(first.end_s,
                                                                            w.end_s))
                continue
            shown_at[hit] = len(words)
            words.append(dataclasses.replace(w, word=" [" + found[hit].category + "]"))
        out.append(dataclasses.replace(seg, text=text, words=tuple(words)))
    return Redaction(out, spans, times)


def _redact_corrections(seg: Segment, policy: str, salt: str) -> Segment:
    """A machine substitution keeps what the recogniser wrote (`original`), and that may be
    the PHI the substitution replaced: a surname rewritten into a drug left the name in the
    JSON's `corrections` while the text showed the drug. The original is judged in its
    sentence (the segment with the substitution undone), and replaced by its category's
    tag where a PHI span covers it."""
    from clinivox.privacy.phi import find_phi

    if not seg.corrections:
        return seg
    fixed = []
    for c in seg.corrections:
        at = seg.text.find(c.replacement) if c.replacement else -1
        said = seg.text[:at] + c.original + seg.text[at + len(c.replacement):] if at >= 0 \
            else c.original
        start = at if at >= 0 else 0
        end = start + len(c.original)
        hits = [p for p in find_phi(said) if p.start < end and start < p.end]
        if hits:
            c = dataclasses.replace(c, original=f"[{hits[0].category}]")
        else:
            redacted, found = redact(c.original, policy, salt)
            if found:
                c = dataclasses.replace(c, original=redacted)
        fixed.append(c)
    return dataclasses.replace(seg, corrections=tuple(fixed))


def redact_audio(audio: np.ndarray, times: Sequence[tuple[float, float]],
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """`audio: (samples,) float32` with each time span silenced (padded by AUDIO_PAD_S)."""
    out = np.array(audio, dtype=np.float32, copy=True)
    for start_s, end_s in times:
        a = max(0, int((start_s - AUDIO_PAD_S) * sample_rate_hz))
        b = min(out.shape[0], int((end_s + AUDIO_PAD_S) * sample_rate_hz) + 1)
        out[a:b] = 0.0
    return out


def write_redacted_audio(source: str | Path, times: Sequence[tuple[float, float]],
                         target: Path) -> Path:
    """The source's audio (16 kHz mono) with the PHI spans silenced, as a WAV at `target`,
    readable by its owner only (as the transcripts are) and written whole or not at all.
    A first version left it world-readable (0644) beside 0600 transcripts."""
    import soundfile as sf

    from clinivox.audio.decode import load_audio
    from clinivox.io.writers import write_atomically

    audio = redact_audio(load_audio(source), times)
    target = Path(target)

    def fill(fd: int, tmp: str) -> None:
        os.close(fd)  # soundfile writes into the 0600 file by its name
        sf.write(tmp, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")

    write_atomically(target, fill, suffix=".wav")
    return target


def redact_document(doc: dict, policy: str = "tag", salt: str = "") -> Redaction:
    """A transcript JSON (as `clinivox transcribe` writes it) redacted in place: each
    segment's text, its words (a replacement word spans the PHI words' time, so subtitles
    and a later `--redact-audio` still line up) and its corrections' originals; the other
    fields as they were. A first version dropped the words of every segment with PHI."""
    from clinivox.asr.types import Correction, Word

    def number(v: Any, default: float = 0.0) -> float:
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default

    segments = []
    for i, d in enumerate(doc["segments"]):
        words = tuple(Word(number(w.get("start_s")), number(w.get("end_s")),
                           str(w.get("word", "")), number(w.get("probability"), 1.0))
                      for w in d.get("words") or () if isinstance(w, dict))
        corrections = tuple(
            Correction(str(c.get("original", "")), str(c.get("replacement", "")),
                       number(c.get("score")), number(c.get("similarity")),
                       str(c.get("category", "")), c.get("code"), c.get("verified"))
            for c in d.get("corrections") or () if isinstance(c, dict))
        segments.append(Segment(i, number(d.get("start_s")), number(d.get("end_s")),
                                str(d.get("text", "")), words, corrections=corrections))
    r = redact_segments(segments, policy, salt)
    for d, seg in zip(doc["segments"], r.segments, strict=True):
        d["text"] = seg.text
        if "words" in d:
            d["words"] = seg.to_dict()["words"]
        if "corrections" in d:
            d["corrections"] = [c.to_dict() for c in seg.corrections]
    doc["text"] = " ".join(str(s.get("text", "")).strip() for s in doc["segments"]).strip()
    doc["redaction"] = {"policy": policy, "spans": r.categories}
    return r

