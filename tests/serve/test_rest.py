"""REST over real sockets: the official openai client, auth, limits, errors, overload."""

from __future__ import annotations

import concurrent.futures
from dataclasses import replace

import httpx
import numpy as np
import pytest

from clinivox.asr.scheduler import BatchingOptions
from clinivox.eval.metrics import wer
from clinivox.serve.settings import ServerSettings
from tests.conftest import SENTENCES
from tests.serve.conftest import LiveServer, wav_bytes


def test_openai_client_unchanged(server, api_key, dictation):
    from openai import OpenAI

    path, _ = dictation
    oa = OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0)
    with open(path, "rb") as f:
        plain = oa.audio.transcriptions.create(model="whisper-1", file=f)
    assert wer(SENTENCES["clinic"], plain.text.split(".")[0]) <= 0.2
    assert "cardiac arrest" in plain.text.lower()
    with open(path, "rb") as f:
        verbose = oa.audio.transcriptions.create(
            model="whisper-1", file=f, response_format="verbose_json",
            timestamp_granularities=["word", "segment"], language="en")
    assert verbose.language == "en" and verbose.duration > 5
    assert verbose.segments and verbose.words
    starts = [w.start for w in verbose.words]
    assert starts == sorted(starts)
    with open(path, "rb") as f:
        text = oa.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
    assert isinstance(text, str) and "fox" in text.lower()
    with open(path, "rb") as f:
        srt = oa.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
    assert "-->" in srt and srt.lstrip().startswith("1")
    with open(path, "rb") as f:
        vtt = oa.audio.transcriptions.create(model="whisper-1", file=f, response_format="vtt")
    assert vtt.startswith("WEBVTT")


def test_auth_failures(server, dictation):
    path, _ = dictation
    with httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.get("/healthz").status_code == 200
        for endpoint in ("/metrics", "/v1/sessions", "/v1/models"):
            assert c.get(endpoint).status_code == 401
        r = c.post("/v1/audio/transcriptions", files={"file": path.read_bytes()})
        assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
        bad = c.get("/v1/sessions", headers={"Authorization": "Bearer cvx_not-a-key"})
        assert bad.status_code == 401
        key = server.key("to-revoke")
        ok = c.get("/v1/sessions", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        key_id = server.state.store.check_key(key)
        server.state.store.revoke_key(key_id)
        assert c.get("/v1/sessions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_keys_are_hashed_at_rest(server):
    key = server.key("hash-check")
    rows = server.state.store.list_keys()
    assert all(key not in (r.key_hash, r.prefix, r.name) for r in rows)
    assert any(r.key_hash == server.state.store.hash_key(key) for r in rows)


def test_bad_uploads_get_4xx_and_the_server_stays_up(client):
    r = client.post("/v1/audio/transcriptions", files={"file": ("notes.wav", b"text, not audio")})
    assert r.status_code == 415 and r.json()["error"]["type"] == "AudioDecodeError"
    r = client.post("/v1/audio/transcriptions", files={"file": ("e.wav", b"")})
    assert r.status_code == 400
    r = client.post("/v1/audio/transcriptions", data={"model": "whisper-1"})
    assert r.status_code == 400
    r = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav_bytes(
        np.zeros(16000, np.float32)))}, data={"response_format": "yaml"})
    assert r.status_code == 400
    r = client.post("/v1/audio/transcriptions", content=b"{}",
                    headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    assert client.get("/healthz").status_code == 200


def test_metrics_count_requests(client):
    client.get("/v1/models")
    text = client.get("/metrics").text
    assert "clinivox_requests_total" in text and "clinivox_batch_size" in text


def test_sessions_listing_and_unknown_session(client):
    assert client.get("/v1/sessions/does-not-exist").status_code == 404
    assert isinstance(client.get("/v1/sessions").json()["data"], list)


def test_oversize_upload_is_413(recognizer, tmp_path):
    live = LiveServer(ServerSettings(data_dir=tmp_path, max_upload_bytes=64 * 1024),
                      recognizer)
    try:
        key = live.key()
        big = wav_bytes(np.zeros(16000 * 5, np.float32))  # 160 kB > 64 kB
        r = httpx.post(live.url + "/v1/audio/transcriptions", files={"file": ("big.wav", big)},
                       headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert r.status_code == 413
        assert httpx.get(live.url + "/healthz").status_code == 200
    finally:
        live.stop()


def test_overload_answers_503_not_unbounded_memory(recognizer, tmp_path, dictation):
    settings = ServerSettings(data_dir=tmp_path, batching=BatchingOptions(queue_limit=2))
    live = LiveServer(settings, recognizer)
    try:
        key = live.key()
        _, audio = dictation
        body = wav_bytes(np.concatenate([audio] * 3))  # several chunks per request

        def post(_):
            return httpx.post(live.url + "/v1/audio/transcriptions",
                              files={"file": ("d.wav", body)}, timeout=300,
                              headers={"Authorization": f"Bearer {key}"}).status_code

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(post, range(6)))
        assert 503 in codes
        assert set(codes) <= {200, 503}
        assert httpx.get(live.url + "/healthz").status_code == 200
    finally:
        live.stop()


def test_insecure_local_needs_loopback(recognizer, tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        ServerSettings(host="0.0.0.0", insecure_local=True).validate()
    live = LiveServer(ServerSettings(data_dir=tmp_path, insecure_local=True), recognizer)
    try:
        assert httpx.get(live.url + "/v1/sessions").status_code == 200
    finally:
        live.stop()


def test_batching_groups_concurrent_requests(recognizer, tmp_path, speech):
    live = LiveServer(replace(ServerSettings(data_dir=tmp_path),
                              batching=BatchingOptions(max_wait_ms=200)), recognizer)
    try:
        key = live.key()
        body = wav_bytes(speech["fox"])
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            texts = list(pool.map(lambda _: httpx.post(
                live.url + "/v1/audio/transcriptions", files={"file": ("f.wav", body)},
                headers={"Authorization": f"Bearer {key}"}, timeout=120).json()["text"],
                range(4)))
        assert all(wer(SENTENCES["fox"], t) <= 0.15 for t in texts)
        sizes = live.state.metrics.batch_size.collect()[0].samples
        total = next(s.value for s in sizes if s.name.endswith("_sum"))
        count = next(s.value for s in sizes if s.name.endswith("_count"))
        assert total == 4 and count < 4  # four requests, fewer decode calls
    finally:
        live.stop()


def test_medical_and_diarize_extensions(server, api_key):
    """`medical` and `diarize` form fields (sent through the openai client's extra_body):
    recognised terms with codes, and speaker-labelled segments with roles."""
    import soundfile as sf
    from openai import OpenAI

    from clinivox.testing.synth import silence, synthesize
    from tests.unit.test_diarize import shifted_voice

    x = np.concatenate([synthesize("Good morning, what brings you in today? How long have you "
                                   "been unwell?"), silence(0.5),
                        shifted_voice(synthesize("I have had a cough and a fever since Sunday. "
                                                 "I have diabetes and I take metformin every "
                                                 "morning."), 0.78),
                        silence(0.5),
                        synthesize("I will prescribe amoxicillin and we will see you next "
                                   "week.")])
    import io

    buf = io.BytesIO()
    sf.write(buf, x, 16_000, format="WAV", subtype="PCM_16")
    oa = OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0)
    out = oa.audio.transcriptions.create(
        model="whisper-1", file=("visit.wav", buf.getvalue()), response_format="verbose_json",
        extra_body={"medical": "true", "diarize": "true"})
    body = out.model_dump()
    codes = {t["code"] for t in body["terms"]}
    assert "amoxicillin" in codes
    roles = {s["speaker"]: s["role"] for s in body["speakers"]}
    assert sorted(roles.values()) == ["clinician", "patient"]
    assert {s["speaker"] for s in body["segments"]} == set(roles)
