"""Decode audio files into 16 kHz float32 blocks with bounded memory.

libsndfile (soundfile) reads WAV, FLAC, OGG/Vorbis/Opus and MP3; everything else (M4A/AAC,
WebM, ...) goes through FFmpeg via PyAV. Both are read block by block and resampled with a
streaming soxr resampler, so decoding a long file holds one block at a time.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from clinivox.errors import AudioDecodeError, EmptyAudioError
from clinivox.units import SAMPLE_RATE_HZ

BLOCK_S = 20.0  # seconds of source audio decoded per block
MIN_RATE_HZ = 4_000
MAX_RATE_HZ = 384_000

AudioSource = str | os.PathLike | bytes | BinaryIO


@dataclass(frozen=True)
class AudioInfo:
    sample_rate_hz: int
    channels: int
    duration_s: float | None  # None when the container does not say
    codec: str
    backend: str  # "soundfile" or "pyav"


def _name(source: AudioSource) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return "<stream>"


def _open_source(source: AudioSource) -> BinaryIO | str:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise EmptyAudioError("audio input is empty (0 bytes)")
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise AudioDecodeError(f"{path.name}: file not found")
        if path.is_dir():
            raise AudioDecodeError(f"{path.name}: is a directory, not an audio file")
        if path.stat().st_size == 0:
            raise EmptyAudioError(f"{path.name}: file is empty (0 bytes)")
        return str(path)
    if hasattr(source, "seek") and hasattr(source, "tell"):
        pos = source.tell()
        source.seek(0, io.SEEK_END)
        empty = source.tell() == pos
        source.seek(pos)
        if empty:
            raise EmptyAudioError("audio input is empty (0 bytes)")
    return source  # file-like


def _soundfile_info(src: BinaryIO | str) -> AudioInfo | None:
    import soundfile as sf

    try:
        info = sf.info(src)
    except Exception:
        return None
    finally:
        if not isinstance(src, str):
            src.seek(0)
    duration = info.frames / info.samplerate if info.samplerate and info.frames >= 0 else None
    return AudioInfo(int(info.samplerate), int(info.channels), duration,
                     f"{info.format}/{info.subtype}", "soundfile")


def _pyav_info(src: BinaryIO | str, name: str) -> AudioInfo:
    import av

    try:
        with av.open(src, mode="r", metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioDecodeError(f"{name}: no audio stream in the file")
            stream = streams[0]
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels or 1
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            return AudioInfo(int(rate), int(channels), duration, stream.codec_context.name,
                             "pyav")
    except AudioDecodeError:
        raise
    except Exception as exc:  # av.error.* and friends
        raise AudioDecodeError(
            f"{name}: not a recognised audio file ({type(exc).__name__})"
        ) from None
    finally:
        if not isinstance(src, str):
            src.seek(0)


def probe(source: AudioSource) -> AudioInfo:
    """Read the header: sample rate, channels, duration. Raises AudioDecodeError."""
    name = _name(source)
    src = _open_source(source)
    info = _soundfile_info(src) or _pyav_info(src, name)
    _check_info(info, name)
    return info


def _check_info(info: AudioInfo, name: str) -> None:
    if not MIN_RATE_HZ <= info.sample_rate_hz <= MAX_RATE_HZ:
        raise AudioDecodeError(
            f"{name}: unsupported sample rate {info.sample_rate_hz} Hz "
            f"(supported {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz)"
        )
    if info.channels < 1:
        raise AudioDecodeError(f"{name}: no audio channels")


def _iter_soundfile(src: BinaryIO | str, info: AudioInfo, name: str,
                    block_frames: int) -> Iterator[np.ndarray]:
    import soundfile as sf

    expected = round((info.duration_s or 0.0) * info.sample_rate_hz)
    decoded = 0
    try:
        with sf.SoundFile(src) as f:
            while True:
                block = f.read(block_frames, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                decoded += block.shape[0]
                yield block
    except sf.LibsndfileError as exc:
        raise AudioDecodeError(f"{name}: corrupt or truncated audio ({exc.error_string})") \
            from None
    except RuntimeError as exc:
        raise AudioDecodeError(f"{name}: corrupt or truncated audio ({exc})") from None
    # libsndfile stops quietly at a truncated FLAC/WAV body: compare with the header.
    # Lossy codecs may differ from the header by a frame of padding, hence the tolerance.
    tolerance = max(int(0.05 * info.sample_rate_hz), expected // 100)
    if expected and decoded < expected - tolerance:
        raise AudioDecodeError(
            f"{name}: truncated audio: header declares {expected / info.sample_rate_hz:.2f} s, "
            f"only {decoded / info.sample_rate_hz:.2f} s could be decoded"
        )


def _iter_pyav(src: BinaryIO | str, info: AudioInfo, name: str) -> Iterator[np.ndarray]:
    import av

    try:
        with av.open(src, mode="r", metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            layout = "mono" if info.channels == 1 else ("stereo" if info.channels == 2 else None)
            resampler = av.AudioResampler(format="flt", layout=layout,
                                          rate=info.sample_rate_hz)
            channels = 1 if layout == "mono" else 2 if layout == "stereo" else info.channels
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1, channels)
                    if arr.size:
                        yield arr.astype(np.float32, copy=False)
            for out in resampler.resample(None):
                arr = out.to_ndarray().reshape(-1, channels)
                if arr.size:
                    yield arr.astype(np.float32, copy=False)
    except AudioDecodeError:
        raise
    except Exception as exc:
        raise AudioDecodeError(
            f"{name}: corrupt or undecodable audio ({type(exc).__name__})"
        ) from None


def iter_audio(
    source: AudioSource,
    *,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    mono: bool = True,
    block_s: float = BLOCK_S,
) -> Iterator[np.ndarray]:
    """Decode `source` and yield float32 blocks at `sample_rate_hz`.

    Yields `(samples,)` arrays when `mono` (channels averaged), else `(samples, channels)`.
    Memory stays bounded by one block whatever the file's length. Raises AudioDecodeError
    (EmptyAudioError for empty input) with the file's name and the reason.
    """
    import soxr

    name = _name(source)
    src = _open_source(source)
    info = _soundfile_info(src)
    if info is not None:
        _check_info(info, name)
        blocks = _iter_soundfile(src, info, name, max(1, int(block_s * info.sample_rate_hz)))
    else:
        info = _pyav_info(src, name)
        _check_info(info, name)
        blocks = _iter_pyav(src, info, name)

    resampler = None
    if info.sample_rate_hz != sample_rate_hz:
        resampler = soxr.ResampleStream(info.sample_rate_hz, sample_rate_hz,
                                        1 if mono else info.channels, dtype="float32",
                                        quality="HQ")
    total = 0

    def emit(block: np.ndarray, last: bool) -> np.ndarray:
        if mono:
            block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
        if resampler is not None:
            block = resampler.resample_chunk(np.ascontiguousarray(block), last=last)
        return np.ascontiguousarray(block, dtype=np.float32)

    for raw in blocks:
        if not np.all(np.isfinite(raw)):
            raw = np.nan_to_num(raw, nan=0.0, posinf=1.0, neginf=-1.0)
        out = emit(raw, last=False)
        if out.shape[0]:
            total += out.shape[0]
            yield out
    if resampler is not None:
        tail = resampler.resample_chunk(
            np.zeros((0,) if mono else (0, info.channels), dtype=np.float32), last=True)
        if tail.shape[0]:
            total += tail.shape[0]
            yield tail.astype(np.float32, copy=False)
    if total == 0:
        raise EmptyAudioError(f"{name}: the file holds no audio samples (zero length)")


def load_audio(source: AudioSource, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
               mono: bool = True) -> np.ndarray:
    """Decode the whole file: `(samples,)` float32 when mono, else `(samples, channels)`."""
    blocks = list(iter_audio(source, sample_rate_hz=sample_rate_hz, mono=mono))
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
