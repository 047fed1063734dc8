"""Story (2026-12-07): on a real meeting recording, `--medical` with the clinical model wrote
"I'm Abigail Clofen." for "I'm Abigail Claflin.": the medical layer rewrote the surname the
model heard as "Clafen" into Clofen, a brand of baclofen. A person's name is PHI; a drug
written over it is a wrong drug in the record. The layer now drops every candidate over a
span the PHI detector reads as a person's name, before scoring (and a primed re-decode's
proposals likewise)."""

from __future__ import annotations

from clinivox.biasing.hook import name_words, not_on_names
from clinivox.biasing.rewrites import Rewrite
from clinivox.medical.lexicon import LexiconEntry

CLOFEN = LexiconEntry("clofen", "baclofen", "drug", code="baclofen")
APIXABAN = LexiconEntry("apixaban", "apixaban", "drug", code="apixaban")


def test_a_candidate_over_a_persons_name_is_dropped_and_others_are_kept():
    words = [["I'm", "Abigail", "Clafen.", "You", "can", "call", "me", "Abigail."],
             ["Have", "you", "had", "problems", "since", "starting", "the", "apex", "oven?"]]
    assert name_words(words) == {(0, 1), (0, 2), (0, 7)}
    on_name = Rewrite(0, 2, 3, "Clofen", CLOFEN, 0.9)
    drug = Rewrite(1, 7, 9, "apixaban", APIXABAN, 0.8)
    assert not_on_names(words, [on_name, drug]) == [drug]
    assert not_on_names(words, []) == []


def test_drug_names_and_words_after_a_title_are_told_apart():
    # "Mrs Jones" is a name; the drug in the same sentence is not (privacy never reads a
    # drug as a name), so its rewrite stays
    words = [["Mrs", "Jones", "takes", "lisinoprill", "daily."]]
    names = name_words(words)
    assert (0, 1) in names and (0, 3) not in names
    rw = Rewrite(0, 3, 4, "lisinopril", LexiconEntry("lisinopril", "lisinopril", "drug"), 0.95)
    assert not_on_names(words, [rw]) == [rw]
    # no name at all: nothing to drop
    plain = [["Continue", "Clafen", "ten", "milligrams."]]
    assert name_words(plain) == set()
