"""The `clinivox` command, run as a user runs it: a subprocess, exit codes and files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clinivox.eval.metrics import wer
from tests.conftest import SENTENCES


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "clinivox.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def assert_clean_failure(proc: subprocess.CompletedProcess, expected_code: int, message: str):
    assert proc.returncode == expected_code, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


@pytest.fixture(scope="module")
def good_wav(tmp_path_factory, speech) -> Path:
    p = tmp_path_factory.mktemp("good") / "visit.wav"
    sf.write(p, np.concatenate([np.zeros(8000, np.float32), speech["clinic"]]), 16_000)
    return p


def test_transcribe_writes_all_formats_with_the_documented_json(good_wav, tmp_path):
    proc = cli("transcribe", str(good_wav), "--output-dir", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    for ext in ("txt", "json", "srt", "vtt"):
        assert (tmp_path / f"visit.{ext}").is_file()
    doc = json.loads((tmp_path / "visit.json").read_text())
    assert set(doc) >= {"text", "language", "duration_s", "segments"}
    assert doc["language"] == "en"
    assert doc["duration_s"] == pytest.approx(sf.info(good_wav).duration, abs=0.01)
    assert wer(SENTENCES["clinic"], doc["text"]) <= 0.15
    words = [w for s in doc["segments"] for w in s["words"]]
    assert words and set(words[0]) == {"start_s", "end_s", "word", "probability"}
    assert all(0 <= w["start_s"] <= w["end_s"] <= doc["duration_s"] + 0.05 for w in words)


def test_text_goes_to_stdout_without_output_dir(good_wav):
    proc = cli("transcribe", str(good_wav), "--quiet")
    assert proc.returncode == 0
    assert wer(SENTENCES["clinic"], proc.stdout) <= 0.15


def test_bad_file_in_a_batch_is_reported_and_the_rest_continue(good_wav, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_text("not audio at all")
    out = tmp_path / "out"
    proc = cli("transcribe", str(bad), str(good_wav), "--output-dir", str(out),
               "--output-format", "json", "--quiet")
    assert_clean_failure(proc, 3, "broken.wav")
    assert "1 of 2 file(s) failed" in proc.stderr
    assert (out / "visit.json").is_file() and not (out / "broken.json").exists()


@pytest.mark.parametrize("case", ["empty", "zero_length", "corrupt", "text_as_wav",
                                  "truncated_flac"])
def test_bad_audio_exits_cleanly(case, tmp_path, speech):
    p = tmp_path / ("x.flac" if case in ("corrupt", "truncated_flac") else "x.wav")
    if case == "empty":
        p.write_bytes(b"")
        code, msg = 3, "empty"
    elif case == "zero_length":
        sf.write(p, np.zeros(0, np.float32), 16_000)
        code, msg = 3, "no audio samples"
    elif case == "corrupt":
        p.write_bytes(np.random.default_rng(3).integers(0, 256, 20_000, np.uint8).tobytes())
        code, msg = 3, "x.flac"
    elif case == "text_as_wav":
        p.write_text("this is a text file\n" * 50)
        code, msg = 3, "not a recognised audio file"
    else:
        full = tmp_path / "full.flac"
        sf.write(full, np.tile(speech["fox"], 3), 16_000)
        p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        code, msg = 3, "truncated"
    proc = cli("transcribe", str(p), "--quiet", timeout=120)
    assert_clean_failure(proc, code, msg)


def test_unknown_model_name(good_wav):
    assert_clean_failure(cli("transcribe", str(good_wav), "--model", "large-v9"), 4,
                         "unknown model 'large-v9'")


def test_missing_model_directory(good_wav, tmp_path):
    assert_clean_failure(cli("transcribe", str(good_wav), "--model", str(tmp_path / "nope")),
                         4, "model directory not found")


def test_unwritable_output_directory(good_wav, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_clean_failure(cli("transcribe", str(good_wav), "--output-dir", str(blocker / "o")),
                         5, "not writable")


def test_invalid_option_value(good_wav):
    assert_clean_failure(cli("transcribe", str(good_wav), "--beam-size", "0"), 2, "beam_size")


def test_eval_asr_on_a_small_manifest(tmp_path, speech):
    rows = []
    for key in ("fox", "numbers"):
        sf.write(tmp_path / f"{key}.wav", speech[key], 16_000)
        rows.append({"audio": f"{key}.wav", "text": SENTENCES[key], "language": "en",
                     "terms": ["fox"] if key == "fox" else []})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "report"
    proc = cli("eval", "asr", "--manifest", str(manifest), "--output-dir", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["systems"][0]
    assert summary["utterances"] == 2 and summary["wer"] <= 0.15
    assert summary["term_recall"] == 1.0 and summary["rtf"] > 0
    assert (out / "eval_asr.md").read_text().count("| fox.wav") == 1
    assert "<table>" in (out / "eval_asr.html").read_text()
    # every hypothesis is in the reports: owner-only, as transcripts are (they were 0644)
    assert {(out / f"eval_asr.{x}").stat().st_mode & 0o777 for x in ("json", "md", "html")} \
        == {0o600}


def test_eval_rejects_a_malformed_manifest(tmp_path):
    m = tmp_path / "bad.jsonl"
    m.write_text('{"audio": "a.wav", "text": "x"}\n{not json\n')
    assert_clean_failure(cli("eval", "asr", "--manifest", str(m)), 2, "bad.jsonl:2")
