"""Subtitle cues from segments: lines of bounded width, cues of bounded line count and
duration, split on word timestamps (as WhisperX's `--max_line_width/--max_line_count`).

A Whisper segment can run to 30 s and hundreds of characters; shown whole it is unreadable
(a 10-minute consultation gave lines of 394 characters, cues of 30.5 s and zero-length
cues). Here each segment's words are packed into cues greedily: a cue closes when its
words no longer wrap into `max_line_count` lines of `max_line_width` characters, when it
would pass `max_cue_s`, or after a sentence's end once it is half full. Words keep their
times, so a cue starts at its first word and ends at its last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clinivox.asr.types import Segment

MIN_CUE_S = 0.3  # a cue is shown at least this long (unless the next one starts sooner)


@dataclass(frozen=True)
class SubtitleOptions:
    max_line_width: int = 42  # characters per line (a longer single word gets its own line)
    max_line_count: int = 2  # lines per cue
    max_cue_s: float = 7.0  # a cue longer than this is split at a word boundary

    def validate(self) -> None:
        if self.max_line_width < 10:
            raise ValueError(f"max_line_width must be >= 10 characters, got "
                             f"{self.max_line_width}")
        if self.max_line_count < 1:
            raise ValueError(f"max_line_count must be >= 1, got {self.max_line_count}")
        if self.max_cue_s <= 0.5:
            raise ValueError(f"max_cue_s must be > 0.5 s, got {self.max_cue_s}")


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    lines: tuple[str, ...]
    label: str | None = None  # speaker, or the channel of a --split-channels transcript


def wrap(words: Sequence[str], width: int) -> list[str]:
    """Greedy line wrap of whitespace-free words into lines of at most `width` characters."""
    lines: list[str] = []
    line = ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return lines


def label_of(s: Segment) -> str | None:
    if s.speaker:
        return s.speaker
    return f"CH{s.channel}" if s.channel is not None else None


def cues(segments: Sequence[Segment], options: SubtitleOptions | None = None) -> list[Cue]:
    """Subtitle cues for `segments`, in time order, none of zero length."""
    o = options or SubtitleOptions()
    o.validate()
    out: list[Cue] = []
    for s in segments:
        if not s.text.strip():
            continue
        timed = [(w.word.strip(), w.start_s, w.end_s) for w in s.words if w.word.strip()]
        if not timed:  # no word timestamps: spread the text's words over the segment
            words = s.text.split()
            step = (s.end_s - s.start_s) / max(1, len(words))
            timed = [(w, s.start_s + i * step, s.start_s + (i + 1) * step)
                     for i, w in enumerate(words)]
        out.extend(_pack(timed, o, label_of(s)))
    return _fix_durations(out)


def _pack(timed: list[tuple[str, float, float]], o: SubtitleOptions,
          label: str | None) -> list[Cue]:
    result: list[Cue] = []
    cur: list[tuple[str, float, float]] = []
    capacity = o.max_line_width * o.max_line_count

    def close() -> None:
        if cur:
            result.append(Cue(cur[0][1], cur[-1][2],
                              tuple(wrap([w for w, _, _ in cur], o.max_line_width)), label))
            cur.clear()

    for item in timed:
        if cur:
            words = [w for w, _, _ in cur] + [item[0]]
            too_wide = len(wrap(words, o.max_line_width)) > o.max_line_count
            too_long = item[2] - cur[0][1] > o.max_cue_s
            sentence_end = cur[-1][0][-1:] in ".?!" and \
                sum(len(w) + 1 for w, _, _ in cur) >= capacity / 2
            if too_wide or too_long or sentence_end:
                close()
        cur.append(item)
    close()
    return result


def _fix_durations(out: list[Cue]) -> list[Cue]:
    """Cues sorted, each at least MIN_CUE_S long where the next cue leaves room, and never
    overlapping the next (a zero-length cue is invisible in most players)."""
    out.sort(key=lambda c: c.start_s)
    fixed = []
    for i, c in enumerate(out):
        nxt = out[i + 1].start_s if i + 1 < len(out) else None
        end = max(c.end_s, c.start_s + MIN_CUE_S)
        if nxt is not None and end > nxt:
            end = max(nxt, c.end_s)
        if end <= c.start_s:
            end = c.start_s + 0.05
        fixed.append(Cue(c.start_s, end, c.lines, c.label))
    return fixed
