"""Story: a run tried as a new user would found CLI flags that silently gave wrong output.

- `--output-format json|srt|vtt` without `--output-dir` printed plain text.
- `--by-channel` without `--diarize` down-mixed a stereo call (each side over the other).
- `-v` did nothing, though the README said it logs progress.
- Subtitles of a long file had lines of 394 characters, cues of 30.5 s, zero-length cues,
  and `--split-channels` srt/vtt/txt carried no channel label.
- After `pip install clinivox`, commands whose extra was missing ended in a raw
  ModuleNotFoundError traceback.
- An English-only model asked for `--language zh` answered English "Thank you for
  watching" with `language: en` and exit 0.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import soundfile as sf

from clinivox.asr.types import Segment, Word
from clinivox.cli.main import missing_extra_hint
from clinivox.io.subtitles import SubtitleOptions, cues
from clinivox.io.writers import to_srt, to_txt, to_vtt
from clinivox.testing.synth import silence
from tests.unit.test_cli import assert_clean_failure, cli


@pytest.fixture(scope="module")
def wav(tmp_path_factory, speech):
    p = tmp_path_factory.mktemp("flags") / "visit.wav"
    sf.write(p, np.concatenate([silence(0.5), speech["clinic"], silence(0.5)]), 16_000)
    return p


def test_chosen_format_is_printed_without_output_dir(wav):
    out = cli("transcribe", str(wav), "--output-format", "json", "--quiet")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert "headache" in doc["text"].lower() and doc["segments"][0]["words"]
    srt = cli("transcribe", str(wav), "--output-format", "srt", "--quiet")
    assert srt.stdout.lstrip().startswith("1\n") and "-->" in srt.stdout
    assert_clean_failure(cli("transcribe", str(wav), "--output-format", "all"), 2,
                         "--output-dir")


def test_verbose_logs_progress_without_content(wav):
    out = cli("-v", "transcribe", str(wav), "--quiet")
    assert out.returncode == 0
    assert "transcribing visit.wav" in out.stderr and "done visit.wav" in out.stderr
    assert "headache" not in out.stderr.lower()


def test_by_channel_alone_labels_each_side(tmp_path, speech):
    n = max(speech["fox"].shape[0], speech["clinic"].shape[0]) + 16000
    left, right = np.zeros(2 * n, np.float32), np.zeros(2 * n, np.float32)
    left[8000:8000 + speech["clinic"].shape[0]] = speech["clinic"]
    right[n:n + speech["fox"].shape[0]] = speech["fox"]
    path = tmp_path / "call.wav"
    sf.write(path, np.stack([left, right], axis=1), 16_000)
    out = cli("transcribe", str(path), "--by-channel", "--output-format", "json", "--quiet")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by_speaker = {s["speaker"]: s["text"].lower() for s in doc["segments"]}
    assert "headache" in by_speaker["CHANNEL_0"] and "fox" in by_speaker["CHANNEL_1"]


def test_english_only_model_refuses_another_language(wav):
    assert_clean_failure(cli("transcribe", str(wav), "--language", "zh"), 2, "English-only")
    assert_clean_failure(cli("stream", str(wav), "--language", "de"), 2, "English-only")


def test_missing_extra_gets_a_hint():
    err = ModuleNotFoundError("No module named 'fastapi'", name="fastapi")
    assert "clinivox[serve]" in missing_extra_hint(err)
    assert missing_extra_hint(ModuleNotFoundError("x", name="numpyy")) is None


def _long_segment(n_words: int = 120, start_s: float = 0.0, **kw) -> Segment:
    words = tuple(Word(start_s + 0.25 * i, start_s + 0.25 * i + 0.2, f" word{i}"
                       + ("." if i % 40 == 39 else ""), 0.9) for i in range(n_words))
    return Segment(0, start_s, start_s + 0.25 * n_words, "".join(w.word for w in words)
                   .strip(), words, **kw)


def test_subtitle_cues_are_bounded_and_never_zero_length():
    seg = _long_segment()
    opts = SubtitleOptions(max_line_width=32, max_line_count=2, max_cue_s=6.0)
    out = cues([seg, Segment(1, 40.0, 40.0, "Yes.")], opts)
    assert len(out) > 5
    assert all(len(line) <= 32 for c in out for line in c.lines)
    assert all(len(c.lines) <= 2 for c in out)
    assert all(0 < c.end_s - c.start_s <= 6.0 for c in out)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(out))
    words = " ".join(line for c in out for line in c.lines).split()
    assert words == [*seg.text.split(), "Yes."]  # nothing lost, nothing repeated
    srt = to_srt([seg])
    assert max(len(line) for line in srt.splitlines()) <= 42


def test_split_channel_outputs_carry_the_channel():
    segs = [_long_segment(8, channel=0), _long_segment(8, 3.0, channel=1)]
    assert "CH0: word0" in to_txt(segs) and "CH1: word0" in to_txt(segs)
    assert "CH1: word0" in to_srt(segs) and "<v CH0>" in to_vtt(segs)


def test_medical_runs_the_clinical_model_and_the_record_says_which(wav, tmp_path):
    """`--medical` decodes with the clinical build of the bundled model, `--bundled-model`
    keeps the bundled one, and the JSON names the model that wrote it (a reader of a record
    could not tell before)."""
    for flags, model in (((), "tiny.en"), (("--medical",), "tiny.en-clinical"),
                         (("--medical", "--bundled-model"), "tiny.en")):
        out = cli("transcribe", str(wav), *flags, "--output-format", "json", "--quiet")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["model"] == model, flags
        assert "headache" in doc["text"].lower()


def test_first_medical_run_says_it_builds_caches(monkeypatch, capsys):
    """The first `--medical` run sat silent for about 40 s while it built the lexicon and
    its sound index."""
    import argparse

    import clinivox.biasing as biasing
    import clinivox.medical.vocabulary as vocabulary
    from clinivox.cli.transcribe import medical_biaser

    monkeypatch.setattr(vocabulary, "caches_ready", lambda: False)
    monkeypatch.setattr(biasing, "load_biaser", lambda engine, **kw: "biaser")
    args = argparse.Namespace(medical=True, vocab=[], lexicon=None, lm=None, bias_profile=None)
    assert medical_biaser(args, engine=None) == "biaser"
    assert "building the medical lexicon" in capsys.readouterr().err
