"""Training data: the corpus builder is deterministic and keeps its splits apart; the
pseudo-label filter; manifests with bad rows get typed errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from clinivox.errors import InputError, OutputError
from clinivox.train.data.corpus import AugmentSpec, CorpusSpec, build_corpus, plan
from clinivox.train.data.pseudo import PseudoLabelOptions, keep
from clinivox.train.data.text import (
    Names,
    clean_utterance,
    consultation_sentences,
    held_out,
    name_list_sentences,
    template_sentences,
    written_style,
)
from clinivox.train.data.voices import VoiceBankSpec, voice_bank
from clinivox.train.finetune.data import EmptyManifest, EmptyTranscript, read_examples

pytest.importorskip("piper")

TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"
item [1]:
    intervals [1]:
        text = "So you've been taking <UNSURE>ibuprofen</UNSURE> for the pain?"
    intervals [2]:
        text = "Yes, and paracetamol, um, twice a day."
    intervals [3]:
        text = "ok"
"""


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tg")
    for k in range(1, 9):
        (root / f"day1_consultation{k:02d}_doctor.TextGrid").write_text(
            TEXTGRID.replace("pain", f"pain number {k}"))
    return root


def small_spec(transcripts: Path, **kw) -> CorpusSpec:
    spec = CorpusSpec(train_size=6, validation_size=3, seed=7, consultations=transcripts,
                      voices=VoiceBankSpec(per_engine=3, engines=("piper",)),
                      augment=AugmentSpec(noise_p=0.0, reverb_p=0.0, speed_p=0.5,
                                          telephone_p=0.3))
    return replace(spec, **kw)


def test_corpus_builder_is_deterministic_and_cached(tmp_path, transcripts):
    spec = small_spec(transcripts)
    a = build_corpus(spec, tmp_path / "a", workers=1)
    b = build_corpus(spec, tmp_path / "b", workers=2)  # other workers: the same corpus
    for split in ("train", "validation"):
        ra = [json.loads(x) for x in a[split].read_text().splitlines()]
        rb = [json.loads(x) for x in b[split].read_text().splitlines()]
        assert ra == rb and len(ra) == (6 if split == "train" else 3)
        for x, y in zip(ra, rb, strict=True):  # same plan, same audio bytes
            assert (tmp_path / "a" / x["audio"]).read_bytes() == \
                (tmp_path / "b" / y["audio"]).read_bytes()
    first = (tmp_path / "a" / ra[0]["audio"]).stat().st_mtime_ns
    build_corpus(spec, tmp_path / "a", workers=1)  # cached: not rendered again
    assert (tmp_path / "a" / ra[0]["audio"]).stat().st_mtime_ns == first
    assert plan(replace(spec, seed=8)) != plan(spec)


def test_validation_split_has_its_own_voices_names_and_consultations(transcripts):
    items = plan(small_spec(transcripts, train_size=30, validation_size=20))
    voices = {s: {i["voice"]["id"] for i in items if i["split"] == s}
              for s in ("train", "validation")}
    assert voices["train"] and voices["validation"]
    assert not voices["train"] & voices["validation"]
    names = {s: {d for i in items if i["split"] == s for d in i["drugs"] + i["diagnoses"]}
             for s in ("train", "validation")}
    assert not names["train"] & names["validation"]
    sources = {s: {i["source"] for i in items if i["split"] == s
                   and i["source"].startswith("primock57")} for s in ("train", "validation")}
    assert not sources["train"] & sources["validation"]


def test_reported_texts_are_never_used(tmp_path, transcripts):
    dev = tmp_path / "dev.jsonl"
    dev.write_text(json.dumps({"audio": "x.flac",
                               "text": "Yes, and paracetamol, um, twice a day."}) + "\n")
    kept = [s.text for s in consultation_sentences(transcripts, exclude=["Yes, and "
                                                                         "paracetamol, um, "
                                                                         "twice a day."])]
    assert kept and all("twice a day" not in t for t in kept)
    assert clean_utterance("taking <UNSURE>ibuprofen</UNSURE> [noise] now") == \
        "taking ibuprofen now"


def test_verbatim_transcripts_become_written_references_spoken_as_recorded(tmp_path,
                                                                         transcripts):
    # The first clinical model was trained on PriMock57's verbatim transcripts ("OK. Um, and,
    # and any pain ?") and learnt to write fillers, "OK" and stutters into ordinary speech:
    # on real meeting recordings it drifted from Whisper's own style (#25's forgetting
    # guard). The reference is now written as Whisper writes; the voice still says it all.
    assert written_style("OK . Um, and, and any any tummy pain ?") == "Okay. And any tummy pain?"
    assert written_style("Uh uh yes. It's very, very bad, uh, loose stools.") == \
        "Yes. It's very, very bad, loose stools."
    assert written_style("I had a a similar thing, um") == "I had a similar thing"
    assert written_style("Ohh yes, 100 100 milligrams of umeclidinium") == \
        "Oh yes, 100 100 milligrams of umeclidinium"
    assert written_style("Um.") == ""
    items = [s for s in consultation_sentences(transcripts) if "paracetamol" in s.text]
    assert items and all(s.text == "Yes, and paracetamol, twice a day." and
                         s.spoken == "Yes, and paracetamol, um, twice a day." for s in items)
    out = build_corpus(small_spec(transcripts, template_share=0.0, train_size=8,
                                  validation_size=0), tmp_path / "c")
    rows = [json.loads(x) for x in out["train"].read_text().splitlines()]
    verbatim = [r for r in rows if "spoken" in r]
    assert verbatim and all(" um," in r["spoken"] and " um" not in r["text"] for r in verbatim)
    assert all("spoken" not in r for r in rows if r not in verbatim)


def test_templates_carry_their_terms_and_names_split_stably():
    names = Names()
    names.drugs = {"train": ["amlodipine", "metformin"], "validation": ["warfarin", "digoxin"]}
    names.diagnoses = {"train": ["asthma"], "validation": ["gout"]}
    items = list(template_sentences(names, "validation", 20, seed=1))
    for it in items:
        for term in it.terms:
            assert term in it.text
        assert set(it.drugs) <= {"warfarin", "digoxin"}
    assert held_out("warfarin", 0.5) == held_out("WARFARIN", 0.5)
    bank = voice_bank(VoiceBankSpec(per_engine=4, engines=("piper",)))
    assert [v.split for v in bank].count("validation") == 1


def test_template_dates_have_english_ordinals():
    """The date template wrote "the 1th of November", "the 22th of May": 6 days in 28
    read oddly by the voices and taught the model to write them."""
    import re

    names = Names()
    names.drugs = {"train": ["amlodipine", "metformin"], "validation": []}
    names.diagnoses = {"train": ["asthma"], "validation": []}
    dates = [m.group(1) for it in template_sentences(names, "train", 3000, seed=2)
             for m in re.finditer(r"the (\d+\w\w) of", it.text)]
    assert len(set(dates)) == 28  # every day of the month drawn
    assert {"1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22nd", "23rd"} <= set(dates)
    assert not {"1th", "2th", "3th", "21th", "22th", "23th"} & set(dates)


def test_pseudo_label_filter_keeps_only_confident_clean_segments():
    from clinivox.asr.types import Segment

    o = PseudoLabelOptions(threshold=0.9)
    good = Segment(0, 0.0, 3.0, "take two tablets daily", avg_logprob=np.log(0.95))
    assert keep(good, o)
    assert not keep(replace(good, avg_logprob=np.log(0.8)), o)  # unsure
    assert not keep(replace(good, compression_ratio=3.1), o)  # looping
    assert not keep(replace(good, end_s=0.5), o)  # too short
    assert not keep(replace(good, text="yes"), o)
    with pytest.raises(InputError):
        PseudoLabelOptions(threshold=0.0).validate()


def test_bad_manifests_get_typed_errors(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(EmptyManifest):
        read_examples(empty)
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"audio": "nope.flac", "text": "hello"}) + "\n")
    with pytest.raises(InputError, match="audio file not found"):
        read_examples(missing)
    (tmp_path / "a.flac").write_bytes(b"")
    blank = tmp_path / "blank.jsonl"
    blank.write_text(json.dumps({"audio": "a.flac", "text": "  "}) + "\n")
    with pytest.raises(EmptyTranscript):
        read_examples(blank)
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n")
    with pytest.raises(InputError, match="line 1"):
        read_examples(garbage)


def test_unwritable_corpus_directory(tmp_path, transcripts):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError):
        build_corpus(small_spec(transcripts), blocker / "corpus")


def test_items_that_plan_the_same_audio_are_rendered_once(tmp_path, transcripts):
    """Regression: a sentence drawn twice for the same voice and chain gives two items with
    one key; two workers rendered it at once through one temporary name and wrote a
    corrupt FLAC, which stopped `clinivox finetune` 2,400 rows in."""
    import soundfile as sf

    text = tmp_path / "one.txt"
    text.write_text("Take two tablets of paracetamol.\n")
    spec = small_spec(transcripts, consultations=None, user_text=(text,), template_share=0.0,
                      train_size=8, validation_size=0,
                      voices=VoiceBankSpec(per_engine=1, engines=("piper",)),
                      augment=AugmentSpec(noise_p=0, reverb_p=0, speed_p=0, telephone_p=0))
    manifests = build_corpus(spec, tmp_path / "c", workers=2)
    rows = [json.loads(x) for x in manifests["train"].read_text().splitlines()]
    assert len(rows) == 8 and len({r["audio"] for r in rows}) == 1
    audio, rate = sf.read(tmp_path / "c" / rows[0]["audio"])
    assert rate == 16000 and audio.size > 8000
    assert not list((tmp_path / "c" / "audio").rglob(".render-*"))


def test_pseudo_label_writes_confident_speech_and_skips_noise(tmp_path, recognizer):
    import soundfile as sf

    from clinivox.testing.synth import synthesize, white_noise
    from clinivox.train.data.pseudo import audio_files, pseudo_label

    src = tmp_path / "unlabelled"
    src.mkdir()
    sf.write(src / "speech.wav", synthesize("The quick brown fox jumps over the lazy dog."),
             16000)
    sf.write(src / "noise.wav", white_noise(4.0, level_dbfs=-30.0), 16000)
    stats = pseudo_label(audio_files(src), tmp_path / "out", recognizer,
                         PseudoLabelOptions(threshold=0.5))
    rows = [json.loads(x) for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert stats["files"] == 2 and stats["kept"] == len(rows) >= 1
    assert all(r["source"] == "pseudo-label:speech.wav" for r in rows)
    assert "fox" in rows[0]["text"].lower() and rows[0]["confidence"] >= 0.5
    audio, rate = sf.read(tmp_path / "out" / rows[0]["audio"])
    assert rate == 16000 and abs(len(audio) / rate - rows[0]["duration"]) < 0.01
    # recordings and their transcripts are owner-only (they were written world-readable)
    out = tmp_path / "out"
    assert (out / "train.jsonl").stat().st_mode & 0o777 == 0o600
    assert (out / "audio").stat().st_mode & 0o777 == 0o700
    assert (out / rows[0]["audio"]).stat().st_mode & 0o777 == 0o600
    strict = pseudo_label(audio_files(src), tmp_path / "strict", recognizer,
                          PseudoLabelOptions(threshold=0.999))
    assert strict["kept"] <= stats["kept"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no audio files"):
        audio_files(tmp_path / "empty")
    with pytest.raises(InputError, match="not a directory"):
        audio_files(tmp_path / "missing")


def test_encoder_cache_key_does_not_depend_on_how_the_manifest_is_named(tmp_path,
                                                                        monkeypatch):
    """A fine-tune run given `corpus/train.jsonl` computed a new 3.6 GB encoder cache
    beside the one a run given the absolute path had written for the same files: the key
    hashed the paths as spelled."""
    from clinivox.train.finetune.data import cache_key, read_examples

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.wav").write_bytes(b"RIFF0000")
    manifest = tmp_path / "corpus" / "train.jsonl"
    manifest.write_text(json.dumps({"audio": "a.wav", "text": "hello there"}) + "\n")
    monkeypatch.chdir(tmp_path)
    relative = read_examples(Path("corpus/train.jsonl"), check_audio=False)
    absolute = read_examples(manifest, check_audio=False)
    assert cache_key(relative, "tiny.en", 0, None) == cache_key(absolute, "tiny.en", 0, None)


def test_name_lists_say_names_alone_never_an_excluded_one():
    """Names said alone or in short lists (the regime where the clinical model trailed the
    bundled one on the isolated-names probe): each item's terms are in its text, the drugs
    of a set you report on are never drawn, and the plan is seeded."""
    names = Names.from_lexicon(0.0)
    banned = names.drugs["train"][:400]
    items = list(name_list_sentences(names, "train", 300, seed=3, exclude=banned))
    assert items == list(name_list_sentences(names, "train", 300, seed=3, exclude=banned))
    assert any(len(i.terms) == 1 and i.text.rstrip(".").lower() == i.terms[0] for i in items)
    assert any(len(i.drugs) == 3 for i in items) and any(i.diagnoses for i in items)
    low = {b.lower() for b in banned}
    for i in items:
        assert i.terms and all(t.lower() in i.text.lower() for t in i.terms)
        assert not {t.lower() for t in i.terms} & low


def test_list_share_adds_name_lists_and_zero_keeps_the_plan(transcripts, tmp_path):
    spec = small_spec(transcripts, train_size=20, validation_size=0)
    assert plan(replace(spec, list_share=0.0)) == plan(spec)
    items = plan(replace(spec, list_share=0.5))
    assert sum(i["source"].startswith("list:") for i in items) == 10
    excl = tmp_path / "probe.jsonl"
    names = Names.from_lexicon(0.1).drugs["train"]
    excl.write_text("".join(json.dumps({"audio": "x.wav", "text": n, "terms": [n]}) + "\n"
                            for n in names[:200]))
    items = plan(replace(spec, list_share=1.0, exclude_manifests=(excl,)))
    assert not {t for i in items for t in i["terms"]} & set(names[:200])


def test_bad_list_share_and_too_few_names_get_typed_errors(transcripts):
    """`--list-share` outside [0, 1], and name lists with fewer than three drug names left
    after the exclusions, are input errors with a message, not a traceback or a loop."""
    with pytest.raises(InputError, match="list_share"):
        plan(replace(small_spec(transcripts), list_share=1.5))
    names = Names.from_lexicon(0.0)
    with pytest.raises(InputError, match="too few drug names"):
        list(name_list_sentences(names, "train", 5, seed=0, exclude=names.drugs["train"]))


def test_pseudo_label_failing_half_way_keeps_the_previous_manifest(tmp_path):
    """The manifest was opened with O_TRUNC: a run that failed on an unreadable recording
    had already emptied the manifest of the run before (and the audio segments were
    chmod-ed to 0600 only after soundfile had created them 0644)."""
    import soundfile as sf

    from clinivox.asr.types import Segment
    from clinivox.errors import AudioDecodeError
    from clinivox.testing.synth import synthesize
    from clinivox.train.data.pseudo import pseudo_label

    class Recognizer:
        model_name = "fake"

        def transcribe(self, audio):
            return [Segment(0, 0.0, 1.5, "a confident sentence here", avg_logprob=-0.01)], None

    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "a.wav", synthesize("Good morning doctor."), 16000)
    (src / "b.wav").write_bytes(b"this is not audio")
    out = tmp_path / "out"
    stats = pseudo_label([src / "a.wav"], out, Recognizer())
    before = (out / "train.jsonl").read_text()
    assert stats["kept"] == 1 and before.count("\n") == 1
    with pytest.raises(AudioDecodeError):
        pseudo_label([src / "b.wav", src / "a.wav"], out, Recognizer())
    assert (out / "train.jsonl").read_text() == before
    assert sorted(p.name for p in out.iterdir()) == ["audio", "train.jsonl"]  # no temp file
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (out / "audio").iterdir())
