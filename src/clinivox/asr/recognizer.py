"""`Recognizer`: the one entry point of batch recognition.

    segments, info = Recognizer("tiny.en").transcribe("visit.wav")
    for segment in segments:  # decoding happens as you iterate
        print(segment.start_s, segment.text)

Audio is decoded block by block, gated by VAD, packed into <= 30 s chunks of speech and
decoded `batch_size` chunks at a time, so memory stays flat however long the file is.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clinivox.asr.engine import ChunkResult, Engine
from clinivox.asr.engines.whisper_ct2 import CHUNK_SAMPLES, WhisperEngine
from clinivox.asr.segments import split_long
from clinivox.asr.types import Segment, TranscribeOptions, Word
from clinivox.audio.decode import AudioSource, iter_audio, probe
from clinivox.audio.vad import SileroVad, iter_speech
from clinivox.errors import AudioTooLongError, EmptyAudioError, InputError
from clinivox.units import SAMPLE_RATE_HZ

MIN_TAIL_S = 1.0  # untranscribed speech at a chunk's end shorter than this is left alone
MAX_TAIL_ROUNDS = 2  # follow-up decodes of untranscribed tails per batch
MISMATCH_PROBABILITY = 0.8  # detection this sure of another language flags a mismatch


@dataclass
class TranscriptionInfo:
    """Facts about one transcription. `language`, `speech_duration_s` and `duration_s` are
    final once the segment iterator is exhausted (decoding is lazy)."""

    language: str | None
    language_probability: float
    duration_s: float
    speech_duration_s: float
    model: str
    device: str
    compute_type: str
    options: TranscribeOptions
    channels: int = 1
    # a language was asked of a multilingual model, but most speech chunks sound
    # confidently (p >= 0.8) like another: (detected code, share of chunks). Whisper then
    # writes a translation or nonsense, so callers warn (the CLI does; JSON carries it).
    language_mismatch: tuple[str, float] | None = None
    _votes: Counter = field(default_factory=Counter, repr=False)
    _heard: Counter = field(default_factory=Counter, repr=False)


@dataclass
class _Chunk:
    """Speech packed for one decode. pieces: (chunk_sample, file_sample, n_samples)."""

    pieces: list[tuple[int, int, int]] = field(default_factory=list)
    parts: list[np.ndarray] = field(default_factory=list)
    n: int = 0

    def add(self, file_start: int, audio: np.ndarray) -> None:
        self.pieces.append((self.n, file_start, audio.shape[0]))
        self.parts.append(audio)
        self.n += audio.shape[0]

    def audio(self) -> np.ndarray:
        return np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]

    def tail(self, from_s: float) -> _Chunk | None:
        """The speech of this chunk after chunk time `from_s`, as a new chunk."""
        cut = int(from_s * SAMPLE_RATE_HZ)
        out = _Chunk()
        for (c0, f0, n), part in zip(self.pieces, self.parts, strict=True):
            if c0 + n <= cut:
                continue
            skip = max(0, cut - c0)
            out.add(f0 + skip, part[skip:])
        return out if out.n else None

    def to_file_s(self, t_s: float, *, is_end: bool = False) -> float:
        """Map a chunk-relative time to the file's timeline (gaps removed by VAD restored)."""
        sample = t_s * SAMPLE_RATE_HZ
        for c0, f0, n in self.pieces:
            if (c0 <= sample < c0 + n) or (is_end and c0 < sample <= c0 + n):
                return (f0 + sample - c0) / SAMPLE_RATE_HZ
        c0, f0, n = self.pieces[-1] if sample >= self.pieces[-1][0] else self.pieces[0]
        return (f0 + min(max(sample - c0, 0), n)) / SAMPLE_RATE_HZ


def _array_blocks(audio: np.ndarray, block: int = 20 * SAMPLE_RATE_HZ) -> Iterator[np.ndarray]:
    for i in range(0, audio.shape[0], block):
        yield audio[i:i + block]


def _fixed_windows(blocks: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    """VAD off: consecutive 30 s windows of the whole signal."""
    buf = np.zeros(0, dtype=np.float32)
    pos = 0
    for b in blocks:
        buf = np.concatenate([buf, b])
        while buf.shape[0] >= CHUNK_SAMPLES:
            yield pos, buf[:CHUNK_SAMPLES]
            buf, pos = buf[CHUNK_SAMPLES:], pos + CHUNK_SAMPLES
    if buf.shape[0]:
        yield pos, buf


class Recognizer:
    """Speech to text: files and arrays in, segments out, around an `Engine`.

    `Recognizer("tiny.en")` (or `Recognizer.whisper(...)`) loads Whisper on CTranslate2:
    model "tiny.en" (default), "base", or a local CTranslate2 Whisper directory; device
    "auto" (CUDA when present), "cpu" or "cuda"; compute_type "auto" (float16 on CUDA,
    int8 on CPU) or any CTranslate2 type the device supports. `Recognizer.from_engine`
    wraps any other `asr.engine.Engine`.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, device: str = "auto",
                 compute_type: str = "auto", cpu_threads: int = 0, num_workers: int = 1,
                 vad_model: str | os.PathLike | None = None,
                 engine: Engine | None = None) -> None:
        self.engine: Any = engine if engine is not None else WhisperEngine(
            model, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            num_workers=num_workers)
        self._vad_model = vad_model

    @classmethod
    def whisper(cls, model: str | os.PathLike | None = None, *, device: str = "auto",
                compute_type: str = "auto", cpu_threads: int = 0, num_workers: int = 1,
                vad_model: str | os.PathLike | None = None) -> Recognizer:
        """Whisper on CTranslate2 (the default engine)."""
        return cls(model, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                   num_workers=num_workers, vad_model=vad_model)

    @classmethod
    def from_engine(cls, engine: Engine, *,
                    vad_model: str | os.PathLike | None = None) -> Recognizer:
        """Any engine that implements `asr.engine.Engine` (a CTC/ONNX model, a fine-tuned
        export): decoding files, VAD and chunking stay the same."""
        return cls(engine=engine, vad_model=vad_model)

    @property
    def model_name(self) -> str:
        return self.engine.model_name

    def check_language(self, language: object) -> None:
        """Raise `InputError` unless `language` is None or a language this model decodes.

        An English-only model (tiny.en) asked for another language used to answer in English
        with `language: en`, silently; a misspelt code or a list from a JSON client reached
        the tokenizer and failed as an internal error.
        """
        if language is None:
            return
        if not isinstance(language, str):
            raise InputError(f"language must be an ISO code string such as 'en', not "
                             f"{type(language).__name__}")
        if not self.engine.multilingual:
            if language != "en":
                raise InputError(f"model {self.model_name} is English-only; it cannot decode "
                                 f"language {language[:16]!r} (use a multilingual model such "
                                 "as --model base)")
            return
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if language not in _LANGUAGE_CODES:
            raise InputError(f"unknown language code {language[:16]!r}: use an ISO 639-1 code "
                             "Whisper knows, such as 'en', 'de' or 'zh'")

    def transcribe(
        self,
        audio: AudioSource | np.ndarray,
        options: TranscribeOptions | Mapping[str, Any] | None = None,
        *,
        channel: int | None = None,
        max_duration_s: float | None = None,
        biaser=None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        decode: Callable[..., list[ChunkResult]] | None = None,
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Transcribe a file, bytes, a file object or a `(samples,)` array.

        An array is float (-1..1) or int16/int32 PCM (scaled to -1..1), at `sample_rate_hz`
        (resampled to 16 kHz when it differs); other dtypes are refused.
        Returns a lazy iterator of segments and the info. Header problems raise at once
        (AudioDecodeError and subclasses); damage found mid-file raises while iterating.
        `channel` transcribes one channel of a multi-channel file instead of the down-mix.
        `biaser` (a `DecodeHook`: `clinivox.biasing.MedicalBiaser`) biases decoding towards its
        lexicon and reports term corrections on the segments. `decode(audios, options,
        hook) -> [ChunkResult]` schedules each batch of chunks (the server's scheduler);
        by default the engine decodes them directly.
        """
        if isinstance(audio, np.ndarray):
            audio = as_float32_16k(audio, sample_rate_hz)
        elif sample_rate_hz != SAMPLE_RATE_HZ:
            raise InputError("sample_rate_hz applies to arrays only: a file's rate is read "
                             "from its header")
        blocks, info = self._prepare(audio, options, channel, max_duration_s)
        return self._segments(blocks, info.options, info, channel, biaser,
                              decode or self.engine.decode_batch), info

    def _prepare(self, audio: AudioSource | np.ndarray,
                 options: TranscribeOptions | Mapping[str, Any] | None, channel: int | None,
                 max_duration_s: float | None
                 ) -> tuple[Iterable[np.ndarray], TranscriptionInfo]:
        """Validate the input and options; the lazy 16 kHz block source and the info."""
        opts = self._options(options)
        self.check_language(opts.language)
        if isinstance(audio, np.ndarray):
            arr = as_float32_16k(audio, SAMPLE_RATE_HZ)
            if arr.ndim != 1:
                raise InputError(f"audio array must be 1-D (samples,), got shape {arr.shape}")
            if arr.shape[0] == 0:
                raise EmptyAudioError("audio array holds zero samples")
            if not np.all(np.isfinite(arr)):
                raise InputError("audio array contains NaN or infinite values")
            duration_s, channels = arr.shape[0] / SAMPLE_RATE_HZ, 1
            blocks: Iterable[np.ndarray] = _array_blocks(arr)
        else:
            meta = probe(audio)
            duration_s, channels = meta.duration_s or 0.0, meta.channels
            if channel is not None:
                if not 0 <= channel < meta.channels:
                    raise InputError(f"channel {channel} out of range: the file has "
                                     f"{meta.channels} channel(s)")
                blocks = (b[:, channel] for b in iter_audio(audio, mono=False))
            else:
                blocks = iter_audio(audio)
        if max_duration_s is not None:
            if duration_s > max_duration_s:
                raise AudioTooLongError(
                    f"audio is {duration_s:.0f} s long; the limit is {max_duration_s:.0f} s")
            # a container without a duration header (live WebM) passes the check above:
            # the decoded samples are counted too, and decoding stops at the limit
            blocks = _limited(blocks, max_duration_s)
        info = TranscriptionInfo(
            language=opts.language if self.engine.multilingual else "en",
            language_probability=1.0 if opts.language or not self.engine.multilingual else 0.0,
            duration_s=duration_s, speech_duration_s=0.0, model=self.model_name,
            device=self.engine.device, compute_type=self.engine.compute_type, options=opts,
            channels=channels,
        )
        return blocks, info

    def transcribe_channels(self, audio: AudioSource,
                            options: TranscribeOptions | Mapping[str, Any] | None = None,
                            *, biaser=None) -> tuple[list[Segment], TranscriptionInfo]:
        """Transcribe each channel separately (e.g. one speaker per channel).

        Returns all segments sorted by start time, each tagged with its channel.
        """
        meta = probe(audio)
        segments: list[Segment] = []
        info = None
        for ch in range(meta.channels):
            segs, info = self.transcribe(audio, options, channel=ch, biaser=biaser)
            segments.extend(segs)
        segments.sort(key=lambda s: (s.start_s, s.channel or 0))
        segments = [Segment(**{**s.__dict__, "id": i}) for i, s in enumerate(segments)]
        assert info is not None  # meta.channels >= 1 is checked by probe
        return segments, info

    # -- hooks for callers that schedule decoding themselves (the server's scheduler) ---------
    def plan(self, audio: AudioSource | np.ndarray,
             options: TranscribeOptions | Mapping[str, Any] | None = None, *,
             max_duration_s: float | None = None) -> tuple[list[_Chunk], TranscriptionInfo]:
        """Decode and VAD-segment `audio` into speech chunks, without recognising them.
        Holds every chunk (about 230 MB per hour of speech): `plan_iter` does not."""
        chunks, info = self.plan_iter(audio, options, max_duration_s=max_duration_s)
        return list(chunks), info

    def plan_iter(self, audio: AudioSource | np.ndarray,
                  options: TranscribeOptions | Mapping[str, Any] | None = None, *,
                  max_duration_s: float | None = None
                  ) -> tuple[Iterator[_Chunk], TranscriptionInfo]:
        """`plan`, lazily: chunks are decoded from the file as they are taken, so a caller
        that takes a window at a time keeps memory flat however long the file is.
        `info.duration_s` is the decoded duration once the iterator is exhausted."""
        blocks, info = self._prepare(audio, options, None, max_duration_s)

        def chunks() -> Iterator[_Chunk]:
            counter = _Counter(blocks)
            yield from self._chunks(counter, info.options, info)
            info.duration_s = counter.samples / SAMPLE_RATE_HZ

        return chunks(), info

    def finish_chunk(self, chunk: _Chunk, result: ChunkResult,
                     info: TranscriptionInfo) -> tuple[list[Segment], _Chunk | None]:
        """Segments of one decoded chunk, and the untranscribed tail to decode again."""
        self._vote(info, result)
        return self._map(chunk, result, None), self._untranscribed_tail(chunk, result)

    @staticmethod
    def _options(options: TranscribeOptions | Mapping[str, Any] | None) -> TranscribeOptions:
        if options is None:
            return TranscribeOptions()
        if isinstance(options, TranscribeOptions):
            options.validate()
            return options
        return TranscribeOptions.from_dict(options)

    def _chunks(self, blocks: Iterable[np.ndarray], opts: TranscribeOptions,
                info: TranscriptionInfo) -> Iterator[_Chunk]:
        if opts.vad:
            vad = SileroVad(self._vad_model)
            pieces: Iterable[tuple[int, np.ndarray]] = (
                (region.start, audio) for region, audio in
                iter_speech(blocks, opts.vad_options, vad=vad)
            )
        else:
            pieces = _fixed_windows(blocks)
        chunk = _Chunk()
        for start, audio in pieces:
            if audio.shape[0] == 0:
                continue
            info.speech_duration_s += audio.shape[0] / SAMPLE_RATE_HZ
            if chunk.n and chunk.n + audio.shape[0] > CHUNK_SAMPLES:
                yield chunk
                chunk = _Chunk()
            chunk.add(start, audio[:CHUNK_SAMPLES])
        if chunk.n:
            yield chunk

    def _segments(self, blocks: Iterable[np.ndarray], opts: TranscribeOptions,
                  info: TranscriptionInfo, channel: int | None, biaser,
                  decode: Callable[..., list[ChunkResult]]) -> Iterator[Segment]:
        counter = _Counter(blocks)
        next_id = 0
        batch: list[_Chunk] = []

        def run(batch: list[_Chunk]) -> Iterator[Segment]:
            nonlocal next_id
            segments: list[Segment] = []
            for _ in range(MAX_TAIL_ROUNDS + 1):
                results = decode([c.audio() for c in batch], opts, biaser)
                tails: list[_Chunk] = []
                for chunk, result in zip(batch, results, strict=True):
                    self._vote(info, result)
                    segments.extend(self._map(chunk, result, channel))
                    tail = self._untranscribed_tail(chunk, result)
                    if tail is not None:
                        tails.append(tail)
                if not tails:
                    break
                batch = tails
            segments.sort(key=lambda s: s.start_s)
            for seg in segments:
                yield Segment(**{**seg.__dict__, "id": next_id})
                next_id += 1

        for chunk in self._chunks(counter, opts, info):
            batch.append(chunk)
            if len(batch) >= opts.batch_size:
                yield from run(batch)
                batch = []
        if batch:
            yield from run(batch)
        info.duration_s = counter.samples / SAMPLE_RATE_HZ

    @staticmethod
    def _untranscribed_tail(chunk: _Chunk, result: ChunkResult) -> _Chunk | None:
        """Whisper may stop before the end of a packed chunk, as it does before a window cut
        in sequential decoding. Speech after the last segment is then decoded again."""
        if not result.segments:
            return None  # the model judged the chunk silent: nothing to seek to
        end_s = max(s.end_s for s in result.segments)
        if chunk.n / SAMPLE_RATE_HZ - end_s < MIN_TAIL_S:
            return None
        return chunk.tail(end_s)

    @staticmethod
    def _vote(info: TranscriptionInfo, result: ChunkResult) -> None:
        if result.detected_language is not None and result.segments:
            heard, p = result.detected_language
            info._heard[heard if p >= MISMATCH_PROBABILITY else "?"] += 1
            top, n = info._heard.most_common(1)[0]
            share = n / sum(info._heard.values())
            # the language decoded: the one asked for, or the one the model was trained on
            decoded = info.options.language or result.language
            info.language_mismatch = (top, share) if share > 0.5 and \
                top not in ("?", decoded) else None
        if info.options.language is not None or result.language is None:
            return
        info._votes[result.language] += 1
        lang, _ = info._votes.most_common(1)[0]
        if lang != info.language:
            info.language = lang
        if result.language == info.language:
            info.language_probability = max(info.language_probability,
                                            result.language_probability)

    @staticmethod
    def _map(chunk: _Chunk, result: ChunkResult, channel: int | None) -> list[Segment]:
        out = []
        for s in result.segments:
            words = tuple(
                Word(chunk.to_file_s(w.start_s), chunk.to_file_s(w.end_s, is_end=True),
                     w.word, w.probability)
                for w in s.words
            )
            start = chunk.to_file_s(s.start_s)
            end = chunk.to_file_s(s.end_s, is_end=True)
            if words:
                start, end = words[0].start_s, max(words[-1].end_s, words[0].start_s)
            # a model that writes a whole window as one segment is cut at sentence ends
            out.extend(split_long(Segment(
                id=0, start_s=start, end_s=max(end, start), text=s.text.strip(), words=words,
                avg_logprob=result.avg_logprob, no_speech_prob=result.no_speech_prob,
                compression_ratio=result.compression_ratio, temperature=result.temperature,
                language=result.language, channel=channel, corrections=tuple(s.corrections),
                general_model=result.general,
            )))
        return out


def as_float32_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """`audio: (samples,)` float or int16/int32 PCM at `sample_rate_hz` -> float32 at 16 kHz.

    An int16 array used to be cast to float unscaled (values up to 32767): Whisper heard
    clipped noise and wrote nonsense, silently."""
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    elif audio.dtype == np.int32:
        audio = audio.astype(np.float32) / 2147483648.0
    elif audio.dtype.kind == "f":
        audio = audio.astype(np.float32, copy=False)
    else:
        raise InputError(f"audio arrays must be float, int16 or int32 PCM, not {audio.dtype}")
    if not isinstance(sample_rate_hz, int) or not 1_000 <= sample_rate_hz <= 384_000:
        raise InputError(f"sample_rate_hz must be a whole number within 1000-384000, got "
                         f"{sample_rate_hz!r}")
    if sample_rate_hz != SAMPLE_RATE_HZ and audio.ndim == 1 and audio.shape[0] > 0:
        import soxr

        audio = soxr.resample(audio, sample_rate_hz, SAMPLE_RATE_HZ).astype(np.float32)
    return audio


def _limited(blocks: Iterable[np.ndarray], max_duration_s: float) -> Iterator[np.ndarray]:
    """Pass blocks through; AudioTooLongError once more than `max_duration_s` is decoded."""
    limit = int(max_duration_s * SAMPLE_RATE_HZ)
    samples = 0
    for b in blocks:
        samples += b.shape[0]
        if samples > limit:
            raise AudioTooLongError(f"audio is longer than the limit of {max_duration_s:.0f} s "
                                    "(counted while decoding: the file gives no duration)")
        yield b


class _Counter:
    """Pass blocks through while counting samples (the decoded duration)."""

    def __init__(self, blocks: Iterable[np.ndarray]) -> None:
        self._blocks = blocks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for b in self._blocks:
            self.samples += b.shape[0]
            yield b
