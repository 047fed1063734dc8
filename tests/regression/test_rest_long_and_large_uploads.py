"""Story: REST refused or mishandled long and large inputs.

- A request queued all its 30 s chunks at once: past the queue limit (64) the whole request
  got 503 with `Retry-After: 1`, even on an idle server and after decoding the whole file,
  so about 32 minutes of speech could never be transcribed (the documented limit is 4 h).
  `plan()` also held every chunk: ~230 MB per hour of speech.
- A chunked upload (no Content-Length) passed `--max-upload-mb` until the whole body was
  spooled to disk (3 GiB in the probe).
- A container without a duration header (live WebM, as browsers record) skipped
  `--max-audio-s`: 6 h were decoded.
- A failed metadata write turned a finished transcription into a 500.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest

from clinivox.asr.scheduler import BatchingOptions, DecodeScheduler, Overloaded
from clinivox.serve.settings import ServerSettings
from clinivox.testing.synth import silence
from tests.serve.conftest import LiveServer, wav_bytes


def test_more_chunks_than_the_queue_holds_are_transcribed(recognizer, tmp_path, speech):
    live = LiveServer(ServerSettings(data_dir=tmp_path,
                                     batching=BatchingOptions(queue_limit=2, max_batch_size=2)),
                      recognizer)
    try:
        key = live.key()
        piece = np.concatenate([speech["fox"], silence(1.0), speech["weather"], silence(1.0)])
        n = int(np.ceil(100 * 16000 / piece.shape[0]))  # 100 s: about 4 chunks > limit 2
        body = wav_bytes(np.concatenate([piece] * n))
        r = httpx.post(live.url + "/v1/audio/transcriptions", files={"file": ("l.wav", body)},
                       data={"response_format": "verbose_json"},
                       headers={"Authorization": f"Bearer {key}"}, timeout=600)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["text"].lower().count("fox") >= n - 1
        assert out["segments"][-1]["end"] > 90
    finally:
        live.stop()


def test_overload_retry_after_follows_the_queue():
    batcher = DecodeScheduler(engine=None, options=BatchingOptions(queue_limit=4))
    try:
        with batcher.reserve(4):
            with pytest.raises(Overloaded) as caught, batcher.reserve(1):
                pass
            assert int(caught.value.headers["Retry-After"]) >= 1
        with batcher.reserve(4):  # released: admitted again
            pass
    finally:
        batcher.close()


def _chunked(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_upload_over_the_limit_is_413(recognizer, tmp_path):
    live = LiveServer(ServerSettings(data_dir=tmp_path, max_upload_bytes=256 * 1024),
                      recognizer)
    try:
        key = live.key()
        boundary = "cvxboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"big.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
        body = head + b"\x00" * (4 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
        r = httpx.post(live.url + "/v1/audio/transcriptions", content=_chunked(body),
                       headers={"Authorization": f"Bearer {key}",
                                "Content-Type": f"multipart/form-data; boundary={boundary}"},
                       timeout=60)
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413 and "error" in r.json()
        assert httpx.get(live.url + "/healthz").status_code == 200
    finally:
        live.stop()


def _live_webm(seconds: float) -> bytes:
    """Opus in WebM written as a live recorder does: no duration in the header."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        rng = np.random.default_rng(0)
        pcm = (rng.standard_normal(int(48000 * seconds)) * 300).astype(np.int16)
        for i in range(0, pcm.shape[0], 960):
            frame = av.AudioFrame.from_ndarray(pcm[None, i:i + 960], format="s16",
                                               layout="mono")
            frame.sample_rate = 48000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def test_webm_without_duration_is_held_to_max_audio_s(recognizer, tmp_path):
    from clinivox.audio.decode import probe

    data = _live_webm(30.0)
    assert probe(io.BytesIO(data)).duration_s is None
    live = LiveServer(ServerSettings(data_dir=tmp_path, max_audio_s=10.0), recognizer)
    try:
        key = live.key()
        r = httpx.post(live.url + "/v1/audio/transcriptions",
                       files={"file": ("live.webm", data)},
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)
        assert r.status_code == 413 and r.json()["error"]["type"] == "AudioTooLongError"
    finally:
        live.stop()


def test_failed_metadata_write_still_returns_the_transcript(recognizer, tmp_path, speech):
    from sqlalchemy.exc import OperationalError

    live = LiveServer(ServerSettings(data_dir=tmp_path), recognizer)
    try:
        key = live.key()

        def locked(*_args, **_kwargs):
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))

        live.state.store.log_request = locked  # fault injection on the real server
        r = httpx.post(live.url + "/v1/audio/transcriptions",
                       files={"file": ("f.wav", wav_bytes(speech["fox"]))},
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)
        assert r.status_code == 200 and "fox" in r.json()["text"].lower()
        metrics = httpx.get(live.url + "/metrics",
                            headers={"Authorization": f"Bearer {key}"}).text
        assert 'clinivox_store_failures_total{what="request_log"} 1.0' in metrics
    finally:
        live.stop()
