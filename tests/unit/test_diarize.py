"""Diarization, speaker attribution, scoring and the scribe, on audio made here: the Piper
voice and pitch/timbre-shifted copies of it as distinct speakers, generated signals."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from clinivox.asr.types import Segment, Word
from clinivox.diarize import Diarization, DiarizeOptions, Diarizer, Turn, diarize_file
from clinivox.diarize.attribution import attribute_words, infer_roles
from clinivox.diarize.encoder import SpeakerEncoder, load_legacy_checkpoint
from clinivox.diarize.pipeline import diarize_channels
from clinivox.errors import InputError
from clinivox.eval.diarization import RttmError, cp_wer, der_report, read_rttm
from clinivox.testing.synth import silence, synthesize

SR = 16_000


def shifted_voice(audio: np.ndarray, factor: float) -> np.ndarray:
    """A different-sounding speaker: resampling changes pitch and formants together (like
    a smaller or larger vocal tract), the way voices of different people differ."""
    n = round(audio.shape[0] / factor)
    x = np.interp(np.linspace(0, audio.shape[0] - 1, n), np.arange(audio.shape[0]), audio)
    return x.astype(np.float32)


LINES_A = ["Good morning, what brings you in today?",
           "How long have you had the chest pain?",
           "I am going to listen to your chest now.",
           "I will prescribe some tablets and we will see you next week."]
LINES_B = ["I have had a pain in my chest since Sunday evening.",
           "It started about three days ago after I went for a run.",
           "It hurts more when I take a deep breath or when I lie down.",
           "Thank you doctor, I will come back if it gets any worse."]


@pytest.fixture(scope="module")
def dialogue() -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """A two-person exchange (the voice, and the voice shifted down) with its reference."""
    parts, ref, t = [], [], 0.0
    for a, b in zip(LINES_A, LINES_B, strict=True):
        for text, spk, f in ((a, "doctor", 1.0), (b, "patient", 0.78)):
            x = synthesize(text)
            x = shifted_voice(x, f) if f != 1.0 else x
            parts += [x, silence(0.4)]
            ref.append((t, t + x.shape[0] / SR, spk))
            t += x.shape[0] / SR + 0.4
    return np.concatenate(parts), ref


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer()


def test_encoder_reads_packaged_weights_without_torch():
    import importlib.util

    assert importlib.util.find_spec("torch") is None or True  # runs either way
    enc = SpeakerEncoder()
    emb = enc.embed(np.random.default_rng(0).random((3, 160, 40), dtype=np.float32))
    assert emb.shape == (3, 256)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    assert (emb >= 0).all()  # ReLU before the norm, as resemblyzer


def test_corrupt_checkpoint_is_a_typed_error(tmp_path):
    from clinivox.errors import ModelIntegrityError

    bad = tmp_path / "pretrained.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelIntegrityError):
        load_legacy_checkpoint(bad)


def test_two_synthetic_speakers_are_separated(dialogue, diarizer):
    audio, ref = dialogue
    result = diarizer(audio)
    assert len(result.speakers) == 2
    report = der_report({"d": ref}, {"d": result})
    assert report["files"]["d"]["der_collar_0.25"] < 0.15, report


def test_speaker_count_bounds_are_respected(dialogue, diarizer):
    audio, _ = dialogue
    assert len(diarizer(audio, DiarizeOptions(num_speakers=3)).speakers) == 3
    assert len(diarizer(audio, DiarizeOptions(max_speakers=1)).speakers) == 1


def test_single_speaker_gives_one_speaker(diarizer):
    audio = np.concatenate([synthesize(t) for t in LINES_A + LINES_B])
    result = diarizer(audio)
    assert result.speakers == ["SPEAKER_00"]
    assert sum(t.duration_s for t in result.turns) > 0.6 * audio.shape[0] / SR


def test_silence_and_one_second_files(diarizer):
    assert diarizer(silence(20.0)).turns == []
    one = synthesize("Yes.")[:SR]
    result = diarizer(np.pad(one, (0, max(0, SR - one.shape[0]))))
    assert len(result.speakers) <= 1
    assert diarizer(np.zeros(0, np.float32)).turns == []


def test_bad_options_are_input_errors(diarizer):
    with pytest.raises(InputError):
        diarizer(silence(1.0), DiarizeOptions(min_speakers=3, max_speakers=2))
    with pytest.raises(InputError, match="fill_pause_s"):
        diarizer(silence(1.0), DiarizeOptions(fill_pause_s=-0.5))


def _covered(turns, start_s: float, end_s: float) -> bool:
    return any(t.start_s <= start_s and t.end_s >= end_s for t in turns if not t.overlap)


def test_short_pauses_inside_a_speakers_talk_are_filled(diarizer):
    """A 0.7 s pause between two sentences of one speaker stays inside the turn; a 2.5 s
    pause ends it; with filling off, both pauses end the turn."""
    a, b, c = (synthesize(t) for t in LINES_B[:3])
    audio = np.concatenate([a, silence(0.7), b, silence(2.5), c])
    short = (a.shape[0] / SR + 0.1, a.shape[0] / SR + 0.6)
    long_start = (a.shape[0] + b.shape[0]) / SR + 0.7
    long = (long_start + 0.2, long_start + 2.3)
    filled = diarizer(audio).turns
    assert _covered(filled, *short), filled
    assert not _covered(filled, *long), filled
    unfilled = diarizer(audio, DiarizeOptions(fill_pause_s=0.0)).turns
    assert not _covered(unfilled, *short), unfilled


def test_stereo_is_split_by_channel(tmp_path):
    a, b = synthesize(LINES_A[0]), shifted_voice(synthesize(LINES_B[0]), 0.8)
    n = a.shape[0] + b.shape[0] + SR
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    left[:a.shape[0]] = a
    right[a.shape[0] + SR // 2:a.shape[0] + SR // 2 + b.shape[0]] = b
    left += 0.01 * right  # crosstalk, 40 dB down
    path = tmp_path / "call.wav"
    sf.write(path, np.stack([left, right], axis=1), SR)
    result = diarize_file(path, by_channel=True)
    assert result.speakers == ["CHANNEL_0", "CHANNEL_1"]
    by = {s: [t for t in result.turns if t.speaker == s] for s in result.speakers}
    assert max(t.end_s for t in by["CHANNEL_0"]) < a.shape[0] / SR + 0.3
    assert min(t.start_s for t in by["CHANNEL_1"]) > a.shape[0] / SR
    with pytest.raises(InputError, match="multi-channel"):
        mono = tmp_path / "mono.wav"
        sf.write(mono, a, SR)
        diarize_file(mono, by_channel=True)
    assert diarize_channels(np.stack([left, right])).method == "channel"


def test_words_are_attributed_and_segments_split():
    words = (Word(0.0, 0.4, " Hello", 0.9), Word(0.5, 0.9, " there.", 0.9),
             Word(1.2, 1.5, " Hi", 0.9), Word(1.6, 2.0, " doctor.", 0.9))
    seg = Segment(0, 0.0, 2.0, "Hello there. Hi doctor.", words=words)
    d = Diarization([Turn(0.0, 1.0, "A"), Turn(1.1, 2.0, "B")], 2.0, ["A", "B"])
    out = attribute_words([seg], d)
    assert [(s.speaker, s.text) for s in out] == [("A", "Hello there."), ("B", "Hi doctor.")]
    assert [s.id for s in out] == [0, 1]


def test_roles_from_what_speakers_say():
    segs = [Segment(0, 0, 1, "What brings you in today?", speaker="S1"),
            Segment(1, 1, 2, "I've had a cough and my chest hurts.", speaker="S2"),
            Segment(2, 2, 3, "How long have you had it? I'll prescribe an inhaler.",
                    speaker="S1"),
            Segment(3, 3, 4, "About a week. I feel tired.", speaker="S2")]
    assert infer_roles(segs) == {"S1": "clinician", "S2": "patient"}


def test_rttm_roundtrip_and_malformed_rttm(tmp_path):
    d = Diarization([Turn(0.5, 1.5, "SPEAKER_00"), Turn(2.0, 3.25, "SPEAKER_01")], 4.0,
                    ["SPEAKER_00", "SPEAKER_01"])
    path = tmp_path / "hyp.rttm"
    path.write_text(d.to_rttm("call"))
    assert read_rttm(path) == {"call": [(0.5, 1.5, "SPEAKER_00"), (2.0, 3.25, "SPEAKER_01")]}
    bad = tmp_path / "bad.rttm"
    bad.write_text("SPEAKER call 1 0.0 1.0 <NA> <NA> A <NA> <NA>\nSPEAKER call 1 x 1\n")
    with pytest.raises(RttmError, match=r"bad\.rttm:2"):
        read_rttm(bad)
    bad.write_text("SPEAKER call 1 zero one <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(RttmError, match="not numbers"):
        read_rttm(bad)
    bad.write_text("hello world\n")
    with pytest.raises(RttmError):
        read_rttm(bad)


def test_cli_eval_malformed_rttm_exits_2(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, synthesize("Hello there."), SR)
    rttm = tmp_path / "ref.rttm"
    rttm.write_text("SPEAKER a 1 0.0\n")
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "eval", "diarization",
                           "--rttm", str(rttm), "--audio", str(wav)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "ref.rttm:1" in proc.stderr


def test_cli_bad_fill_pause_exits_2(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, synthesize("Hello there."), SR)
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "diarize", str(wav),
                           "--fill-pause-s", "-1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "fill_pause_s must be within [0, 10] s" in proc.stderr


def test_cp_wer_matches_speakers_by_permutation():
    ref = [("A", "hello how are you"), ("B", "fine thanks"), ("A", "good")]
    hyp_swapped = [("X", "fine thanks"), ("Y", "hello how are you good")]
    assert cp_wer(ref, hyp_swapped)["cpwer"] == 0.0
    merged = [("X", "hello how are you fine thanks good")]
    assert cp_wer(ref, merged)["cpwer"] > 0.0


def test_cli_diarize_and_transcribe_diarize(dialogue, tmp_path):
    audio, _ = dialogue
    wav = tmp_path / "visit.wav"
    sf.write(wav, audio, SR)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "diarize", str(wav),
                           "--output-dir", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "visit.diarization.json").read_text())
    assert doc["num_speakers"] == 2
    assert (out / "visit.rttm").read_text().startswith("SPEAKER visit 1 ")
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "transcribe", str(wav),
                           "--diarize", "--output-dir", str(out), "--output-format", "json",
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "visit.json").read_text())
    roles = {s["speaker"]: s["role"] for s in doc["speakers"]}
    assert sorted(roles.values()) == ["clinician", "patient"]
    said = {seg["speaker"]: "" for seg in doc["segments"]}
    for seg in doc["segments"]:
        said[seg["speaker"]] += " " + seg["text"].lower()
    clinician = next(s for s, r in roles.items() if r == "clinician")
    assert "brings you" in said[clinician] and "prescribe" in said[clinician]
