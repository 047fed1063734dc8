"""Transcripts encrypted at rest (AES-GCM): no transcript text in the database files, a
wrong or missing key refused with a clear error and no data lost, key rotation."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from clinivox.serve.crypto import StorageKeyError, new_key
from clinivox.serve.db import ADMIN, Store, database_url
from clinivox.serve.settings import ServerSettings
from tests.serve.conftest import LiveServer, pcm_frames
from tests.serve.test_stream import run_session

SECRET = "Margaret Thornbury has crushing chest pain"


def _raw(data_dir) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("clinivox"))


def test_no_transcript_text_in_the_database_files(tmp_path):
    key = base64.b64decode(new_key())
    store = Store(database_url(tmp_path, None), storage_key=key)
    sid = store.open_session("stream", "tiny.en", None)
    store.add_segment(sid, 0, 0.0, 2.0, SECRET, [{"word": " Thornbury", "start_s": 0.1}])
    store.add_alert(sid, {"category": "cardiac_arrest", "text": "crushing chest pain",
                          "audio_start_s": 0.0, "audio_end_s": 2.0, "latency_s": 0.1})
    raw = _raw(tmp_path)
    assert b"Thornbury" not in raw and b"crushing" not in raw
    got = store.get_session(sid, ADMIN)
    assert got["text"] == SECRET and got["segments"][0]["words"][0]["word"] == " Thornbury"
    assert got["alerts"][0]["text"] == "crushing chest pain"


def test_wrong_or_missing_key_is_refused_and_nothing_is_lost(tmp_path):
    url = database_url(tmp_path, None)
    key, other = base64.b64decode(new_key()), base64.b64decode(new_key())
    store = Store(url, storage_key=key)
    sid = store.open_session("stream", "tiny.en", None)
    store.add_segment(sid, 0, 0.0, 2.0, SECRET, [])
    with pytest.raises(StorageKeyError, match="another storage key"):
        Store(url, storage_key=other)
    with pytest.raises(StorageKeyError, match="give the storage key"):
        Store(url)
    assert Store(url, storage_key=key).get_session(sid, ADMIN)["text"] == SECRET


def test_cli_refuses_a_wrong_key_and_rotates(tmp_path):
    url = database_url(tmp_path / "d", None)
    k1, k2 = new_key(), new_key()
    store = Store(url, storage_key=base64.b64decode(k1))
    sid = store.open_session("stream", "tiny.en", None)
    store.add_segment(sid, 0, 0.0, 2.0, SECRET, [])
    run = [sys.executable, "-m", "clinivox.cli.main"]
    env = {**os.environ, "CLINIVOX_STORAGE_KEY": k2}
    proc = subprocess.run([*run, "serve", "--data-dir", str(tmp_path / "d"), "--port", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "another storage key" in proc.stderr
    assert "Traceback" not in proc.stderr
    new_file = tmp_path / "new.key"
    new_file.write_text(k2)
    env["CLINIVOX_STORAGE_KEY"] = k1
    subprocess.run([*run, "keys", "--data-dir", str(tmp_path / "d"), "rotate-storage",
                    "--new-key-file", str(new_file)], check=True, env=env,
                   capture_output=True, text=True, timeout=120)
    assert Store(url, storage_key=base64.b64decode(k2)).get_session(sid, ADMIN)["text"] \
        == SECRET
    with pytest.raises(StorageKeyError):
        Store(url, storage_key=base64.b64decode(k1))


def test_live_stream_is_stored_encrypted(recognizer, tmp_path, speech):
    from clinivox.testing.synth import silence

    key = base64.b64decode(new_key())
    live = LiveServer(ServerSettings(data_dir=tmp_path, storage_key=key), recognizer)
    try:
        api = live.key()
        audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
        events = asyncio.run(run_session(f"{live.ws_url}?api_key={api}", pcm_frames(audio)))
        stored = live.state.store.get_session(events[0]["session_id"], ADMIN)
        assert "fox" in stored["text"].lower()
        assert b"brown fox" not in _raw(tmp_path) and b"lazy dog" not in _raw(tmp_path)
    finally:
        live.stop()


def test_access_is_audited_without_text(recognizer, tmp_path, speech):
    import httpx

    from clinivox.testing.synth import silence

    live = LiveServer(ServerSettings(data_dir=tmp_path), recognizer)
    try:
        alice, bob = live.key("alice"), live.key("bob")
        audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
        sid = asyncio.run(run_session(f"{live.ws_url}?api_key={alice}",
                                      pcm_frames(audio)))[0]["session_id"]
        httpx.get(f"{live.url}/v1/sessions/{sid}", headers={"Authorization": f"Bearer {bob}"})
        httpx.get(f"{live.url}/v1/sessions/{sid}",
                  headers={"Authorization": f"Bearer {alice}"})
        log = live.state.store.audit_log()
        reads = [(e["key_id"], e["status"]) for e in log if e["action"] == "session.read"]
        ids = {k: live.state.store.check_key(v) for k, v in (("a", alice), ("b", bob))}
        assert (ids["b"], 404) in reads and (ids["a"], 200) in reads
        assert any(e["action"] == "stream.open" and e["target"] == sid for e in log)
        assert "fox" not in str(log).lower()
    finally:
        live.stop()


def test_audio_retention_encrypted_owner_only_deleted_and_purged(recognizer, tmp_path,
                                                                  speech):
    """--retain-audio-days keeps a stream's audio encrypted: the owner gets it back
    sample for sample, another key does not, it goes with its session and after the
    retention period, and it is never kept without the storage key or with PHI
    redaction."""
    import io
    import wave

    import httpx

    from clinivox.testing.synth import silence

    with pytest.raises(ValueError, match="needs the storage key"):
        ServerSettings(retain_audio_days=7).validate()
    key = base64.b64decode(new_key())
    live = LiveServer(ServerSettings(data_dir=tmp_path, storage_key=key,
                                     retain_audio_days=7), recognizer)
    try:
        alice, bob = live.key("alice"), live.key("bob")
        audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
        frames = pcm_frames(audio)
        sid = asyncio.run(run_session(f"{live.ws_url}?api_key={alice}",
                                      frames))[0]["session_id"]
        kept = tmp_path / "audio" / f"{sid}.cvxa"
        assert kept.is_file() and (kept.stat().st_mode & 0o777) == 0o600
        assert (kept.parent.stat().st_mode & 0o777) == 0o700
        assert b"".join(frames)[1000:1064] not in kept.read_bytes()  # not plain PCM
        url = f"{live.url}/v1/sessions/{sid}/audio"
        got = httpx.get(url, headers={"Authorization": f"Bearer {alice}"})
        assert got.status_code == 200 and got.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(got.content)) as w:
            assert w.getframerate() == 16000
            assert w.readframes(w.getnframes()) == b"".join(frames)
        assert httpx.get(url, headers={"Authorization": f"Bearer {bob}"}).status_code == 404
        # a session with PHI redaction keeps no audio
        red = asyncio.run(run_session(f"{live.ws_url}?api_key={alice}", frames,
                                      {"type": "config", "sample_rate_hz": 16000,
                                       "redact_phi": True}))[0]["session_id"]
        assert not (tmp_path / "audio" / f"{red}.cvxa").exists()
        # expiry: a file older than the period is purged
        old = time.time() - 8 * 86400
        os.utime(kept, (old, old))
        assert httpx.get(url, headers={"Authorization": f"Bearer {alice}"}).status_code \
            == 404
        assert live.state.audio.purge() == 1 and not kept.exists()
        sid2 = asyncio.run(run_session(f"{live.ws_url}?api_key={alice}",
                                       frames))[0]["session_id"]
        assert (tmp_path / "audio" / f"{sid2}.cvxa").exists()
        httpx.delete(f"{live.url}/v1/sessions/{sid2}",
                     headers={"Authorization": f"Bearer {alice}"})
        assert not (tmp_path / "audio" / f"{sid2}.cvxa").exists()
    finally:
        live.stop()


def test_kept_audio_rotates_and_refuses_a_wrong_key(tmp_path):
    from clinivox.serve.audio_store import AudioStore

    k1, k2 = base64.b64decode(new_key()), base64.b64decode(new_key())
    store = AudioStore(tmp_path, k1, 86400)
    pcm = (np.arange(48000) % 200 - 100).astype("<i2").tobytes()
    w = store.writer("abc", 16000)
    w.write(pcm)
    w.close()
    assert store.rotate(k2) == 1
    with pytest.raises(StorageKeyError, match="another storage key"):
        store.read_wav("abc")
    wav = AudioStore(tmp_path, k2, 86400).read_wav("abc")
    assert wav is not None and wav.endswith(pcm)
    data = bytearray((tmp_path / "abc.cvxa").read_bytes())
    data[-5] ^= 1  # a flipped bit fails authentication
    (tmp_path / "abc.cvxa").write_bytes(bytes(data))
    with pytest.raises(StorageKeyError, match="authentication"):
        AudioStore(tmp_path, k2, 86400).read_wav("abc")
