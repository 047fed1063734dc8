"""Speaker-attributed transcripts: words take the speaker diarization heard at their time,
segments split where the speaker changes, and speakers get a role from what they say."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence

from clinivox.asr.segments import split_by_words
from clinivox.asr.types import Segment, Word
from clinivox.diarize.pipeline import Diarization

ROLES = ("clinician", "patient", "other")

_QUESTION = re.compile(r"\?\s*$|^(?:how|what|when|where|why|which|who|do|does|did|are|is|have|"
                       r"has|can|could|would|any)\b", re.I)
_INSTRUCTION = re.compile(
    r"\b(?:i'?d like you to|i'?ll (?:prescribe|refer|arrange|send|examine|check|listen)|"
    r"we'?ll|i'?m going to|let me|let's|i recommend|i'd recommend|you should|make sure|"
    r"take (?:one|two|a|the)|prescrib\w*|refer\w*|follow[- ]up|come back|book|arrange|"
    r"examin\w*|blood tests?|diagnos\w*|advise|safety net)\b", re.I)
_PATIENT = re.compile(r"\b(?:i'?ve (?:been|had|got)|i have|i had|i feel|i'm feeling|my "
                      r"(?:\w+ )?(?:hurts|pain|chest|head|stomach|back|leg|arm)|it hurts|"
                      r"i can'?t|i've noticed|i get|i was|started (?:a|about|last))\b", re.I)


def attribute_words(segments: Sequence[Segment], diarization: Diarization) -> list[Segment]:
    """Give each word the speaker diarization found over its time span; a segment whose
    words change speaker is split there. Segments without words take the majority speaker
    over their span."""
    out: list[Segment] = []
    for seg in segments:
        if not seg.words:
            out.append(dataclasses.replace(
                seg, speaker=diarization.speaker_over(seg.start_s, seg.end_s)))
            continue
        speakers = [diarization.speaker_over(w.start_s, w.end_s) for w in seg.words]
        _smooth(speakers, seg.words)
        turns = [(spk, [w for w, _ in run]) for spk, run in
                 itertools.groupby(zip(seg.words, speakers, strict=True), key=lambda x: x[1])]
        out.extend(split_by_words(seg, [ws for _, ws in turns], [spk for spk, _ in turns]))
    return [dataclasses.replace(s, id=i) for i, s in enumerate(out)]


def _smooth(speakers: list[str | None], words: Sequence[Word]) -> None:
    """A single short word between two words of another speaker is that speaker's: word
    timestamps are ~0.1 s accurate, turns are not that short."""
    for i in range(1, len(speakers) - 1):
        if speakers[i - 1] == speakers[i + 1] != speakers[i] \
                and words[i].end_s - words[i].start_s < 0.5:
            speakers[i] = speakers[i - 1]


def infer_roles(segments: Sequence[Segment], term_counter=None) -> dict[str, str]:
    """speaker -> clinician / patient / other, from questions, instructions and medical
    terms (clinician) and first-person symptom statements (patient)."""
    stats: dict[str, dict[str, float]] = {}
    for s in segments:
        if s.speaker is None:
            continue
        st = stats.setdefault(s.speaker, {"q": 0, "instr": 0, "terms": 0, "pat": 0, "words": 0,
                                          "turns": 0})
        st["turns"] += 1
        st["words"] += len(s.text.split())
        for sentence in re.split(r"(?<=[.?!])\s+", s.text):
            st["q"] += bool(_QUESTION.search(sentence.strip()))
        st["instr"] += len(_INSTRUCTION.findall(s.text))
        st["pat"] += len(_PATIENT.findall(s.text))
        if term_counter is not None:
            st["terms"] += term_counter(s.text)
    if not stats:
        return {}
    score = {spk: (st["q"] + 1.5 * st["instr"] + 0.5 * st["terms"] - 1.5 * st["pat"])
             / max(1.0, st["turns"]) for spk, st in stats.items()}
    roles = dict.fromkeys(stats, "other")
    if len(stats) == 1:
        spk = next(iter(stats))
        roles[spk] = "clinician" if score[spk] > 0.3 else "patient" if score[spk] < 0 else "other"
        return roles
    ranked = sorted(score, key=score.__getitem__, reverse=True)
    roles[ranked[0]] = "clinician"
    # the patient: the speaker with most first-person symptom talk, else the one who talks
    # most of the rest
    rest = ranked[1:]
    patient = max(rest, key=lambda s: (stats[s]["pat"], stats[s]["words"]))
    roles[patient] = "patient"
    return roles
