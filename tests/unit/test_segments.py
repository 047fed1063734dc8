"""Cutting segments by their words: at sentence ends (a model that writes a whole window as
one segment) and at speaker changes, with each medical correction kept on the piece that
holds it."""

from __future__ import annotations

import itertools

import numpy as np

from clinivox.asr.segments import MAX_SEGMENT_S, split_by_words, split_long
from clinivox.asr.types import Segment, Word
from clinivox.biasing.rewrites import Correction


def _words(text: str, start: float = 0.0, step: float = 0.8) -> tuple[Word, ...]:
    return tuple(Word(start + i * step, start + i * step + 0.6, " " + w, 0.9)
                 for i, w in enumerate(text.split()))


def _fix(original: str, replacement: str) -> Correction:
    return Correction(original, replacement, 9.0, 0.8, "drug", replacement)


LONG = ("Good morning. What brings you in today? I take salbutamol when I need it. "
        "I will prescribe amoxicillin for a week, and please come back if you get worse.")


def _long_segment(**kw) -> Segment:
    words = _words(LONG)
    return Segment(0, words[0].start_s, words[-1].end_s, LONG, words=words, **kw)


def test_a_long_segment_is_cut_at_its_sentence_ends_with_the_words_timing():
    seg = _long_segment()
    assert seg.end_s - seg.start_s > MAX_SEGMENT_S
    pieces = split_long(seg)
    assert [p.text for p in pieces] == [
        "Good morning.", "What brings you in today?", "I take salbutamol when I need it.",
        "I will prescribe amoxicillin for a week, and please come back if you get worse."]
    assert " ".join(p.text for p in pieces) == LONG  # no word lost or added
    assert pieces[1].start_s == seg.words[2].start_s and pieces[1].end_s == seg.words[6].end_s
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(pieces))


def test_titles_abbreviations_and_lowercase_continuations_are_no_sentence_ends():
    text = ("Dr. Patel saw her on Monday. She takes analgesics, e.g. paracetamol, when the "
            "pain is bad. Mrs. Jones will call at 3.30 tomorrow! OK.")
    words = _words(text)
    seg = Segment(0, 0.0, words[-1].end_s, text, words=words)
    assert [p.text for p in split_long(seg)] == [
        "Dr. Patel saw her on Monday.",
        "She takes analgesics, e.g. paracetamol, when the pain is bad.",
        "Mrs. Jones will call at 3.30 tomorrow!", "OK."]


def test_short_segments_and_segments_without_matching_words_stay_whole():
    short = Segment(0, 0.0, 4.0, "Good morning. Take a seat.", words=_words(
        "Good morning. Take a seat."))
    assert split_long(short) == [short]
    no_words = Segment(0, 0.0, 25.0, LONG)
    assert split_long(no_words) == [no_words]
    # a text rewritten after alignment: cutting by the words would undo the rewrite
    stale = Segment(0, 0.0, 40.0, LONG.replace("salbutamol", "albuterol"), words=_words(LONG))
    assert split_long(stale) == [stale]


def test_each_correction_goes_to_the_piece_that_holds_it():
    """Story: a segment split at speaker changes copied all its corrections onto every
    piece, so the scribe listed "salbutamol -> salbutamol" under the doctor's greeting too,
    and a reviewer saw each machine substitution several times."""
    fixes = (_fix("subutemol", "salbutamol"), _fix("amoxacillin", "amoxicillin"))
    pieces = split_long(_long_segment(corrections=fixes))
    assert [[c.replacement for c in p.corrections] for p in pieces] == [
        [], [], ["salbutamol"], ["amoxicillin"]]


def test_a_correction_no_piece_holds_stays_listed():
    lost = _fix("sell beat and all", "salbutamol inhaler")  # its words fall into two pieces
    seg = _long_segment(corrections=(lost,))
    runs = [list(seg.words[:12]), list(seg.words[12:])]
    pieces = split_by_words(seg, runs, ["A", "B"])
    assert [p.speaker for p in pieces] == ["A", "B"]
    assert sum(len(p.corrections) for p in pieces) == 1


def test_the_same_term_twice_goes_to_each_of_its_pieces_in_order():
    text = "Start amoxicillin today. Stop it if a rash appears. Then restart amoxicillin."
    words = _words(text, step=1.5)
    seg = Segment(0, 0.0, words[-1].end_s, text, words=words,
                  corrections=(_fix("amoxacillin", "amoxicillin"),
                               _fix("a moxicillin", "amoxicillin")))
    pieces = split_long(seg)
    assert [[c.original for c in p.corrections] for p in pieces] == [
        ["amoxacillin"], [], ["a moxicillin"]]


def test_speaker_attribution_keeps_corrections_with_their_words():
    from clinivox.diarize.attribution import attribute_words

    class Turns:
        def speaker_over(self, start_s: float, end_s: float) -> str:
            return "S0" if start_s < 5.0 else "S1"

    fixes = (_fix("subutemol", "salbutamol"),)
    out = attribute_words([_long_segment(corrections=fixes)], Turns())
    assert [p.speaker for p in out] == ["S0", "S1"]
    assert [len(p.corrections) for p in out] == [0, 1]
    assert "salbutamol" in out[1].text


def test_the_clinical_model_gives_sentence_segments_on_a_long_recording(speech):
    """Story: the clinical builds were fine-tuned on one-sentence utterances, and on a
    30 s window of consultation they wrote one 30 s segment (an SRT with one cue, nothing
    for speaker turns to cut at). Real computation: four sentences with pauses."""
    from clinivox import Recognizer

    gap = np.zeros(8000, np.float32)
    order = ("fox", "clinic", "weather", "numbers", "clinic", "fox")
    audio = np.concatenate([x for s in order for x in (speech[s], gap)])
    assert audio.shape[0] / 16_000 > 2 * MAX_SEGMENT_S
    rec = Recognizer("tiny.en-clinical", device="cpu", compute_type="int8")
    segments, _ = rec.transcribe(audio)
    segs = list(segments)
    assert len(segs) >= 3
    assert all(s.end_s - s.start_s <= MAX_SEGMENT_S for s in segs if s.words)
    text = " ".join(s.text for s in segs).lower()
    assert "fox" in text and "clocks" in text and "headache" in text
