"""Transcripts encrypted at rest (AES-GCM): no transcript text in the database files, a
wrong or missing key refused with a clear error and no data lost, key rotation."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys

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
