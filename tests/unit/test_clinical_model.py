"""The clinical model is rebuilt offline from a patch of the bundled model.bin: the patched
tensors land on their own bytes, everything else is untouched, and a patch made for another
model.bin, or a cached build that changed on disk, is caught by its checksum."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clinivox.asr.clinical import PATCH_DIR, build, read_patch, sha256, variable_offsets
from clinivox.asr.engines.whisper_ct2.scorer import read_model_bin
from clinivox.asr.models import resolve_model
from clinivox.errors import ModelIntegrityError

NAME = "decoder/layer_norm/gamma"


def make_patch(path, base_bin, tensors, base_sha=None):
    header = {"base": "tiny.en", "base_sha256": base_sha or sha256(base_bin),
              "tensors": sorted(tensors)}
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             **{f"t{i}": tensors[n] for i, n in enumerate(header["tensors"])})
    return path


@pytest.fixture(scope="module")
def base():
    return resolve_model("tiny.en").path


def test_a_patch_rewrites_its_tensors_and_nothing_else(base, tmp_path):
    weights = read_model_bin(base / "model.bin", prefix="")
    new = (weights[NAME].astype(np.float32) * 1.5).astype(np.float16)
    patch = make_patch(tmp_path / "p.npz", base / "model.bin", {NAME: new})
    header, tensors = read_patch(patch)
    assert header["tensors"] == [NAME] and np.array_equal(tensors[NAME], new)
    out = build(base, patch, tmp_path / "clinical")
    built = read_model_bin(out / "model.bin", prefix="")
    assert np.array_equal(built[NAME], new)
    assert all(np.array_equal(built[k], v) for k, v in weights.items() if k != NAME)
    assert (out / "model.bin").stat().st_size == (base / "model.bin").stat().st_size
    assert (out / "tokenizer.json").read_bytes() == (base / "tokenizer.json").read_bytes()
    meta = json.loads((out / "clinical.json").read_text())
    assert meta["model_sha256"] == sha256(out / "model.bin")
    assert resolve_model(str(out)).path == out  # loads through the ordinary door


def test_a_patch_for_another_model_or_that_does_not_fit_is_refused(base, tmp_path):
    weights = read_model_bin(base / "model.bin", prefix="")
    wrong_base = make_patch(tmp_path / "a.npz", base / "model.bin",
                            {NAME: weights[NAME]}, base_sha="0" * 64)
    with pytest.raises(ModelIntegrityError, match="checksum"):
        build(base, wrong_base, tmp_path / "x")
    wrong_shape = make_patch(tmp_path / "b.npz", base / "model.bin",
                             {NAME: np.zeros(7, np.float16)})
    with pytest.raises(ModelIntegrityError, match="does not fit"):
        build(base, wrong_shape, tmp_path / "y")
    unknown = make_patch(tmp_path / "c.npz", base / "model.bin",
                         {"decoder/nothing": np.zeros(3, np.float16)})
    with pytest.raises(ModelIntegrityError, match="does not have"):
        build(base, unknown, tmp_path / "z")
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".clinical-*"))


def test_offsets_point_at_each_tensor(base):
    offsets = variable_offsets(base / "model.bin")
    weights = read_model_bin(base / "model.bin", prefix="")
    pos, nbytes, dtype, shape = offsets[NAME]
    raw = (base / "model.bin").read_bytes()[pos:pos + nbytes]
    assert dtype == "float16" and shape == weights[NAME].shape
    assert np.array_equal(np.frombuffer(raw, np.float16).reshape(shape), weights[NAME])


def test_medical_picks_the_clinical_model_only_for_bundled_names(monkeypatch, tmp_path):
    import clinivox.asr.clinical as clinical
    from clinivox.asr.models import model_for_medical

    monkeypatch.setattr(clinical, "PATCH_DIR", tmp_path)
    monkeypatch.setattr(clinical, "DEFAULT_FOR_MEDICAL", True)
    assert model_for_medical("tiny.en", True) == "tiny.en"  # no patch shipped: as given
    (tmp_path / "tiny.en.npz").write_bytes(b"")
    assert model_for_medical("tiny.en", True) == "tiny.en-clinical"
    assert model_for_medical(None, True) == "tiny.en-clinical"
    assert model_for_medical("tiny.en", False) == "tiny.en"
    assert model_for_medical("tiny.en", True, bundled=True) == "tiny.en"  # --bundled-model
    assert model_for_medical(str(tmp_path), True) == str(tmp_path)  # a path stays exact
    monkeypatch.setattr(clinical, "DEFAULT_FOR_MEDICAL", False)  # opt-in only
    assert model_for_medical("tiny.en", True) == "tiny.en"


def _tuned_copy(base, tmp_path, changes):
    """A copy of the bundled model directory with `changes` (name -> float16 array)
    written over their tensors: what a training run exports."""
    out = tmp_path / "tuned"
    return build(base, make_patch(tmp_path / "full.npz", base / "model.bin", changes), out)


def test_a_low_rank_change_ships_as_factors_and_rebuilds_the_tuned_model(base, tmp_path):
    """LoRA trains B @ A on each adapted projection. Stored whole, an adapter of Whisper
    base's decoder would exceed the 25 MB the repository allows; stored as factors it
    takes a few MB. The rebuilt model must match the tuned float16 one to within one ulp,
    and a full-rank change (the decoder method) must still be stored whole."""
    from clinivox.train.finetune.delta import write_delta

    weights = read_model_bin(base / "model.bin", prefix="")
    rng = np.random.default_rng(0)
    qkv = "decoder/layer_0/self_attention/linear_0/weight"   # fused q, k, v: 1152 x 384
    ffn = "decoder/layer_1/ffn/linear_0/weight"
    w = weights[qkv].astype(np.float32)
    lora = np.zeros_like(w)
    for part in range(3):  # an adapter of rank 8 on each of q, k and v
        rows = slice(part * 384, (part + 1) * 384)
        lora[rows] = rng.normal(0, 0.02, (384, 8)) @ rng.normal(0, 0.02, (8, 384))
    full = weights[ffn].astype(np.float32) + rng.normal(0, 1e-3, weights[ffn].shape)
    changes = {qkv: (w + lora).astype(np.float16), ffn: full.astype(np.float16),
               NAME: (weights[NAME].astype(np.float32) + 0.01).astype(np.float16)}
    tuned = _tuned_copy(base, tmp_path, changes)
    delta = write_delta(base, tuned, tmp_path / "delta.npz", "tiny.en")
    header, tensors = read_patch(delta)
    assert header["lowrank"] == [qkv]
    assert sorted(tensors) == sorted([ffn, NAME])
    from clinivox.asr.clinical import read_factors

    u, v = read_factors(delta)[qkv]
    assert u.shape == (1152, 24) and v.shape == (24, 384)  # the three adapters' ranks
    rebuilt = read_model_bin(build(base, delta, tmp_path / "rebuilt") / "model.bin",
                             prefix="")
    from clinivox.train.finetune.delta import tolerance

    for name, want in changes.items():
        err = np.abs(rebuilt[name].astype(np.float32) - want.astype(np.float32))
        assert np.all(err <= tolerance(want)), name
    # one ulp of a typical weight: far below the change that was trained
    assert tolerance(changes[qkv]).max() < np.abs(lora).mean()
    assert all(np.array_equal(rebuilt[k], x) for k, x in weights.items() if k not in changes)


def test_factors_that_do_not_fit_the_base_model_are_refused(base, tmp_path):
    header = {"base": "tiny.en", "base_sha256": sha256(base / "model.bin"), "tensors": [],
              "lowrank": ["decoder/layer_0/ffn/linear_0/weight"]}
    np.savez(tmp_path / "p.npz", header=np.frombuffer(json.dumps(header).encode(), np.uint8),
             u0=np.zeros((5, 2), np.float16), v0=np.zeros((2, 384), np.float16))
    with pytest.raises(ModelIntegrityError, match="do not fit"):
        build(base, tmp_path / "p.npz", tmp_path / "x")
    assert not (tmp_path / "x").exists()


SHIPPED = sorted(p.stem for p in PATCH_DIR.glob("*.npz"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_patch_builds_its_clinical_model_which_transcribes(name, speech,
                                                                          tmp_path):
    """Each patch in clinical_models/ applies to the bundled model it names (its checksum,
    its tensors' shapes), is recorded in clinical.json, and the model it builds still
    transcribes plain English (`--model NAME-clinical`)."""
    from clinivox import Recognizer
    from clinivox.asr.models import BUNDLED

    out = build(BUNDLED[name](), PATCH_DIR / f"{name}.npz", tmp_path / "clinical")
    info = json.loads((out / "clinical.json").read_text())
    assert info["base"] == name and info["patch_sha256"] == sha256(PATCH_DIR / f"{name}.npz")
    assert info["tensors"] + info.get("lowrank", 0) > 0
    rec = Recognizer(str(out), device="cpu", compute_type="int8")
    segs, _ = rec.transcribe(speech["fox"])
    words = " ".join(s.text for s in segs).lower()
    assert all(w in words for w in ("quick", "brown", "fox", "lazy", "dog")), words


def test_a_multilingual_model_fine_tuned_on_english_decodes_english_unless_asked(speech,
                                                                                  tmp_path):
    """Story: Whisper base detects the language of each chunk, and on accented synthetic
    clinical speech (eSpeak NG voices) it chose French or Spanish for about one clip in
    ten and answered in them ("Je vous remercie un peu." for "Do you smoke at all?"); with
    the medical layer on top, those chunks filled with inserted terms. A model clinivox
    fine-tuned on English targets (`languages` in clinical.json or clinivox.json) now
    decodes English unless the caller asks for a language; the bundled base still detects."""
    from clinivox import Recognizer
    from clinivox.asr.engines.whisper_ct2.engine import trained_language

    base = resolve_model("base").path
    tuned = tmp_path / "base-en"
    tuned.mkdir()
    for f in base.iterdir():
        if f.is_file():
            (tuned / f.name).symlink_to(f)
    assert trained_language(tuned) is None  # no record: detect, as Whisper does
    (tuned / "clinivox.json").write_text(json.dumps({"languages": ["en"]}))
    assert trained_language(tuned) == "en"
    (tuned / "clinivox.json").write_text(json.dumps({"languages": ["en", "de"]}))
    assert trained_language(tuned) is None  # several: detect among them as before
    (tuned / "clinivox.json").write_text("{not json")
    assert trained_language(tuned) is None
    (tuned / "clinivox.json").write_text(json.dumps({"languages": ["en"]}))

    rec = Recognizer(str(tuned), device="cpu", compute_type="int8")
    assert rec.engine.multilingual and rec.engine.trained_language == "en"
    assert Recognizer("base", device="cpu", compute_type="int8").engine.trained_language \
        is None
    segs, info = rec.transcribe(speech["fox"])
    assert "fox" in " ".join(s.text for s in segs).lower()
    assert info.language == "en" and info.language_mismatch is None
    segs, info = rec.transcribe(speech["fox"], {"language": "de"})  # asked: honoured
    list(segs)
    assert info.language == "de" and info.language_mismatch is not None


def test_an_interpolated_patch_lies_between_the_base_and_the_tuned_model(base, tmp_path):
    """Weight-space interpolation (WiSE-FT) of a patch toward its base model: whole tensors
    become base + w (tuned - base) and a low-rank change's u factor is scaled by w, so the
    built model is w of the way from the bundled model to the tuned one; w = 1 rebuilds the
    tuned model exactly, and a weight outside (0, 1] or a patch of another model is refused."""
    from clinivox.train.finetune.delta import interpolate_delta, tolerance, write_delta

    weights = read_model_bin(base / "model.bin", prefix="")
    rng = np.random.default_rng(1)
    qkv = "decoder/layer_0/self_attention/linear_0/weight"
    w = weights[qkv].astype(np.float32)
    lora = rng.normal(0, 0.02, (1152, 8)) @ rng.normal(0, 0.02, (8, 384))
    changes = {qkv: (w + lora).astype(np.float16),
               NAME: (weights[NAME].astype(np.float32) + 0.25).astype(np.float16)}
    delta = write_delta(base, _tuned_copy(base, tmp_path, changes), tmp_path / "d.npz",
                        "tiny.en")
    half = interpolate_delta(delta, base, 0.5, tmp_path / "half.npz")
    header, _ = read_patch(half)
    assert header["interpolated"]["weight"] == 0.5 and header["lowrank"] == [qkv]
    built = read_model_bin(build(base, half, tmp_path / "half") / "model.bin", prefix="")
    for name, tuned in changes.items():
        want = (weights[name].astype(np.float32)
                + 0.5 * (tuned.astype(np.float32) - weights[name].astype(np.float32)))
        err = np.abs(built[name].astype(np.float32) - want)
        assert np.all(err <= 2 * tolerance(want.astype(np.float16))), name
    moved = built[NAME].astype(np.float32) - weights[NAME].astype(np.float32)
    assert abs(float(moved.mean()) - 0.125) < 0.01  # half of the tuned +0.25
    assert all(np.array_equal(built[k], x) for k, x in weights.items() if k not in changes)
    whole = read_model_bin(build(base, interpolate_delta(delta, base, 1.0, tmp_path / "one.npz"),
                                 tmp_path / "one") / "model.bin", prefix="")
    tuned_build = read_model_bin(build(base, delta, tmp_path / "t") / "model.bin", prefix="")
    assert all(np.array_equal(whole[k], tuned_build[k]) for k in changes)
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="weight"):
            interpolate_delta(delta, base, bad, tmp_path / "bad.npz")
    other = make_patch(tmp_path / "other.npz", base / "model.bin", {}, base_sha="0" * 64)
    with pytest.raises(ValueError, match="another"):
        interpolate_delta(other, base, 0.5, tmp_path / "bad.npz")


def test_interpolate_cli_writes_a_patch_and_refuses_bad_input(base, tmp_path):
    import subprocess
    import sys

    weights = read_model_bin(base / "model.bin", prefix="")
    patch = make_patch(tmp_path / "p.npz", base / "model.bin",
                       {NAME: (weights[NAME].astype(np.float32) + 1).astype(np.float16)})
    cli = [sys.executable, "-m", "clinivox.cli.main", "interpolate"]

    def run(*args):
        return subprocess.run([*cli, *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    done = run(patch, "--weight", "0.5", "--out", tmp_path / "h.npz", "--build", tmp_path / "m")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["weight"] == 0.5
    built = read_model_bin(tmp_path / "m" / "model.bin", prefix="")
    moved = built[NAME].astype(np.float32) - weights[NAME].astype(np.float32)
    assert abs(float(moved.mean()) - 0.5) < 0.02
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a patch")
    for args, message in (((patch, "--weight", "1.5", "--out", tmp_path / "x.npz"), "weight"),
                          ((tmp_path / "none.npz", "--weight", "0.5", "--out",
                            tmp_path / "x.npz"), "no patch"),
                          ((junk, "--weight", "0.5", "--out", tmp_path / "x.npz"),
                           "not a clinivox patch"),
                          ((patch, "--weight", "0.5", "--out", tmp_path / "x.bin"), ".npz")):
        done = run(*args)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.npz").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run(patch, "--weight", "0.5", "--out", blocker / "x.npz")  # unwritable
    assert done.returncode == 5 and "cannot write" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
