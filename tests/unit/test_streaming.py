"""Streaming recogniser: events, endpointing, latency accounting and bad chunks."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from clinivox.asr.scheduler import DecodeScheduler
from clinivox.asr.streaming import (
    ChunkError,
    StreamingOptions,
    StreamingRecognizer,
    common_prefix,
    feed_file,
    latency_summary,
    to_float32,
)
from clinivox.eval.metrics import wer
from clinivox.testing.synth import silence
from tests.conftest import SENTENCES


def feed(stream, audio, chunk=1600):
    events = []
    for i in range(0, audio.shape[0], chunk):
        events += stream.feed(audio[i:i + chunk])
    return events


def test_partials_then_finals_per_utterance(recognizer, speech):
    x = np.concatenate([silence(0.5), speech["clinic"], silence(1.5), speech["fox"],
                        silence(1.5)])
    stream = StreamingRecognizer(recognizer)
    events = feed(stream, x) + stream.finish()
    finals = [e for e in events if e.kind == "final"]
    partials = [e for e in events if e.kind == "partial"]
    assert len(finals) == 2
    assert wer(SENTENCES["clinic"], finals[0].text) <= 0.2
    assert wer(SENTENCES["fox"], finals[1].text) <= 0.2
    assert partials and all(p.utterance_id in (0, 1) for p in partials)
    # partials of an utterance come before its final, and timestamps are on the stream
    first_final = events.index(finals[0])
    assert any(e.kind == "partial" and e.utterance_id == 0 for e in events[:first_final])
    assert 0.2 <= finals[0].start_s <= 0.6
    assert finals[1].start_s > finals[0].end_s
    words = finals[1].words
    assert words and words[0].start_s >= finals[0].end_s
    for e in events:
        assert e.latency_s == pytest.approx(e.emitted_s - e.end_s)
        assert e.emitted_s >= e.end_s - 1e-6
    assert set(latency_summary(events)) == {"partial", "final"}


def test_final_is_emitted_when_the_stream_ends_mid_utterance(recognizer, speech):
    stream = StreamingRecognizer(recognizer)
    cut = speech["weather"][: int(0.7 * speech["weather"].shape[0])]
    events = feed(stream, np.concatenate([silence(0.3), cut]))
    assert not any(e.kind == "final" for e in events)
    finals = [e for e in stream.finish() if e.kind == "final"]
    assert len(finals) == 1 and "bright" in finals[0].text.lower()
    assert stream.finish() == []
    with pytest.raises(ChunkError, match="finished"):
        stream.feed(np.zeros(160, np.float32))


def test_silence_gives_no_events(recognizer):
    stream = StreamingRecognizer(recognizer)
    assert feed(stream, silence(5.0)) + stream.finish() == []


def test_pcm16_bytes_and_other_rates(recognizer, speech):
    import soxr

    x = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
    x48 = soxr.resample(x, 16_000, 48_000).astype(np.float32)
    pcm = (np.clip(x48, -1, 1) * 32767).astype("<i2").tobytes()
    stream = StreamingRecognizer(recognizer, streaming=StreamingOptions(sample_rate_hz=48_000))
    events = []
    step = 4800 * 2  # 100 ms of 48 kHz PCM16
    for i in range(0, len(pcm), step):
        events += stream.feed(pcm[i:i + step], sample_rate_hz=48_000)
    events += stream.finish()
    finals = [e for e in events if e.kind == "final"]
    assert finals and wer(SENTENCES["fox"], " ".join(f.text for f in finals)) <= 0.2


@pytest.mark.parametrize("chunk, message", [
    (np.zeros(100, dtype=np.int32), "unsupported chunk dtype"),
    (np.zeros(100, dtype=np.complex64), "unsupported chunk dtype"),
    (b"\x00\x01\x02", "odd byte count"),
    (np.array([0.0, np.nan, 0.1], dtype=np.float32), "NaN"),
    (np.zeros((100, 2), dtype=np.float32), "mono 1-D"),
    ("not audio", "bytes or a numpy array"),
])
def test_bad_chunks_raise_clear_errors(recognizer, chunk, message):
    stream = StreamingRecognizer(recognizer)
    with pytest.raises(ChunkError, match=message):
        stream.feed(chunk)
    # the stream stays usable after a rejected chunk
    assert stream.feed(np.zeros(1600, np.float32)) == []


def test_sample_rate_mismatch(recognizer):
    stream = StreamingRecognizer(recognizer)
    with pytest.raises(ChunkError, match="does not match"):
        stream.feed(np.zeros(800, np.float32), sample_rate_hz=8_000)


def test_oversized_chunk(recognizer):
    stream = StreamingRecognizer(recognizer)
    with pytest.raises(ChunkError, match="longer than"):
        stream.feed(np.zeros(31 * 16_000, np.float32))


def test_int16_arrays_are_scaled():
    assert to_float32(np.array([16384, -32768], np.int16)).tolist() == [0.5, -1.0]


def test_local_agreement_prefix():
    assert common_prefix(["the", "quick", "brown"], ["The", "quick,", "fox"]) == ["the", "quick"]


def test_invalid_streaming_options():
    with pytest.raises(ValueError):
        StreamingOptions(endpoint_silence_ms=50).validate()
    with pytest.raises(ValueError):
        StreamingOptions(max_utterance_s=40).validate()


def test_feed_file_and_alerts_end_to_end(recognizer, speech, tmp_path):
    import soundfile as sf

    from clinivox.alerts import AlertMonitor, AlertOptions
    from clinivox.testing.synth import synthesize

    x = np.concatenate([silence(0.5), speech["numbers"], silence(1.0),
                        synthesize("He has stopped breathing, get the bag valve mask."),
                        silence(1.0), synthesize("There is no history of seizures."),
                        silence(1.0)])
    path = tmp_path / "er.wav"
    sf.write(path, x, 16_000)
    monitor = AlertMonitor(options=AlertOptions(semantic=False))
    stream = StreamingRecognizer(recognizer)
    alerts = []
    feed_file(stream, path, chunk_ms=100, on_event=lambda e: alerts.extend(monitor.process(e)))
    assert [a.category for a in alerts] == ["respiratory_arrest"]
    assert alerts[0].latency_s < 2.0


def test_shared_scheduler_skips_partials_but_never_finals(recognizer, speech):
    """While another stream's final holds the engine, this stream's partials are skipped;
    its own final waits for the engine and arrives."""
    scheduler = DecodeScheduler(recognizer.engine)
    try:
        stream = StreamingRecognizer(recognizer, scheduler=scheduler)
        held, entered = threading.Event(), threading.Event()

        def other_final(_):
            entered.set()
            held.wait(30)

        other = threading.Thread(target=scheduler.final, args=(other_final,))
        other.start()
        assert entered.wait(10)
        x = np.concatenate([silence(0.3), speech["fox"]])
        assert [e for e in feed(stream, x) if e.kind == "partial"] == []
        held.set()
        other.join(10)
        finals = [e for e in feed(stream, silence(1.0)) + stream.finish() if e.kind == "final"]
        assert len(finals) == 1 and wer(SENTENCES["fox"], finals[0].text) <= 0.2
        assert scheduler.counts["final"] >= 2 and scheduler.counts["partial_skipped"] >= 1
    finally:
        scheduler.close()


def test_stream_clock_starts_with_the_audio_not_at_creation(recognizer, speech):
    now = [100.0]
    stream = StreamingRecognizer(recognizer, clock=lambda: now[0])
    now[0] += 5.0  # slow session set-up (model loading, database) before any audio
    x = np.concatenate([silence(0.3), speech["clinic"], silence(1.0)])
    events = []
    for i in range(0, x.shape[0], 1600):
        now[0] += 0.1  # chunks arrive in real time
        events += stream.feed(x[i:i + 1600])
    # set-up time is not lag: partials are decoded, latencies are those of the audio
    assert any(e.kind == "partial" for e in events)
    final = next(e for e in events if e.kind == "final")
    assert 0.0 <= final.latency_s < 1.5


def test_partials_with_a_short_encoder_window_match_the_full_window(recognizer, speech):
    import dataclasses

    from clinivox.asr.types import TranscribeOptions

    base = TranscribeOptions(language="en", vad=False, beam_size=1, word_timestamps=False,
                             temperatures=(0.0,))
    short = dataclasses.replace(base, encoder_margin_s=6.0, max_tokens_per_s=6.0)
    audio = speech["clinic"]
    full = recognizer.engine.decode_batch([audio], base)[0]
    fast = recognizer.engine.decode_batch([audio], short)[0]
    text = " ".join(s.text for s in fast.segments)
    assert wer(" ".join(s.text for s in full.segments), text) <= 0.15
    assert wer(SENTENCES["clinic"], text) <= 0.2
    for bad in ({"partial_encoder_margin_s": 0.5}, {"loaded_final_encoder_margin_s": 31.0},
                {"partial_max_tokens_per_s": 0.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            StreamingOptions(**bad).validate()
    for bad in ({"encoder_margin_s": 0.5}, {"max_tokens_per_s": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TranscribeOptions(**bad).validate()


def test_a_short_encoder_window_still_aligns_words(recognizer, speech):
    import dataclasses

    from clinivox.asr.types import TranscribeOptions

    audio = np.concatenate([silence(0.3), speech["fox"], silence(0.3)])
    options = TranscribeOptions(language="en", vad=False, encoder_margin_s=8.0)
    result = recognizer.engine.decode_batch([audio], options)[0]
    words = [w for s in result.segments for w in s.words]
    assert wer(SENTENCES["fox"], " ".join(s.text for s in result.segments)) <= 0.2
    duration = audio.shape[0] / 16_000
    assert words and all(0.0 <= w.start_s <= w.end_s <= duration + 1e-6 for w in words)
    assert all(a.start_s <= b.start_s for a, b in itertools.pairwise(words))
    full = recognizer.engine.decode_batch([audio], dataclasses.replace(
        options, encoder_margin_s=None))[0]
    ref = [w for s in full.segments for w in s.words]
    assert [w.word for w in words] == [w.word for w in ref]
    assert max(abs(a.start_s - b.start_s) for a, b in zip(words, ref, strict=True)) <= 0.2
