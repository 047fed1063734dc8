"""Regression: spellings of one drug are not interchangeable to Whisper.

Scoring only the closest-sounding spelling per span lost amoxicillin. tiny.en writes
"amixicillin"; "amoxycillin" sounds closest, but Whisper scored it 3.6 nats below
"amoxicillin", and ticarcillin won. The REST and scribe tests found it; this is their
consultation. Every spelling is scored, and the best of them counts.
"""

from __future__ import annotations

import numpy as np

from clinivox.testing.synth import silence, synthesize
from tests.unit.test_diarize import shifted_voice


def test_the_best_scored_spelling_of_a_drug_wins(recognizer, biaser):
    audio = np.concatenate([
        synthesize("Good morning, what brings you in today? How long have you been unwell?"),
        silence(0.5),
        shifted_voice(synthesize("I have had a cough and a fever since Sunday. I have diabetes "
                                 "and I take metformin every morning."), 0.78), silence(0.5),
        synthesize("I will prescribe amoxicillin and we will see you next week.")])
    plain = " ".join(s.text for s in recognizer.transcribe(audio)[0])
    segments = list(recognizer.transcribe(audio, biaser=biaser)[0])
    biased = " ".join(s.text for s in segments)
    assert "amoxicillin" not in plain.lower()  # the fixture still needs biasing
    assert "amoxicillin" in biased.lower(), biased
