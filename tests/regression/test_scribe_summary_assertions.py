"""Story: a run tried as a new user would found the scribe summary wrong in four ways: it
listed "chest pain" from "he denies any chest pain", "Neurofibromatosis" as a diagnosis from
"My brother had neurofibromatosis", "Acute lymphoblastic leukemia [ALL], C91.0" from "they
all call me a Yankee", and an empty plan when the audio said "give adrenaline now". The
summary now reads the NLU's assertions (one implementation for entities and context)."""

from __future__ import annotations

from clinivox.asr.types import Segment
from clinivox.scribe.record import build_record


def test_summary_keeps_only_what_the_patient_has():
    lines = [("S0", "Good morning, what brings you in today?"),
             ("S1", "I have had a cough and a fever since Sunday."),
             ("S0", "Any chest pain?"),
             ("S1", "No, he denies any chest pain. My brother had neurofibromatosis."),
             ("S1", "They all call me a Yankee at work."),
             ("S0", "Give adrenaline now.")]
    segs = [Segment(i, 2.0 * i, 2.0 * i + 1.5, t, speaker=s) for i, (s, t) in enumerate(lines)]
    rec = build_record(segs, {"S0": "clinician", "S1": "patient"}, duration_s=12.0)
    s = rec.summary
    assert s["symptoms"] == ["cough", "fever"]
    assert "chest pain" in s["denied"] and "chest pain" not in s["symptoms"]
    assert s["diagnoses"] == []  # neither neurofibromatosis nor ALL
    assert s["family_history"] == ["Neurofibromatosis (nonmalignant)"]
    assert "Give adrenaline now." in s["plan"]
    assert s["medications"] == ["adrenaline"]
