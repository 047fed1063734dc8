"""Streaming recognition: feed audio chunks, get `partial` and `final` events.

Utterances are delimited by VAD endpointing (Silero, window by window). While an utterance
is open, its audio is re-decoded greedily at most every `partial_interval_s` (stretched
when decoding runs slow, so the cost per second of audio stays bounded), encoding only the
utterance plus a margin rather than Whisper's 30 s window; the words that two
successive decodes agree on are the stable prefix (local agreement). At the endpoint the
utterance is decoded once more with the full options (beam search, word timestamps, guards)
and emitted as a `final`.

Every event records the stream clock at emission and its latency relative to the audio it
covers. The clock is simulated (audio fed plus processing time, as if fed in real time by a
caller that waits for each call) unless a wall clock is given.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from clinivox.asr.recognizer import Recognizer
from clinivox.asr.scheduler import DecodeScheduler
from clinivox.asr.types import Segment, TranscribeOptions, Word
from clinivox.audio.endpoint import Activity, Endpointer
from clinivox.audio.vad import WINDOW_SAMPLES, SileroVad
from clinivox.errors import InputError
from clinivox.units import SAMPLE_RATE_HZ

MAX_CHUNK_S = 30.0  # a single fed chunk longer than this is refused


class ChunkError(InputError):
    """A fed chunk is unusable (dtype, byte count, NaN, sample rate)."""


@dataclass(frozen=True)
class StreamingOptions:
    sample_rate_hz: int = SAMPLE_RATE_HZ  # rate of the audio the caller feeds
    partial_interval_s: float = 0.5  # re-decode the open utterance at most this often
    endpoint_silence_ms: int = 500  # silence that closes an utterance
    speculative_ms: int = 200  # after this much silence the final is decoded ahead of time
    speech_pad_ms: int = 200  # audio kept before speech onset and after its end
    min_speech_ms: int = 200  # shorter bursts are ignored
    max_utterance_s: float = 25.0  # a longer utterance is finalised and a new one begins
    vad_threshold: float = 0.5  # Silero speech probability that opens an utterance
    partial_beam_size: int = 1  # partials decode greedily; finals use the options' beam
    agreement: int = 2  # hypotheses that must agree on a prefix for it to be stable
    max_lag_s: float = 0.5  # under load (clock behind audio by more), partials are skipped
    # Partials encode only the utterance plus this margin (None: Whisper's whole 30 s
    # window), about 3x cheaper for short utterances; finals always use the whole window.
    partial_encoder_margin_s: float | None = 6.0
    partial_max_tokens_per_s: float = 6.0  # a partial decode stops after this many tokens/s
    # When finals of several streams queue for the decoder (see asr.scheduler), the queued ones
    # encode the utterance plus this margin instead of 30 s. None: always the full window.
    loaded_final_encoder_margin_s: float | None = 8.0

    def validate(self) -> None:
        if not 8_000 <= self.sample_rate_hz <= 192_000:
            raise ValueError(f"sample_rate_hz must be within 8000-192000, got "
                             f"{self.sample_rate_hz}")
        if self.partial_interval_s <= 0:
            raise ValueError("partial_interval_s must be > 0")
        if not 100 <= self.endpoint_silence_ms <= 5_000:
            raise ValueError("endpoint_silence_ms must be within 100-5000 ms")
        if not 2.0 <= self.max_utterance_s <= 28.0:
            raise ValueError("max_utterance_s must be within 2-28 s (Whisper's window)")
        if not 0.0 < self.vad_threshold < 1.0:
            raise ValueError("vad_threshold must be in (0, 1)")
        if self.agreement < 1:
            raise ValueError("agreement must be >= 1")
        if not 0 <= self.speculative_ms <= self.endpoint_silence_ms:
            raise ValueError("speculative_ms must be within [0, endpoint_silence_ms]")
        if self.partial_encoder_margin_s is not None and \
                not 1.0 <= self.partial_encoder_margin_s <= 30.0:
            raise ValueError("partial_encoder_margin_s must be within [1, 30] seconds")
        if self.loaded_final_encoder_margin_s is not None and \
                not 1.0 <= self.loaded_final_encoder_margin_s <= 30.0:
            raise ValueError("loaded_final_encoder_margin_s must be within [1, 30] seconds")
        if self.partial_max_tokens_per_s <= 0:
            raise ValueError("partial_max_tokens_per_s must be > 0")


@dataclass(frozen=True)
class StreamEvent:
    kind: str  # "partial" or "final"
    utterance_id: int
    text: str
    stable_text: str  # prefix agreed by successive decodes (equals text for finals)
    start_s: float  # audio time where the utterance starts
    end_s: float  # audio time up to which this hypothesis covers speech
    emitted_s: float  # stream clock when the event was emitted
    latency_s: float  # emitted_s - end_s
    words: tuple[Word, ...] = ()
    segments: tuple[Segment, ...] = ()

    def to_dict(self) -> dict:
        d = {"type": self.kind, "utterance_id": self.utterance_id, "text": self.text,
             "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
             "emitted_s": round(self.emitted_s, 3), "latency_s": round(self.latency_s, 3)}
        if self.kind == "partial":
            d["stable_text"] = self.stable_text
        else:
            d["words"] = [{"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3),
                           "word": w.word, "probability": round(w.probability, 4)}
                          for w in self.words]
            fixes = [c.to_dict() for s in self.segments for c in s.corrections]
            if fixes:  # machine substitutions by the medical layer: to review
                d["corrections"] = fixes
            if self.segments and all(s.general_model for s in self.segments):
                d["general_model"] = True  # decoded by the clinical build's general model
        return d


def _event(kind: str, utt_id: int, text: str, stable: str, start: int, end: int,
           words: tuple[Word, ...] = (), segments: tuple[Segment, ...] = ()) -> StreamEvent:
    """An event before it is stamped with the stream clock (`start`, `end`: samples)."""
    return StreamEvent(kind, utt_id, text, stable, start / SAMPLE_RATE_HZ,
                       end / SAMPLE_RATE_HZ, 0.0, 0.0, words, segments)


def to_float32(chunk: np.ndarray | bytes | bytearray | memoryview) -> np.ndarray:
    """Validate a fed chunk: PCM16 bytes, or a 1-D float32/float64/int16 array."""
    if isinstance(chunk, bytes | bytearray | memoryview):
        data = bytes(chunk)
        if len(data) % 2:
            raise ChunkError(f"PCM16 chunk has an odd byte count ({len(data)}); frames are "
                             "2-byte little-endian samples")
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if not isinstance(chunk, np.ndarray):
        raise ChunkError(f"chunk must be bytes or a numpy array, got {type(chunk).__name__}")
    if chunk.ndim != 1:
        raise ChunkError(f"chunk must be mono 1-D (samples,), got shape {chunk.shape}")
    if chunk.dtype == np.int16:
        return chunk.astype(np.float32) / 32768.0
    if chunk.dtype not in (np.float32, np.float64):
        raise ChunkError(f"unsupported chunk dtype {chunk.dtype}: use float32 in [-1, 1] or "
                         "int16 PCM")
    out = chunk.astype(np.float32, copy=False)
    if not np.all(np.isfinite(out)):
        raise ChunkError("chunk contains NaN or infinite samples")
    return np.clip(out, -1.0, 1.0)


def common_prefix(a: list[str], b: list[str]) -> list[str]:
    n = 0
    for x, y in zip(a, b, strict=False):
        if _norm(x) != _norm(y):
            break
        n += 1
    return a[:n]


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


@dataclass
class _Utterance:
    id: int
    start: int  # sample index (16 kHz) of the padded start
    last_speech: int  # sample index where speech was last heard
    hyps: list[list[str]] = field(default_factory=list)
    stable: list[str] = field(default_factory=list)
    decoded_upto: int = 0  # sample index of the last partial decode
    last_text: str = ""


class StreamingRecognizer:
    """One audio stream. `feed(chunk)` and `finish()` return lists of `StreamEvent`."""

    def __init__(self, recognizer: Recognizer, options: TranscribeOptions | None = None,
                 streaming: StreamingOptions | None = None,
                 clock: Callable[[], float] | None = None,
                 scheduler: DecodeScheduler | None = None, biaser=None) -> None:
        """`scheduler`, shared by the streams (and REST requests) of one process, runs the
        decodes on one engine worker with finals first: a final waits its turn, a partial
        is skipped while other work is queued, and partials of several streams are decoded
        together. Without one, this stream decodes on the caller's thread. `biaser` (a
        decode hook: `clinivox.biasing.load_biaser`) decides the finals' words; partials
        stay cheap and unbiased."""
        self.rec = recognizer
        self.biaser = biaser
        self._scheduler = scheduler
        self.options = options or TranscribeOptions()
        self.options.validate()
        recognizer.check_language(self.options.language)
        self.s = streaming or StreamingOptions()
        self.s.validate()
        self._final_opts = dataclasses.replace(self.options, vad=False)
        # Under load (finals queueing at the shared scheduler) a final encodes a shorter window:
        # 2.2x cheaper, +0.5 WER points on en_read_speech (docs/benchmarks.md).
        self._final_opts_loaded = dataclasses.replace(
            self._final_opts, encoder_margin_s=self.s.loaded_final_encoder_margin_s) \
            if self.s.loaded_final_encoder_margin_s is not None else self._final_opts
        self._partial_opts = dataclasses.replace(
            self.options, vad=False, beam_size=self.s.partial_beam_size,
            word_timestamps=False, temperatures=(0.0,),
            encoder_margin_s=self.s.partial_encoder_margin_s,
            max_tokens_per_s=self.s.partial_max_tokens_per_s)
        self._vad = SileroVad()
        self._resampler = None
        if self.s.sample_rate_hz != SAMPLE_RATE_HZ:
            import soxr

            self._resampler = soxr.ResampleStream(self.s.sample_rate_hz, SAMPLE_RATE_HZ, 1,
                                                  dtype="float32")
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # sample index of _buf[0]
        self._pos = 0  # samples received (16 kHz)
        self._vad_pos = 0  # samples scored by VAD
        self._utt: _Utterance | None = None
        self._next_id = 0
        self._pending_onset: int | None = None
        self._decode_cost_s = 0.0  # duration of the last partial decode
        self._wall = clock
        self._t0: float | None = None  # wall time of the stream's audio time 0
        self._sim_clock = 0.0
        self.events: list[StreamEvent] = []
        self._finished = False
        # a final decoded ahead of the endpoint: (utt id, start, end, events)
        self._spec: tuple[int, int, int, list[StreamEvent]] | None = None
        self.speculative = self.s.speculative_ms * SAMPLE_RATE_HZ // 1000
        self.pad = self.s.speech_pad_ms * SAMPLE_RATE_HZ // 1000
        self.endpoint = self.s.endpoint_silence_ms * SAMPLE_RATE_HZ // 1000
        self.min_speech = self.s.min_speech_ms * SAMPLE_RATE_HZ // 1000
        self.max_utt = int(self.s.max_utterance_s * SAMPLE_RATE_HZ)
        # The endpointer shared with batch segmentation: onset, hysteresis, silence run.
        self._ep = Endpointer(self.s.vad_threshold, Endpointer.default_neg(self.s.vad_threshold),
                              self.endpoint)

    # -- clock ---------------------------------------------------------------------------
    @property
    def audio_s(self) -> float:
        """Audio received so far, in seconds."""
        return self._pos / SAMPLE_RATE_HZ

    def _lag(self, t_start: float) -> float:
        """How far the stream clock is behind the audio received, in seconds."""
        if self._wall is not None:
            return self._now() - self.audio_s
        return self._sim_clock + (time.perf_counter() - t_start) - self.audio_s

    def _now(self) -> float:
        if self._wall is not None:
            return 0.0 if self._t0 is None else self._wall() - self._t0
        return self._sim_clock

    # -- public API ----------------------------------------------------------------------
    def feed(self, chunk: np.ndarray | bytes, sample_rate_hz: int | None = None
             ) -> list[StreamEvent]:
        """Add audio; returns the events it produced. Raises ChunkError on bad input."""
        if self._finished:
            raise ChunkError("stream already finished")
        if sample_rate_hz is not None and sample_rate_hz != self.s.sample_rate_hz:
            raise ChunkError(f"chunk sample rate {sample_rate_hz} Hz does not match the "
                             f"stream's {self.s.sample_rate_hz} Hz")
        audio = to_float32(chunk)
        if audio.shape[0] > MAX_CHUNK_S * self.s.sample_rate_hz:
            raise ChunkError(f"chunk longer than {MAX_CHUNK_S:.0f} s; feed smaller chunks")
        t_start = time.perf_counter()
        if self._wall is not None and self._t0 is None:
            # The clock starts with the audio, not with the object: the first chunk was
            # recorded over the chunk's duration before it arrived. (Anchoring at creation
            # counted session set-up as lag and shed every partial of a slow-starting stream.)
            self._t0 = self._wall() - audio.shape[0] / self.s.sample_rate_hz
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        self._sim_clock = max(self._sim_clock, (self._pos + audio.shape[0]) / SAMPLE_RATE_HZ)
        events = self._process(audio)
        self._sim_clock += time.perf_counter() - t_start
        return self._stamp(events)

    def finish(self) -> list[StreamEvent]:
        """End of stream: an open utterance is finalised (even mid-word)."""
        if self._finished:
            return []
        self._finished = True
        t_start = time.perf_counter()
        events = []
        if self._utt is not None:
            end = min(self._pos, self._utt.last_speech + self.pad)
            events = self._finalise(end, speech_end=max(self._utt.last_speech, end - self.pad))
        self._sim_clock += time.perf_counter() - t_start
        return self._stamp(events)

    # -- internals -----------------------------------------------------------------------
    def _stamp(self, events: list[StreamEvent]) -> list[StreamEvent]:
        out = []
        now = self._now()
        for e in events:
            out.append(dataclasses.replace(e, emitted_s=now, latency_s=now - e.end_s))
        self.events.extend(out)
        return out

    def _process(self, audio: np.ndarray) -> list[StreamEvent]:
        t_start = time.perf_counter()
        self._buf = np.concatenate([self._buf, audio]) if self._buf.size else audio.copy()
        self._pos += audio.shape[0]
        events: list[StreamEvent] = []
        probs = self._vad(audio)
        for p in probs:
            win_end = self._vad_pos + WINDOW_SAMPLES
            events += self._step(float(p), self._vad_pos, win_end)
            self._vad_pos = win_end
        utt = self._utt
        # Partials only while speech goes on (in the trailing silence the final is coming)
        # and while the stream keeps up: under load they are shed, finals never are.
        lagging = self._lag(t_start) > self.s.max_lag_s
        if utt is not None and utt.last_speech - utt.start >= self.min_speech \
                and self._ep.silence < 3 * WINDOW_SAMPLES and not lagging:
            interval = max(self.s.partial_interval_s, 1.5 * self._decode_cost_s)
            if (self._pos - utt.decoded_upto) / SAMPLE_RATE_HZ >= interval:
                events += self._partial()
        self._trim()
        return events

    def _step(self, p: float, win_start: int, win_end: int) -> list[StreamEvent]:
        activity = self._ep.step(p, win_start, win_end)
        if activity is Activity.IDLE:
            return []
        if activity is Activity.ONSET:
            start = max(self._buf_start, win_start - self.pad)
            self._utt = _Utterance(self._next_id, start, win_end, decoded_upto=win_start)
            self._next_id += 1
            return []
        utt = self._utt
        assert utt is not None  # the endpointer is active exactly while an utterance is open
        if activity is Activity.SPEECH:
            utt.last_speech = win_end
            self._spec = None  # speech resumed: a speculative final is stale
        silence = self._ep.silence
        valid = utt.last_speech - utt.start - self.pad >= self.min_speech
        if (valid and self._spec is None and self.speculative <= silence < self.endpoint
                and self._pos >= utt.last_speech + self.pad):
            # Decode the final now, while the endpoint silence is still running out.
            end = utt.last_speech + self.pad
            events = self._decode_final(utt, end, utt.last_speech, speculative=True)
            if events is not None:
                self._spec = (utt.id, utt.start, end, events)
        if self._ep.ended:
            if not valid:
                self._utt = None  # a click or a breath: drop
                self._ep.reset()
                return []
            return self._finalise(min(win_end, utt.last_speech + self.pad),
                                  speech_end=utt.last_speech)
        if win_end - utt.start >= self.max_utt:
            events = self._finalise(win_end, speech_end=win_end)
            if p >= self.s.vad_threshold:
                self._utt = _Utterance(self._next_id, win_end, win_end, decoded_upto=win_end)
                self._next_id += 1
                self._ep.start(win_end, win_end)
            return events
        return []

    def _audio(self, start: int, end: int) -> np.ndarray:
        return self._buf[max(0, start - self._buf_start):max(0, end - self._buf_start)]

    def _partial(self) -> list[StreamEvent]:
        utt = self._utt
        if utt is None:
            return []
        audio = self._audio(utt.start, self._pos)
        t = time.perf_counter()
        if self._scheduler is None:
            results = self.rec.engine.decode_batch([audio], self._partial_opts)
        else:
            maybe = self._scheduler.partial(audio, self._partial_opts)
            if maybe is None:
                return []  # other work comes first: skip this partial, try at the next chunk
            results = maybe
        self._decode_cost_s = time.perf_counter() - t
        utt.decoded_upto = self._pos
        text = " ".join(s.text.strip() for r in results for s in r.segments).strip()
        words = text.split()
        utt.hyps = ([*utt.hyps, words])[-self.s.agreement:]
        if len(utt.hyps) >= self.s.agreement:
            agreed = utt.hyps[0]
            for h in utt.hyps[1:]:
                agreed = common_prefix(agreed, h)
            if len(agreed) > len(utt.stable):
                utt.stable = agreed
        if not text or text == utt.last_text:
            return []
        utt.last_text = text
        return [_event("partial", utt.id, text, " ".join(utt.stable), utt.start,
                       min(self._pos, utt.last_speech + self.pad))]

    def _finalise(self, end: int, speech_end: int) -> list[StreamEvent]:
        utt = self._utt
        self._utt = None
        self._ep.reset()
        spec, self._spec = self._spec, None
        if utt is None:
            return []
        if spec is not None and spec[0] == utt.id and spec[1] == utt.start and spec[2] == end:
            return spec[3]
        return self._decode_final(utt, end, speech_end) or []

    def _decode_final(self, utt: _Utterance, end: int, speech_end: int,
                      speculative: bool = False) -> list[StreamEvent] | None:
        """The final's events. A speculative decode (ahead of the endpoint, wasted if speech
        resumes) only runs when the shared scheduler is idle: it returns None instead of waiting,
        so under load speculation never delays another stream's final."""
        audio = self._audio(utt.start, end)
        if audio.shape[0] < self.min_speech:
            return []
        def decode(contended: bool) -> list[Segment]:
            opts = self._final_opts_loaded if contended else self._final_opts
            return list(self.rec.transcribe(audio, opts, biaser=self.biaser)[0])

        if self._scheduler is None:
            segments = decode(False)
        elif speculative:
            maybe = self._scheduler.final(lambda _: decode(False), speculative=True)
            if maybe is None:
                return None
            segments = maybe
        else:
            segments = self._scheduler.final(decode) or []
        offset = utt.start / SAMPLE_RATE_HZ
        shifted = tuple(
            dataclasses.replace(
                s, start_s=s.start_s + offset, end_s=s.end_s + offset,
                words=tuple(dataclasses.replace(w, start_s=w.start_s + offset,
                                                end_s=w.end_s + offset) for w in s.words))
            for s in segments)
        text = " ".join(s.text for s in shifted).strip()
        words = tuple(w for s in shifted for w in s.words)
        if not text:
            return []
        return [_event("final", utt.id, text, text, utt.start, speech_end, words, shifted)]

    def _trim(self) -> None:
        """Drop audio that no utterance can need any more."""
        keep_from = self._utt.start if self._utt is not None else self._pos - self.pad
        keep_from = max(self._buf_start, keep_from)
        if keep_from > self._buf_start:
            self._buf = self._buf[keep_from - self._buf_start:]
            self._buf_start = keep_from


def latency_summary(events: list[StreamEvent]) -> dict[str, dict[str, float]]:
    """p50/p95/max latency per event kind, in seconds."""
    out: dict[str, dict[str, float]] = {}
    for kind in ("partial", "final"):
        lat = np.array([e.latency_s for e in events if e.kind == kind])
        if lat.size:
            out[kind] = {"count": int(lat.size), "p50_s": float(np.percentile(lat, 50)),
                         "p95_s": float(np.percentile(lat, 95)), "max_s": float(lat.max())}
    return out


def feed_file(stream: StreamingRecognizer, source, *, chunk_ms: int = 100,
              realtime: bool = False, on_event: Callable[[StreamEvent], None] | None = None
              ) -> list[StreamEvent]:
    """Feed a file to `stream` in `chunk_ms` chunks and finish it.

    With `realtime` the chunks are paced by the wall clock (as a microphone would deliver
    them); otherwise they are fed as fast as possible and the stream's simulated clock
    gives the latencies a real-time feed would have.
    """
    from clinivox.audio.decode import iter_audio

    if not 20 <= chunk_ms <= 500:
        raise ValueError(f"chunk_ms must be within 20-500 ms, got {chunk_ms}")
    n = SAMPLE_RATE_HZ * chunk_ms // 1000
    events: list[StreamEvent] = []
    t0 = time.monotonic()
    fed = 0
    pending = np.zeros(0, dtype=np.float32)

    def emit(evs: list[StreamEvent]) -> None:
        events.extend(evs)
        if on_event is not None:
            for e in evs:
                on_event(e)

    for block in iter_audio(source, sample_rate_hz=stream.s.sample_rate_hz):
        pending = np.concatenate([pending, block]) if pending.size else block
        while pending.shape[0] >= n:
            chunk, pending = pending[:n], pending[n:]
            fed += n
            if realtime:
                delay = fed / stream.s.sample_rate_hz - (time.monotonic() - t0)
                if delay > 0:
                    time.sleep(delay)
            emit(stream.feed(chunk))
    if pending.shape[0]:
        emit(stream.feed(pending))
    emit(stream.finish())
    return events
