"""The store on a real PostgreSQL server, started here when its binaries are installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.serve.conftest import free_port

PG_CTL = shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl"


@pytest.fixture(scope="module")
def postgres_url():
    initdb = os.path.join(os.path.dirname(PG_CTL), "initdb")
    if not (os.path.exists(PG_CTL) and os.path.exists(initdb)):
        pytest.skip("PostgreSQL binaries not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="clinivox-pg-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    if as_user:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run([*as_user, initdb, "-D", data, "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, PG_CTL, "-D", data, "-w", "-l", os.path.join(root, "log"),
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, PG_CTL, "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_store_on_postgres(postgres_url):
    from clinivox.serve.db import ADMIN, Owner, Store

    store = Store(postgres_url)
    row, key = store.create_key("pg")
    assert store.check_key(key) == row.id
    sid = store.open_session("stream", "tiny.en", row.id, "en")
    store.add_segment(sid, 0, 0.0, 1.5, "first final", [{"word": " first"}])
    store.add_segment(sid, 1, 2.0, 3.0, "second final", [])
    store.add_alert(sid, {"category": "seizure", "text": "seizing", "audio_start_s": 2.0,
                          "audio_end_s": 3.0, "latency_s": 0.4})
    store.close_session(sid, "done", 3.0)
    got = store.get_session(sid, Owner(row.id))
    assert [s["text"] for s in got["segments"]] == ["first final", "second final"]
    assert got["alerts"][0]["category"] == "seizure" and got["status"] == "done"
    assert store.list_sessions(ADMIN)[0]["id"] == sid
    other = store.create_key("other")[0]
    assert store.get_session(sid, Owner(other.id)) is None
    assert store.list_sessions(Owner(other.id)) == []
    assert store.delete_session(sid, Owner(row.id))
    assert store.get_session(sid, ADMIN) is None
    Store(postgres_url)  # migrating an up-to-date schema again is a no-op


def test_server_on_postgres(postgres_url, recognizer, dictation, tmp_path):
    import httpx

    from clinivox.serve.settings import ServerSettings
    from tests.serve.conftest import LiveServer

    live = LiveServer(ServerSettings(data_dir=tmp_path, database_url=postgres_url), recognizer)
    try:
        key = live.key()
        path, _ = dictation
        r = httpx.post(live.url + "/v1/audio/transcriptions", timeout=120,
                       files={"file": path.read_bytes()},
                       headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and "fox" in r.json()["text"].lower()
    finally:
        live.stop()
