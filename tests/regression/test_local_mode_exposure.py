"""Story: `--insecure-local` (keyless, loopback only) checked neither `Host` nor `Origin`. A
DNS-rebinding page (its own host name resolving to 127.0.0.1) read stored transcripts, and a
cross-origin page opened a stream. Keyless mode now serves only requests addressed to a
loopback name, and WebSockets only from the same origin."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from clinivox.serve.settings import ServerSettings, host_name, local_request_allowed
from tests.serve.conftest import LiveServer


def test_host_and_origin_rules():
    assert host_name("127.0.0.1:8000") == "127.0.0.1" and host_name("[::1]:80") == "::1"
    assert local_request_allowed("localhost:8000", None)
    assert local_request_allowed("127.0.0.1:8000", "http://127.0.0.1:8000")
    assert not local_request_allowed("attacker.example:8000", None)
    assert not local_request_allowed("127.0.0.1:8000", "http://attacker.example")
    assert not local_request_allowed("127.0.0.1:8000", "http://127.0.0.1:9999")
    assert not local_request_allowed(None, None)


@pytest.fixture(scope="module")
def local(recognizer, tmp_path_factory):
    live = LiveServer(ServerSettings(data_dir=tmp_path_factory.mktemp("local"),
                                     insecure_local=True), recognizer)
    yield live
    live.stop()


def test_rebound_host_is_refused(local):
    assert httpx.get(local.url + "/v1/sessions").status_code == 200
    r = httpx.get(local.url + "/v1/sessions",
                  headers={"Host": f"attacker.example:{local.settings.port}"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
    r = httpx.get(local.url + "/v1/sessions",
                  headers={"Origin": "http://attacker.example"})
    assert r.status_code == 403


def test_cross_origin_websocket_is_refused(local):
    async def opens(origin: str) -> bool:
        try:
            async with connect(local.ws_url, origin=origin) as ws:
                await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000}))
                return json.loads(await ws.recv())["type"] == "ready"
        except InvalidStatus as exc:
            assert exc.response.status_code == 403
            return False

    assert not asyncio.run(opens("http://attacker.example"))
    assert asyncio.run(opens(f"http://127.0.0.1:{local.settings.port}"))
