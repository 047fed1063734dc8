"""The clinical model is rebuilt offline from a patch of the bundled model.bin: the patched
tensors land on their own bytes, everything else is untouched, and a patch made for another
model.bin, or a cached build that changed on disk, is caught by its checksum."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clinivox.asr.clinical import build, read_patch, sha256, variable_offsets
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
    assert model_for_medical(str(tmp_path), True) == str(tmp_path)  # a path stays exact
    monkeypatch.setattr(clinical, "DEFAULT_FOR_MEDICAL", False)  # opt-in only
    assert model_for_medical("tiny.en", True) == "tiny.en"
