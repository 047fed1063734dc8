from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinivox.eval.metrics import edit_counts, error_counts, term_found, term_recall, wer

words = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=12)


@given(words)
def test_identical_is_zero(ref):
    assert edit_counts(ref, ref).errors == 0


@given(words, words)
def test_counts_are_consistent(ref, hyp):
    c = edit_counts(ref, hyp)
    assert c.reference_length == len(ref)
    assert len(hyp) == len(ref) - c.deletions + c.insertions
    assert c.errors <= max(len(ref), len(hyp))


def test_whisper_normaliser_is_applied():
    assert wer("IF THE READER WILL EXCUSE ME", "If the reader will, excuse me.") == 0.0
    assert wer("a b c", "a x c d") == 2 / 3


def test_mandarin_uses_characters_without_punctuation():
    c = error_counts("欢迎大家来体验", "欢迎大家，来体验。", "zh")
    assert c.errors == 0 and c.reference_length == 7


def test_term_boundary_at_start_only():
    assert term_found("apixaban", "started Apixaban today")
    assert term_found("pain", "painful")  # boundary at the start only
    assert not term_found("pain", "spain")
    assert term_recall(["heart failure", "warfarin"], "chronic heart failure") == (1, 2)


def test_term_found_in_the_spelling_wer_is_scored_with():
    # WER counts "diarrhea" right for "diarrhoea" (Whisper's normaliser), so must term recall
    assert wer("your diarrhoea", "your diarrhea") == 0.0
    assert term_found("diarrhoea", "Tell me about your diarrhea.")
    assert term_found("haemorrhage", "a small hemorrhages")
    assert not term_found("diarrhoea", "tell me about your diary")
    assert not term_found("five", "about fifty of them")  # "5" is not found in "50"
    assert not term_found("diarrhoea", "your diarrhea", language="fr")


@pytest.mark.parametrize("reference, heard, value, expected", [
    # what the recogniser wrote for a value, however misheard
    ("My name is Mary O'Connor and I live here.", "My name is married Oconor and I live here.",
     "Mary O'Connor", "married Oconor"),
    ("He came from Leach Infirmary with a fractured hip.",
     "He came from leech and firmery with a fractured hit.", "Leach Infirmary",
     "leech and firmery"),
    # a neighbour misheard in the same run is the neighbour's ("emitted" is "admitted")
    ("Hospital number E624050, admitted with sepsis.",
     "Hospital number E62450, emitted with sepsis.", "E624050", "E62450"),
    ("Hospital number B621405, admitted with sepsis.",
     "Hospital number B-621,405, emitted with sepsis.", "B621405", "B-621,405"),
    ("I live at 12 Oak Road.", "I live at twelve oak road.", "12 Oak Road", "twelve oak road"),
    # dropped by the recogniser: nothing of it was written
    ("My name is Mary O'Connor and I live here.", "My name is and I live here.",
     "Mary O'Connor", None),
])
def test_heard_span_finds_what_was_written_for_a_value(reference, heard, value, expected):
    from clinivox.eval.metrics import heard_span

    at = reference.index(value)
    span = heard_span(reference, heard, at, at + len(value))
    assert (heard[span[0]:span[1]] if span else None) == expected
