"""Story: `GET /v1/sessions` and `GET /v1/sessions/{id}` ignored the caller's key, so any key
read every other key's transcripts (a security probe listed another tenant's consultation
with a fresh key). Sessions now belong to their key; an admin key sees all; owners can
delete. Driven through the real server and a real stream."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from clinivox.serve.settings import ServerSettings
from tests.serve.conftest import LiveServer, pcm_frames


@pytest.fixture(scope="module")
def live(recognizer, tmp_path_factory):
    server = LiveServer(ServerSettings(data_dir=tmp_path_factory.mktemp("tenants"),
                                       insecure_local=True), recognizer)
    yield server
    server.stop()


def _stream(url: str, audio: np.ndarray) -> str:
    async def go() -> str:
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000}))
            session_id = json.loads(await ws.recv())["session_id"]
            for frame in pcm_frames(audio):
                await ws.send(frame)
            await ws.send(json.dumps({"type": "end"}))
            async for _ in ws:
                pass
            return session_id

    return asyncio.run(go())


def test_a_key_reads_and_deletes_only_its_own_sessions(live, speech):
    alice, bob = live.key("alice"), live.key("bob")
    admin = live.state.store.create_key("ops", scope="admin")[1]
    from clinivox.testing.synth import silence

    audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
    sid = _stream(f"{live.ws_url}?api_key={alice}", audio)

    def client(key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=live.url, headers=headers, timeout=30)

    with client(alice) as a, client(bob) as b, client(admin) as root, client(None) as local:
        mine = a.get(f"/v1/sessions/{sid}")
        assert mine.status_code == 200 and "fox" in mine.json()["text"].lower()
        assert [s["id"] for s in a.get("/v1/sessions").json()["data"]] == [sid]
        # another key: not listed, not readable, not deletable, and told apart from nothing
        assert b.get("/v1/sessions").json()["data"] == []
        r = b.get(f"/v1/sessions/{sid}")
        assert r.status_code == 404 and "fox" not in r.text.lower()
        assert b.delete(f"/v1/sessions/{sid}").status_code == 404
        # keyless local use sees only keyless sessions, never a key's
        assert local.get(f"/v1/sessions/{sid}").status_code == 404
        assert sid not in [s["id"] for s in local.get("/v1/sessions").json()["data"]]
        # an admin key sees every key's sessions
        assert sid in [s["id"] for s in root.get("/v1/sessions").json()["data"]]
        assert root.get(f"/v1/sessions/{sid}").status_code == 200
        # the owner deletes: the session, its segments and alerts are gone
        assert a.delete(f"/v1/sessions/{sid}").json() == {"id": sid, "deleted": True}
        assert a.get(f"/v1/sessions/{sid}").status_code == 404
        assert root.get(f"/v1/sessions/{sid}").status_code == 404
        assert a.delete(f"/v1/sessions/{sid}").status_code == 404


def test_keys_cli_creates_admin_keys(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "keys", "--data-dir",
                          str(tmp_path), "create", "ops", "--admin"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["scope"] == "admin"
    listed = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "keys", "--data-dir",
                             str(tmp_path), "list"], capture_output=True, text=True, check=True)
    assert json.loads(listed.stdout.splitlines()[0])["scope"] == "admin"
