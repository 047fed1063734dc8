"""WebSocket /v1/stream over real sockets: events, persistence, malformed input, auth."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from clinivox.eval.metrics import wer
from tests.conftest import SENTENCES
from tests.serve.conftest import pcm_frames


async def run_session(url: str, frames: list[bytes], config: dict | None = None,
                      extra: list | None = None) -> list[dict]:
    events = []
    async with connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps(config or {"type": "config", "sample_rate_hz": 16000}))
        events.append(json.loads(await ws.recv()))
        for i, frame in enumerate(frames):
            await ws.send(frame)
            if extra and i == 5:
                for msg in extra:
                    await ws.send(msg)
        await ws.send(json.dumps({"type": "end"}))
        async for message in ws:
            events.append(json.loads(message))
    return events


def test_stream_events_are_persisted(server, api_key, dictation, client):
    _, audio = dictation
    events = asyncio.run(run_session(f"{server.ws_url}?api_key={api_key}", pcm_frames(audio)))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ready" and kinds[-1] == "done"
    finals = [e for e in events if e["type"] == "final"]
    assert len(finals) >= 3 and "partial" in kinds
    assert wer(SENTENCES["clinic"], finals[0]["text"]) <= 0.2
    alerts = [e for e in events if e["type"] == "alert"]
    assert [a["category"] for a in alerts] == ["cardiac_arrest"], alerts
    stored = client.get(f"/v1/sessions/{events[0]['session_id']}").json()
    assert [s["text"] for s in stored["segments"]] == [f["text"] for f in finals]
    assert stored["alerts"][0]["category"] == "cardiac_arrest"
    assert stored["status"] == "done" and stored["audio_s"] > 5


def test_malformed_frames_get_error_events_and_the_session_goes_on(server, api_key, speech):
    import numpy as np

    from clinivox.testing.synth import silence

    audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])
    events = asyncio.run(run_session(
        f"{server.ws_url}?api_key={api_key}", pcm_frames(audio),
        extra=[b"\x01\x02\x03", "not json", json.dumps({"type": "dance"}),
               b"\x00" * (2 * 1024 * 1024 - 16)]))
    codes = [e["code"] for e in events if e["type"] == "error"]
    assert codes == ["bad_frame", "bad_message", "bad_message", "frame_too_large"]
    finals = [e for e in events if e["type"] == "final"]
    assert finals and wer(SENTENCES["fox"], " ".join(f["text"] for f in finals)) <= 0.2
    assert httpx.get(server.url + "/healthz").status_code == 200


@pytest.mark.parametrize("config, code", [
    ("hello", 4400),
    (json.dumps({"type": "config", "sample_rate_hz": 3}), 4400),
    (json.dumps({"type": "start"}), 4400),
])
def test_bad_config_closes_with_a_code(server, api_key, config, code):
    async def go():
        async with connect(f"{server.ws_url}?api_key={api_key}") as ws:
            await ws.send(config)
            first = json.loads(await ws.recv())
            assert first["type"] == "error" and first["code"] == "bad_config"
            await ws.wait_closed()
            return ws.close_code

    assert asyncio.run(go()) == code


def test_unauthorized_stream(server):
    async def go(url):
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "config"}))
            msg = json.loads(await ws.recv())
            await ws.wait_closed()
            return msg, ws.close_code

    msg, code = asyncio.run(go(server.ws_url))
    assert msg["code"] == "unauthorized" and code == 4401
    msg, code = asyncio.run(go(server.ws_url + "?api_key=cvx_wrong"))
    assert code == 4401


def test_stream_finals_are_biased_to_the_sessions_vocabulary(server, api_key):
    """`"vocab"` in the config biases each final towards the session's terms (partials stay
    plain); every substitution comes with the final as a correction to review."""
    import numpy as np

    from clinivox.testing.synth import silence, synthesize
    from tests.unit.test_medical import HELD_OUT

    audio = np.concatenate([np.concatenate([synthesize(s), silence(1.0)]) for s, _ in HELD_OUT])
    drugs = [d for _, d in HELD_OUT]
    url = f"{server.ws_url}?api_key={api_key}"
    plain = asyncio.run(run_session(url, pcm_frames(audio)))
    biased = asyncio.run(run_session(url, pcm_frames(audio), {"type": "config",
                                                              "vocab": drugs}))

    def found(events):
        text = " ".join(e["text"] for e in events if e["type"] == "final").lower()
        return sum(d in text for d in drugs)

    assert found(biased) >= found(plain) + 1, (found(plain), found(biased))
    fixes = [c for e in biased if e["type"] == "final" for c in e.get("corrections", [])]
    assert fixes and all(c["replacement"].lower() in drugs for c in fixes if c["score"] > 0)


@pytest.mark.parametrize("config", [
    {"type": "config", "vocab": "aspirin"},
    {"type": "config", "vocab": [""]},
    {"type": "config", "medical": "yes"},
    {"type": "config", "medical": True, "vocab": ["aspirin"]},
])
def test_bad_biasing_config_is_bad_config(server, api_key, config):
    async def go():
        async with connect(f"{server.ws_url}?api_key={api_key}") as ws:
            await ws.send(json.dumps(config))
            first = json.loads(await ws.recv())
            await ws.wait_closed()
            return first, ws.close_code

    first, code = asyncio.run(go())
    assert first["code"] == "bad_config" and code == 4400
