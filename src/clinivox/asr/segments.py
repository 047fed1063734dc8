"""Splitting a transcript segment into pieces by its words: at speaker changes (diarization)
and at sentence ends when a model wrote a whole window as one segment.

Whisper writes a timestamp between sentences, so its segments are about a sentence long. A
model fine-tuned on one-sentence utterances (the clinical builds) learned to write one
segment per utterance, and on a 30 s window of consultation it writes one 30 s segment:
subtitles, speaker turns and the scribe's chapters then have nothing to cut at. Word
timestamps still hold the timing, so a long segment is cut at its sentence ends.

A piece keeps the medical corrections whose replacement it holds (each correction goes to
one piece, in order); a correction no piece holds (its words cut apart) goes with the one
before it (the first piece, for the first), so every machine substitution remains listed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from clinivox.asr.types import Segment, Word

# A segment longer than this is cut at its sentence ends. Whisper's own segments are rarely
# longer (it writes a timestamp about every sentence); subtitle cues are shorter still.
MAX_SEGMENT_S = 10.0
_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
# a full stop that ends a title or a Latin abbreviation, not a sentence ("Dr. Patel")
_ABBREVIATIONS = frozenset({"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "vs.", "e.g.", "i.e.",
                            "approx.", "fig.", "mt."})


def piece(seg: Segment, words: Sequence[Word], speaker: str | None = None) -> Segment:
    """The part of `seg` that `words` (a run of its words) cover, without corrections
    (`split_by_words` gives each piece its own)."""
    text = "".join(w.word for w in words).strip()
    return dataclasses.replace(seg, start_s=words[0].start_s, end_s=words[-1].end_s,
                               text=text, words=tuple(words),
                               speaker=seg.speaker if speaker is None else speaker,
                               corrections=())


def split_by_words(seg: Segment, runs: Sequence[Sequence[Word]],
                   speakers: Sequence[str | None] | None = None) -> list[Segment]:
    """`seg` cut into one piece per run of its words (in order, together all of them), each
    with the corrections whose replacement its text holds."""
    if len(runs) <= 1:
        if speakers:
            return [dataclasses.replace(seg, speaker=speakers[0])]
        return [seg]
    pieces = [piece(seg, run, None if speakers is None else speakers[i])
              for i, run in enumerate(runs)]
    owned: list[list] = [[] for _ in pieces]
    used = [0] * len(pieces)
    at = 0
    for c in seg.corrections:
        target = None
        for i in range(at, len(pieces)):
            n = _occurrences(pieces[i].text, c.replacement)
            if n > used[i]:
                target = i
                break
        if target is None:  # split across pieces, or not in the words: keep it visible
            target = at
        else:
            used[target] += 1
            at = target
        owned[target].append(c)
    return [dataclasses.replace(p, corrections=tuple(cs)) for p, cs in zip(pieces, owned,
                                                                            strict=True)]


def _occurrences(text: str, term: str) -> int:
    if not term:
        return 0
    return len(re.findall(r"(?<!\w)" + re.escape(term.lower()) + r"(?!\w)", text.lower()))


def sentence_runs(words: Sequence[Word]) -> list[list[Word]]:
    """`words` cut after each word that ends a sentence (`_ends_sentence`)."""
    runs: list[list[Word]] = [[]]
    for i, w in enumerate(words):
        runs[-1].append(w)
        if i + 1 < len(words) and _ends_sentence(w.word.strip(), words[i + 1].word.strip()):
            runs.append([])
    return [r for r in runs if r]


def _ends_sentence(word: str, following: str) -> bool:
    """`word` ends a sentence: it ends with ., ? or ! and is no abbreviation, and the next
    word starts as a sentence does (Whisper capitalises them), not "e.g. paracetamol"."""
    if not _SENTENCE_END.search(word) or word.lower() in _ABBREVIATIONS:
        return False
    first = following.lstrip("\"'(")[:1]
    return first.isupper() or first.isdigit()


def split_long(seg: Segment, max_s: float = MAX_SEGMENT_S) -> list[Segment]:
    """A segment longer than `max_s` with word timestamps, cut at its sentence ends; any
    other segment as it is."""
    if not seg.words or seg.end_s - seg.start_s <= max_s:
        return [seg]
    if " ".join("".join(w.word for w in seg.words).split()) != " ".join(seg.text.split()):
        return [seg]  # words that do not spell the text: cutting by them would change it
    return split_by_words(seg, sentence_runs(seg.words))
