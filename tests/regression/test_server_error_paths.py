"""Story: the error paths of the server, from a security probe.

- A WebSocket closed before its config logged a 74-line traceback per connection, so an
  unauthenticated client could flood the log.
- A bad `language` answered 500 on REST and on the WebSocket; a list or dict value crashed
  the session with no error event.
- A NUL byte in a static path answered 500.
- Unknown `model` names were silently served by tiny.en.
- Error bodies came in two shapes (`{"error": ...}`, FastAPI's `{"detail": ...}`), and a 422
  echoed the input back.
- `stream=true` returned an empty stream; a 10 MB `prompt` stalled every client.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.serve.conftest import wav_bytes


def test_close_before_config_storm_logs_nothing(server, caplog):
    async def storm(n: int) -> None:
        for _ in range(n):
            async with connect(server.ws_url):
                pass  # closes at once, before any config

    with caplog.at_level(logging.WARNING):
        asyncio.run(storm(100))
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage()[:200] for r in noisy[:3]]
    assert httpx.get(server.url + "/healthz").status_code == 200


@pytest.mark.parametrize("language", ["zh", "klingon", ["en"], {"x": 1}, 7])
def test_bad_stream_language_is_bad_config(server, api_key, language):
    async def go():
        async with connect(f"{server.ws_url}?api_key={api_key}") as ws:
            await ws.send(json.dumps({"type": "config", "language": language}))
            first = json.loads(await ws.recv())
            await ws.wait_closed()
            return first, ws.close_code

    first, code = asyncio.run(go())
    assert first["type"] == "error" and first["code"] == "bad_config" and code == 4400


def test_rest_error_paths(client):
    wav = ("a.wav", wav_bytes(np.zeros(16000, np.float32)))
    r = client.post("/v1/audio/transcriptions", files={"file": wav}, data={"language": "zh"})
    assert r.status_code == 400 and "English-only" in r.json()["error"]["message"]
    r = client.post("/v1/audio/transcriptions", files={"file": wav}, data={"model": "gpt-9"})
    assert r.status_code == 400 and "unknown model" in r.json()["error"]["message"]
    for alias in ("whisper-1", "tiny.en"):
        ok = client.post("/v1/audio/transcriptions", files={"file": wav}, data={"model": alias})
        assert ok.status_code == 200, ok.text
    r = client.post("/v1/audio/transcriptions", files={"file": wav}, data={"stream": "true"})
    assert r.status_code == 400 and "/v1/stream" in r.json()["error"]["message"]
    r = client.post("/v1/audio/transcriptions", files={"file": wav},
                    data={"prompt": "aspirin " * 600})
    assert r.status_code == 400 and "prompt" in r.json()["error"]["message"]
    r = client.post("/v1/audio/transcriptions", files={"file": wav},
                    data={"prompt": "x" * (1024 * 1024)})
    assert r.status_code in (400, 413) and "error" in r.json()
    assert client.get("/static/app%00.js").status_code == 404
    r = client.get("/no/such/route")
    assert r.status_code == 404 and set(r.json()) == {"error"}
    r = client.get("/v1/sessions", params={"limit": "chest-pain-secret"})
    assert r.status_code == 422 and set(r.json()) == {"error"}
    assert "chest-pain-secret" not in r.text
    assert client.get("/healthz").status_code == 200
