"""Story: the diarization RTTM of a 10-minute consultation had turns under 0.1 s and turns
of one speaker overlapping each other (a second-speaker overlap turn beside that speaker's
own main turn), which RTTM readers count twice. Turns are now merged per speaker and the
frame-noise slivers dropped, in the pipeline's output itself."""

from __future__ import annotations

import itertools

from clinivox.diarize.pipeline import Turn, tidy_turns


def test_tidy_turns_merges_a_speakers_overlapping_turns_and_drops_slivers():
    turns = [Turn(0.0, 2.0, "A"), Turn(1.5, 3.0, "A", overlap=True), Turn(3.0, 4.0, "A"),
             Turn(2.0, 5.0, "B"), Turn(6.0, 6.04, "B"), Turn(4.5, 5.5, "B", overlap=True)]
    out = tidy_turns(turns)
    assert out == [Turn(0.0, 4.0, "A"), Turn(2.0, 5.5, "B")]


def test_pipeline_turns_never_overlap_within_a_speaker():
    import numpy as np

    from clinivox.diarize import Diarizer
    from clinivox.testing.synth import silence, synthesize
    from tests.unit.test_diarize import LINES_A, LINES_B, shifted_voice

    parts = []
    for a, b in zip(LINES_A[:2], LINES_B[:2], strict=True):
        parts += [synthesize(a), silence(0.3), shifted_voice(synthesize(b), 0.78),
                  silence(0.3)]
    result = Diarizer()(np.concatenate(parts))
    for speaker in result.speakers:
        own = sorted((t for t in result.turns if t.speaker == speaker),
                     key=lambda t: t.start_s)
        assert all(a.end_s < b.start_s for a, b in itertools.pairwise(own))
    assert all(t.duration_s >= 0.1 for t in result.turns)
