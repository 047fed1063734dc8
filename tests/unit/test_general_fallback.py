"""The general fallback of a clinical build (`BiasProfile.general_fallback`).

Story: the clinical tiny.en, fine-tuned on synthetic clinical speech, read real general
English worse than the bundled model it was made from (en_read_speech +1.82 points of WER;
on real meeting speech it wrote "fill up steels" for "Philip Steels" and fillers Whisper
leaves out), and `--medical` uses it. Its patch changes only the decoder, so a chunk is
encoded once and either decoder can read it: where the clinical model wrote plain English
(no lexicon term, no correction, no word outside Whisper's everyday vocabulary), the
bundled decoder's text is kept instead.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from clinivox.asr import clinical
from clinivox.asr.clinical import PATCH_DIR, build, general_model, sha256
from clinivox.asr.engines.whisper_ct2.scorer import read_model_bin
from clinivox.asr.models import resolve_model
from clinivox.asr.types import TranscribeOptions


@pytest.fixture(scope="module")
def bundled():
    return resolve_model("tiny.en").path


@pytest.fixture(scope="module")
def clinical_dir(bundled, tmp_path_factory):
    return build(bundled, PATCH_DIR / "tiny.en.npz",
                 tmp_path_factory.mktemp("clinical") / "tiny.en-clinical")


def _patch(path, base_bin, tensors):
    header = {"base": "tiny.en", "base_sha256": sha256(base_bin), "tensors": sorted(tensors)}
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             **{f"t{i}": tensors[n] for i, n in enumerate(header["tensors"])})
    return path


def test_only_a_decoder_patch_of_a_bundled_model_has_a_general_model(bundled, clinical_dir,
                                                                     tmp_path, monkeypatch):
    assert general_model(clinical_dir) == bundled
    assert general_model(bundled) is None  # not a clinical build
    weights = read_model_bin(bundled / "model.bin", prefix="")
    patches = tmp_path / "patches"
    patches.mkdir()
    monkeypatch.setattr(clinical, "PATCH_DIR", patches)
    for name, want in (("decoder/layer_norm/gamma", bundled),
                       ("encoder/layer_norm/gamma", None)):  # the encoders would differ
        patch = _patch(patches / "tiny.en.npz", bundled / "model.bin",
                       {name: (weights[name].astype(np.float32) + 0.01).astype(np.float16)})
        out = build(bundled, patch, tmp_path / name.split("/")[0])
        assert general_model(out) == want, name
    # a build whose patch is not the one shipped (checksum) gets no general model
    (patches / "tiny.en.npz").write_bytes(b"other")
    assert general_model(tmp_path / "decoder") == bundled  # remembered per directory
    clinical._GENERAL.clear()
    assert general_model(tmp_path / "decoder") is None


def test_plain_english_is_decoded_by_the_general_model_and_clinical_speech_is_not(
        bundled, clinical_dir, speech):
    from dataclasses import replace

    from clinivox.asr.engines.whisper_ct2 import WhisperEngine
    from clinivox.biasing import load_biaser

    engine = WhisperEngine(str(clinical_dir), device="cpu", compute_type="int8")
    general = WhisperEngine(str(bundled), device="cpu", compute_type="int8")
    biaser = load_biaser(engine)
    assert biaser.profile.general_fallback  # the clinical profile turns it on
    options = TranscribeOptions()
    plain = general.decode_batch([speech["weather"]], options)[0]
    [kept, redone] = engine.decode_batch([speech["clinic"], speech["weather"]], options,
                                         biaser)
    # the clinical sentence holds lexicon terms: the clinical model's text stays
    assert not kept.general and "headache" in " ".join(s.text for s in kept.segments).lower()
    # plain English: the bundled model's own decode, word for word, with word timings
    assert redone.general
    assert [s.text for s in redone.segments] == [s.text for s in plain.segments]
    assert all(s.words for s in redone.segments)
    # off in the profile (and for models without a general model): never
    off = biaser.with_profile(replace(biaser.profile, general_fallback=False))
    assert not any(r.general for r in engine.decode_batch([speech["weather"]], options, off))
    assert not any(r.general for r in general.decode_batch([speech["weather"]], options,
                                                           biaser))


def test_segments_say_which_model_wrote_them_and_the_flag_turns_it_off(clinical_dir, speech):
    """A user reviewing a transcript can tell the bundled model's segments (JSON
    `general_model`) and can keep the clinical model's text everywhere
    (`--no-general-fallback`)."""
    import argparse

    from clinivox import Recognizer
    from clinivox.cli.transcribe import add_medical_args, medical_biaser

    rec = Recognizer(str(clinical_dir), device="cpu", compute_type="int8")
    p = argparse.ArgumentParser()
    add_medical_args(p)
    on = medical_biaser(p.parse_args(["--medical"]), rec.engine)
    off = medical_biaser(p.parse_args(["--medical", "--no-general-fallback"]), rec.engine)
    assert on.profile.general_fallback and not off.profile.general_fallback
    segs = list(rec.transcribe(speech["weather"], biaser=on)[0])
    assert segs and all(s.general_model and s.to_dict()["general_model"] for s in segs)
    segs = list(rec.transcribe(speech["weather"], biaser=off)[0])
    assert segs and not any(s.general_model or "general_model" in s.to_dict() for s in segs)


def test_the_server_bodies_say_which_model_wrote_a_segment():
    """The REST verbose_json segments and a WebSocket final carry `general_model` as the
    CLI JSON does; nothing is added where the clinical model wrote the text."""
    from clinivox.asr.streaming import StreamEvent
    from clinivox.asr.types import Segment
    from clinivox.serve.formats import transcription_body

    general = Segment(0, 0.0, 1.0, "It was a bright cold day.", general_model=True)
    clinical = Segment(1, 1.0, 2.0, "Start apixaban.")
    body, _ = transcription_body("verbose_json", [general, clinical], "en", 2.0, set())
    assert body["segments"][0]["general_model"] is True
    assert "general_model" not in body["segments"][1]
    final = StreamEvent("final", 0, general.text, "", 0.0, 1.0, 1.0, 0.1,
                        segments=(general,)).to_dict()
    assert final["general_model"] is True
    mixed = StreamEvent("final", 1, "x", "", 0.0, 2.0, 2.0, 0.1,
                        segments=(general, clinical)).to_dict()
    assert "general_model" not in mixed


def test_the_profile_sets_the_second_decodes_beam(bundled, clinical_dir, speech,
                                                  monkeypatch):
    """`fallback_beam` (docs/models.md "A cheaper second search"): 0 keeps the caller's
    beam; 1 decodes the plain-English chunks again greedily, as the bundled model alone
    would with beam 1."""
    from dataclasses import replace

    from clinivox.asr.engines.whisper_ct2 import WhisperEngine
    from clinivox.biasing import load_biaser

    engine = WhisperEngine(str(clinical_dir), device="cpu", compute_type="int8")
    general = WhisperEngine(str(bundled), device="cpu", compute_type="int8")
    biaser = load_biaser(engine)
    assert biaser.profile.fallback_beam == 0  # what ships: the caller's beam
    beams = []
    decode = engine.decode_general

    def spy(rows, chunks, languages, options):
        beams.append(options.beam_size)
        return decode(rows, chunks, languages, options)

    monkeypatch.setattr(engine, "decode_general", spy)
    options = TranscribeOptions(beam_size=5)
    engine.decode_batch([speech["weather"]], options, biaser)
    greedy = biaser.with_profile(replace(biaser.profile, fallback_beam=1))
    [redone] = engine.decode_batch([speech["weather"]], options, greedy)
    assert beams == [5, 1]
    alone = general.decode_batch([speech["weather"]], replace(options, beam_size=1))[0]
    assert redone.general
    assert [s.text for s in redone.segments] == [s.text for s in alone.segments]
