from __future__ import annotations

import json

import pytest

from clinivox.asr.types import Segment, Word
from clinivox.errors import OutputError
from clinivox.io.writers import check_output_dir, to_srt, to_vtt, transcript_dict, write_outputs

SEGS = [Segment(0, 0.0, 1.5, "Hello there.", (Word(0.0, 0.6, " Hello", 0.9),
                                              Word(0.6, 1.5, " there.", 0.8))),
        Segment(1, 3661.25, 3662.0, "Bye.")]


def test_srt_and_vtt_timestamps():
    srt = to_srt(SEGS)
    assert "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n" in srt
    assert "01:01:01,250 --> 01:01:02,000" in srt
    assert to_vtt(SEGS).startswith("WEBVTT\n") and "01:01:01.250 --> 01:01:02.000" in to_vtt(SEGS)


def test_json_document_schema(tmp_path):
    doc = transcript_dict(SEGS, language="en", duration_s=3662.0)
    write_outputs(tmp_path, "x", ["json"], SEGS, doc)
    loaded = json.loads((tmp_path / "x.json").read_text())
    assert set(loaded) >= {"text", "language", "duration_s", "segments"}
    seg = loaded["segments"][0]
    assert set(seg) >= {"start_s", "end_s", "text", "words"}
    assert set(seg["words"][0]) == {"start_s", "end_s", "word", "probability"}


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="not writable"):
        check_output_dir(blocker / "out")
