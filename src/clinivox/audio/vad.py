"""Silero voice-activity detection on onnxruntime (no torch), usable on a stream.

`SileroVad` scores 32 ms windows; `SpeechSegmenter` turns the scores into padded speech
regions as audio arrives, so a one-hour file is segmented without holding it in memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinivox.audio.endpoint import Activity, Endpointer
from clinivox.errors import ModelNotFoundError
from clinivox.resources import package_dir
from clinivox.units import SAMPLE_RATE_HZ

WINDOW_SAMPLES = 512  # 32 ms at 16 kHz: the window Silero v5+ expects
CONTEXT_SAMPLES = 64  # samples of the previous window prepended to each window
WINDOW_S = WINDOW_SAMPLES / SAMPLE_RATE_HZ
SILENCE_PEAK = 10 ** (-80 / 20)  # windows whose peak is under -80 dBFS are silence


@dataclass(frozen=True)
class VadOptions:
    """Voice-activity detection (Silero, ONNX) that gates the decoder."""

    threshold: float = 0.5  # speech probability above which a 32 ms window is speech
    neg_threshold: float | None = None  # speech ends below this (default: threshold - 0.15)
    min_speech_ms: int = 250  # speech runs shorter than this are dropped
    min_silence_ms: int = 500  # silence shorter than this does not split speech
    speech_pad_ms: int = 200  # padding kept on both sides of each speech run
    max_speech_s: float = 28.0  # a longer speech run is split at its quietest point

    def validate(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"vad threshold must be in (0, 1), got {self.threshold}")
        if self.neg_threshold is not None and not 0.0 < self.neg_threshold <= self.threshold:
            raise ValueError("vad neg_threshold must be in (0, threshold]")
        if min(self.min_speech_ms, self.min_silence_ms, self.speech_pad_ms) < 0:
            raise ValueError("vad durations must be >= 0 ms")
        if not 1.0 <= self.max_speech_s <= 30.0:
            raise ValueError("vad max_speech_s must be within [1, 30] s (Whisper's window)")



def find_silero_model(path: str | os.PathLike | None = None) -> Path:
    """Locate the Silero ONNX file: an explicit path, the `silero-vad` package's data, or
    the copy faster-whisper ships. The package is found without importing it (it imports torch).
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ModelNotFoundError(f"VAD model not found: {p}")
        return p
    silero = package_dir("silero_vad")
    if silero is not None and (silero / "data" / "silero_vad.onnx").is_file():
        return silero / "data" / "silero_vad.onnx"
    fw = package_dir("faster_whisper")
    if fw is not None:
        for candidate in sorted((fw / "assets").glob("silero_vad*.onnx")):
            if candidate.name == "silero_vad_v6.onnx":
                continue  # split encoder/decoder layout, not the stateful model
            return candidate
    raise ModelNotFoundError(
        "Silero VAD model not found: pip install --no-deps silero-vad (its ONNX file is used)"
    )


_sessions: dict[Path, object] = {}
_sessions_lock = threading.Lock()


def _session(model: Path):
    """One onnxruntime session per model file, shared by every `SileroVad`: building one
    takes ~50 ms, a tenth of decoding a short clip, and each stream's recurrent state lives
    in its `SileroVad`, not in the session (whose `run` is thread-safe)."""
    with _sessions_lock:
        sess = _sessions.get(model)
        if sess is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 3
            sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"],
                                        sess_options=opts)
            _sessions[model] = sess
        return sess


class SileroVad:
    """Stateful Silero VAD. `probs = vad(audio)` for consecutive blocks of one stream.

    audio: (samples,) float32 at 16 kHz, any length; leftover samples that do not fill a
    512-sample window are kept for the next call. Returns (windows,) float32 probabilities.
    """

    def __init__(self, model_path: str | os.PathLike | None = None) -> None:
        self._session = _session(find_silero_model(model_path).resolve())
        self._sr = np.array(SAMPLE_RATE_HZ, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, CONTEXT_SAMPLES), dtype=np.float32)
        self._leftover = np.zeros(0, dtype=np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        audio = np.concatenate([self._leftover, np.asarray(audio, dtype=np.float32)])
        n = audio.shape[0] // WINDOW_SAMPLES
        self._leftover = audio[n * WINDOW_SAMPLES:].copy()
        probs = np.empty(n, dtype=np.float32)
        run = self._session.run
        # Digital silence scores 0 without running the network (an hour of it takes ms).
        peaks = np.abs(audio[: n * WINDOW_SAMPLES]).reshape(n, WINDOW_SAMPLES).max(axis=1) \
            if n else np.zeros(0, dtype=np.float32)
        for i in range(n):
            window = audio[i * WINDOW_SAMPLES:(i + 1) * WINDOW_SAMPLES][None, :]
            if peaks[i] < SILENCE_PEAK:
                probs[i] = 0.0
            else:
                x = np.concatenate([self._context, window], axis=1)
                out, self._state = run(None, {"input": x, "state": self._state,
                                              "sr": self._sr})
                probs[i] = out[0, 0]
            self._context = window[:, -CONTEXT_SAMPLES:]
        return probs


@dataclass(frozen=True)
class SpeechRegion:
    start: int  # first sample (16 kHz) of the padded region
    end: int  # one past the last sample

    @property
    def duration_s(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE_HZ


class SpeechSegmenter:
    """Turns window probabilities into padded speech regions, incrementally.

    Call `push(probs)` as scores arrive and `flush(total_samples)` at the end; both return
    the regions that are final. A region never exceeds `max_speech_s`: a long run is cut at
    its quietest recent window.
    """

    def __init__(self, options: VadOptions) -> None:
        options.validate()
        self.o = options
        self.neg = options.neg_threshold if options.neg_threshold is not None \
            else Endpointer.default_neg(options.threshold)
        w = WINDOW_SAMPLES
        self.min_speech = options.min_speech_ms * SAMPLE_RATE_HZ // 1000
        self.min_silence = options.min_silence_ms * SAMPLE_RATE_HZ // 1000
        self.pad = options.speech_pad_ms * SAMPLE_RATE_HZ // 1000
        self.max_speech = int(options.max_speech_s * SAMPLE_RATE_HZ) - 2 * self.pad
        self.min_split_silence = 98 * SAMPLE_RATE_HZ // 1000
        self._ep = Endpointer(options.threshold, self.neg, self.min_silence)
        self._w = w
        self._pos = 0  # sample index of the next window
        self._split_at: int | None = None  # best split point seen in the open run
        self._last_end = 0  # padded end of the last emitted region
        self._raw: list[tuple[int, int]] = []  # unpadded runs waiting for padding

    @property
    def _start(self) -> int | None:
        """Start of the open speech run."""
        return self._ep.onset if self._ep.active else None

    @property
    def _temp_end(self) -> int | None:
        """Where the current pause began (None while speaking)."""
        return self._ep.last_speech if self._ep.active and self._ep.silence else None

    @property
    def position(self) -> int:
        """Sample index up to which windows have been scored."""
        return self._pos

    @property
    def last_end(self) -> int:
        """Padded end of the last emitted region."""
        return self._last_end

    @property
    def open_start(self) -> int | None:
        """Start of the speech run still open (its audio must be kept)."""
        if self._raw:
            return self._raw[0][0]
        return self._start

    def push(self, probs: Iterable[float]) -> list[SpeechRegion]:
        for p in probs:
            self._step(float(p))
            self._pos += self._w
        return self._emit(final=False)

    def flush(self, total_samples: int) -> list[SpeechRegion]:
        start = self._start
        if start is not None:
            if total_samples - start >= self.min_speech:
                self._raw.append((start, total_samples))
            self._ep.reset()
        return self._emit(final=True, total=total_samples)

    def _close(self, end: int) -> None:
        start = self._start
        if start is not None and end - start >= self.min_speech:
            self._raw.append((start, end))
        self._ep.reset()
        self._split_at = None

    def _step(self, p: float) -> None:
        pos, w = self._pos, self._w
        activity = self._ep.step(p, pos, pos + w)
        if activity is Activity.IDLE:
            return
        if activity is Activity.ONSET:
            self._split_at = None
            return
        if activity is Activity.SPEECH and self._ep.pause >= self.min_split_silence:
            self._split_at = pos - self._ep.pause  # a usable pause inside the run
        if self._ep.ended:
            self._close(self._ep.last_speech)
            return
        start = self._ep.onset
        if pos + w - start > self.max_speech:
            temp_end = self._temp_end
            if self._split_at is not None and self._split_at > start + self.min_speech:
                cut = self._split_at
            elif temp_end is not None:
                cut = temp_end
            else:
                cut = pos + w
            self._raw.append((start, cut))
            self._split_at = None
            if cut <= pos:  # the next run starts at the cut
                self._ep.start(cut, pos + w)
            elif p >= self.o.threshold:  # cut after this window, which is speech
                self._ep.start(pos + w, pos + w)
            else:
                self._ep.reset()

    def _emit(self, final: bool, total: int | None = None) -> list[SpeechRegion]:
        out: list[SpeechRegion] = []
        while self._raw:
            start, end = self._raw[0]
            nxt = self._raw[1][0] if len(self._raw) > 1 else self._start
            if nxt is None and not final and self._pos < end + 2 * self.pad:
                break  # the right pad may still overlap a run that starts soon
            self._raw.pop(0)
            pad_end = end + self.pad
            if nxt is not None:
                pad_end = min(pad_end, end + (nxt - end) // 2)
            if total is not None:
                pad_end = min(pad_end, total)
            pad_start = max(start - self.pad, self._last_end)
            self._last_end = pad_end
            out.append(SpeechRegion(pad_start, pad_end))
        return out


def speech_regions(audio: np.ndarray, options: VadOptions | None = None,
                   model_path: str | os.PathLike | None = None) -> list[SpeechRegion]:
    """Speech regions of a whole `audio: (samples,) float32` array at 16 kHz."""
    vad = SileroVad(model_path)
    seg = SpeechSegmenter(options or VadOptions())
    regions = seg.push(vad(audio))
    regions += seg.flush(audio.shape[0])
    return regions


def iter_speech(blocks: Iterable[np.ndarray], options: VadOptions | None = None,
                vad: SileroVad | None = None) -> Iterator[tuple[SpeechRegion, np.ndarray]]:
    """Yield `(region, samples)` for each speech region of a stream of 16 kHz blocks.

    Audio outside speech is dropped as soon as VAD has passed it: memory stays bounded.
    """
    vad = vad or SileroVad()
    seg = SpeechSegmenter(options or VadOptions())
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # sample index of buf[0]
    total = 0
    for block in blocks:
        buf = np.concatenate([buf, block]) if buf.size else np.asarray(block, np.float32)
        total += block.shape[0]
        for region in seg.push(vad(block)):
            yield region, buf[region.start - buf_start:region.end - buf_start].copy()
        # The next region starts no earlier than pad before the open run (or the VAD
        # position) and never before the end of the last emitted region.
        anchor = seg.open_start if seg.open_start is not None else seg.position
        keep_from = max(buf_start, seg.last_end, anchor - seg.pad)
        if keep_from > buf_start:
            buf = buf[keep_from - buf_start:]
            buf_start = keep_from
    for region in seg.flush(total):
        yield region, buf[region.start - buf_start:region.end - buf_start].copy()
