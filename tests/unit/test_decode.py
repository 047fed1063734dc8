"""Audio in: formats, rates, channels, streaming and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from clinivox.audio.decode import iter_audio, load_audio, probe
from clinivox.errors import AudioDecodeError, EmptyAudioError

FORMATS = ["fox_8000.wav", "fox_22050.wav", "fox_44100.wav", "fox_48000.wav",
           "fox_44100_stereo.flac", "fox_48000.ogg", "fox_24000.mp3", "fox_32000.m4a"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_decodes_to_16k_mono_of_the_right_length(audio_dir, speech, name):
    audio = load_audio(audio_dir / name)
    expected = speech["fox"].shape[0] + 16_000
    assert audio.dtype == np.float32 and audio.ndim == 1
    # lossy codecs pad to whole frames (AAC: 1024 samples, 64 ms at 32 kHz incl. priming);
    # resampling itself keeps the duration.
    tolerance_s = 0.1 if name.endswith((".m4a", ".mp3", ".ogg")) else 0.002
    assert abs(audio.shape[0] - expected) <= tolerance_s * 16_000
    assert 0.01 < float(np.sqrt(np.mean(audio**2))) < 1.0


def test_resampler_keeps_a_tone_at_its_frequency(tmp_path):
    from clinivox.testing.synth import tone

    x = tone(1000.0, 2.0, sample_rate_hz=44_100)
    sf.write(tmp_path / "tone.wav", x, 44_100)
    y = load_audio(tmp_path / "tone.wav")
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.shape[0])))
    peak_hz = np.argmax(spectrum) * 16_000 / y.shape[0]
    assert abs(peak_hz - 1000.0) < 2.0
    # A real (band-limited) resampler: a 7.9 kHz tone at 44.1 kHz must not alias into band.
    z = tone(9_000.0, 1.0, sample_rate_hz=44_100)
    sf.write(tmp_path / "hi.wav", z, 44_100)
    assert float(np.sqrt(np.mean(load_audio(tmp_path / "hi.wav") ** 2))) < 0.01


def test_keep_channels_returns_each_channel(audio_dir):
    blocks = list(iter_audio(audio_dir / "fox_44100_stereo.flac", mono=False))
    stereo = np.concatenate(blocks)
    assert stereo.ndim == 2 and stereo.shape[1] == 2
    ratio = np.sqrt(np.mean(stereo[:, 1] ** 2) / np.mean(stereo[:, 0] ** 2))
    assert abs(ratio - 0.5) < 0.01


def test_long_file_is_decoded_in_bounded_blocks(tmp_path):
    rate = 8_000
    minutes = 3
    with sf.SoundFile(tmp_path / "long.wav", "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(minutes * 6):
            f.write(np.random.default_rng(0).uniform(-0.1, 0.1, 10 * rate))
    sizes = [b.shape[0] for b in iter_audio(tmp_path / "long.wav", block_s=5.0)]
    assert sum(sizes) == pytest.approx(minutes * 60 * 16_000, abs=32)
    assert max(sizes) <= 6 * 16_000  # one block at a time, never the whole file


def test_probe_reports_header_facts(audio_dir):
    info = probe(audio_dir / "fox_44100_stereo.flac")
    assert (info.sample_rate_hz, info.channels) == (44_100, 2)
    assert info.duration_s is not None and info.duration_s > 1.0


# -- bad input: each gets a typed error with a clear message ------------------------------

def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty"):
        load_audio(p)


def test_zero_length_audio(tmp_path):
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(EmptyAudioError, match="no audio samples"):
        load_audio(p)


def test_corrupt_bytes(tmp_path):
    p = tmp_path / "corrupt.flac"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError):
        load_audio(p)


def test_text_file_named_wav(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("Patient notes, not audio.\n" * 100)
    with pytest.raises(AudioDecodeError, match="not a recognised audio file"):
        load_audio(p)


def test_truncated_flac(tmp_path, speech):
    full = tmp_path / "full.flac"
    sf.write(full, np.tile(speech["fox"], 3), 16_000)
    data = full.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match="truncated"):
        load_audio(cut)


def test_corrupt_wav_header_with_valid_magic(tmp_path):
    p = tmp_path / "bad.wav"
    p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 40)
    with pytest.raises(AudioDecodeError):
        load_audio(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioDecodeError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioDecodeError, match="directory"):
        load_audio(tmp_path)


def test_empty_bytes():
    with pytest.raises(EmptyAudioError):
        load_audio(b"")


def test_wav_bytes_decode(audio_dir):
    data = (audio_dir / "fox_22050.wav").read_bytes()
    assert load_audio(data).shape[0] == load_audio(audio_dir / "fox_22050.wav").shape[0]


def test_empty_file_object():
    import io

    with pytest.raises(EmptyAudioError):
        load_audio(io.BytesIO(b""))
