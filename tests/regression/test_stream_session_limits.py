"""Story: stream sessions outlived their limits and lost speech at the end.

- A revoked key kept its open streams alive.
- There was no idle timeout: one key could hold every stream slot by sending nothing.
- On a client disconnect the open utterance was discarded (the words spoken last, often
  the most important, never reached the record).
- `clinivox serve` let the WebSocket layer drop frames over 2 MiB with the connection,
  instead of the documented `frame_too_large` error event.
- At start-up, sessions a crash left `open` stayed `open` for ever.
- A client sending faster than real time was cut off by the keepalive after about 40 s with
  half its audio unprocessed: the server read the socket only between decodes, so the
  client's pongs sat behind audio in a full TCP window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from clinivox.serve.db import ADMIN, Owner, Store, database_url
from clinivox.serve.settings import ServerSettings
from clinivox.testing.synth import silence
from tests.serve.conftest import LiveServer, free_port, pcm_frames, start_server_process


@pytest.fixture(scope="module")
def live(recognizer, tmp_path_factory):
    server = LiveServer(ServerSettings(data_dir=tmp_path_factory.mktemp("limits"),
                                       key_check_s=0.2, stream_idle_s=1.5), recognizer)
    yield server
    server.stop()


async def _collect(ws, events: list) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for m in ws:
            events.append(json.loads(m))


def test_revoked_key_ends_its_stream(live, speech):
    key = live.key("soon-revoked")
    key_id = live.state.store.check_key(key)
    audio = np.concatenate([silence(0.3), speech["fox"], silence(1.0)] * 3)
    events: list[dict] = []

    async def go():
        async with connect(f"{live.ws_url}?api_key={key}") as ws:
            await ws.send(json.dumps({"type": "config"}))
            events.append(json.loads(await ws.recv()))
            reader = asyncio.create_task(_collect(ws, events))
            with contextlib.suppress(ConnectionClosed):
                for i, frame in enumerate(pcm_frames(audio)):
                    if i == 20:
                        live.state.store.revoke_key(key_id)
                    await ws.send(frame)
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(reader, 60)
            return ws.close_code

    code = asyncio.run(go())
    assert code == 4401
    assert [e["code"] for e in events if e["type"] == "error"] == ["unauthorized"]
    stored = live.state.store.get_session(events[0]["session_id"], ADMIN)
    assert stored["status"] == "revoked"


def test_idle_stream_is_ended_and_its_words_kept(live, speech):
    key = live.key()
    events: list[dict] = []

    async def go():
        async with connect(f"{live.ws_url}?api_key={key}") as ws:
            await ws.send(json.dumps({"type": "config"}))
            events.append(json.loads(await ws.recv()))
            for frame in pcm_frames(np.concatenate([silence(0.3), speech["fox"]])):
                await ws.send(frame)  # speech, then nothing: no end, no silence
            await asyncio.wait_for(_collect(ws, events), 60)
            return ws.close_code

    assert asyncio.run(go()) == 4408
    assert events[-1]["code"] == "idle_timeout"
    finals = [e for e in events if e["type"] == "final"]
    assert finals and "fox" in " ".join(f["text"] for f in finals).lower()
    stored = live.state.store.get_session(events[0]["session_id"], Owner(None, admin=True))
    assert stored["status"] == "idle_timeout" and "fox" in stored["text"].lower()


def test_disconnect_mid_utterance_keeps_the_open_utterance(live, speech):
    key = live.key()

    async def go() -> str:
        async with connect(f"{live.ws_url}?api_key={key}") as ws:
            await ws.send(json.dumps({"type": "config"}))
            session_id = json.loads(await ws.recv())["session_id"]
            for frame in pcm_frames(np.concatenate([silence(0.3), speech["clinic"]])):
                await ws.send(frame)
            return session_id  # the socket closes mid-utterance: no end, no endpoint

    session_id = asyncio.run(go())
    stored = None
    for _ in range(300):  # the server decodes the open utterance after the close
        stored = live.state.store.get_session(session_id, ADMIN)
        if stored["status"] != "open":
            break
        asyncio.run(asyncio.sleep(0.1))
    assert stored["status"] == "disconnected"
    assert "headache" in stored["text"].lower()


def test_crash_left_open_sessions_are_marked_interrupted(tmp_path, recognizer):
    store = Store(database_url(tmp_path, None))
    sid = store.open_session("stream", "tiny.en", None)
    store.add_segment(sid, 0, 0.0, 1.0, "kept final", [])
    live = LiveServer(ServerSettings(data_dir=tmp_path), recognizer)
    try:
        got = live.state.store.get_session(sid, ADMIN)
        assert got["status"] == "interrupted" and got["text"] == "kept final"
    finally:
        live.stop()


def test_cli_server_answers_a_3_mib_frame_with_frame_too_large(tmp_path, speech):
    key = Store(database_url(tmp_path, None)).create_key("frames")[1]
    port = free_port()
    proc = start_server_process(tmp_path, port)
    try:
        async def go():
            events: list[dict] = []
            async with connect(f"ws://127.0.0.1:{port}/v1/stream?api_key={key}",
                               max_size=2**22) as ws:
                await ws.send(json.dumps({"type": "config"}))
                events.append(json.loads(await ws.recv()))
                await ws.send(b"\x00" * (3 * 1024 * 1024))
                for frame in pcm_frames(np.concatenate([silence(0.3), speech["fox"],
                                                        silence(1.0)])):
                    await ws.send(frame)
                await ws.send(json.dumps({"type": "end"}))
                await _collect(ws, events)
            return events

        events = asyncio.run(go())
        codes = [e["code"] for e in events if e["type"] == "error"]
        assert codes == ["frame_too_large"] and events[-1]["type"] == "done"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_client_faster_than_real_time_is_served_to_the_end(recognizer, tmp_path, speech):
    # keepalive every 0.5 s with a 1 s timeout: the old server closed such a client at once
    live = LiveServer(ServerSettings(data_dir=tmp_path), recognizer, ws_ping_interval=0.5,
                      ws_ping_timeout=1.0)
    try:
        key = live.key()
        audio = np.concatenate([np.concatenate([s, silence(0.8)]) for s in speech.values()]
                               * 3)  # ~50 s of speech, sent in well under a second
        events: list[dict] = []

        async def go():
            async with connect(f"{live.ws_url}?api_key={key}") as ws:
                await ws.send(json.dumps({"type": "config"}))
                events.append(json.loads(await ws.recv()))
                for frame in pcm_frames(audio, frame_ms=500):
                    await ws.send(frame)
                await ws.send(json.dumps({"type": "end"}))
                await asyncio.wait_for(_collect(ws, events), 300)

        asyncio.run(go())
        assert events[-1]["type"] == "done", events[-3:]
        finals = [e for e in events if e["type"] == "final"]
        assert " ".join(f["text"] for f in finals).lower().count("fox") == 3
    finally:
        live.stop()


def test_a_backlog_past_the_limit_is_told_too_fast(recognizer, tmp_path, speech):
    live = LiveServer(ServerSettings(data_dir=tmp_path, max_backlog_s=3.0), recognizer)
    try:
        key = live.key()
        audio = np.concatenate([speech["fox"], silence(0.5)] * 6)
        events: list[dict] = []

        async def go():
            async with connect(f"{live.ws_url}?api_key={key}") as ws:
                await ws.send(json.dumps({"type": "config"}))
                events.append(json.loads(await ws.recv()))
                with contextlib.suppress(ConnectionClosed):
                    for frame in pcm_frames(audio, frame_ms=500):
                        await ws.send(frame)
                await asyncio.wait_for(_collect(ws, events), 120)
                return ws.close_code

        assert asyncio.run(go()) == 4429
        assert [e["code"] for e in events if e["type"] == "error"] == ["too_fast"]
        stored = live.state.store.get_session(events[0]["session_id"], ADMIN)
        assert stored["status"] == "too_fast"
    finally:
        live.stop()
