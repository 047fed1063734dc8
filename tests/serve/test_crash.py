"""Crash test: kill -9 the server mid-stream, restart it, and find every final sent before."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal

import httpx
import numpy as np
from websockets.asyncio.client import connect

from tests.serve.conftest import free_port, pcm_frames
from tests.serve.conftest import start_server_process as start_server


def test_kill_9_keeps_every_sent_final(tmp_path, speech):
    from clinivox.serve.db import Store, database_url

    store = Store(database_url(tmp_path, None))
    key = store.create_key("crash")[1]
    port = free_port()
    proc = start_server(tmp_path, port)
    from clinivox.testing.synth import silence

    audio = np.concatenate([np.concatenate([s, silence(1.0)]) for s in speech.values()] * 2)
    finals: list[dict] = []
    session_id = None

    async def stream_until_killed():
        nonlocal session_id
        async with connect(f"ws://127.0.0.1:{port}/v1/stream?api_key={key}") as ws:
            await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000}))
            session_id = json.loads(await ws.recv())["session_id"]

            async def reader():
                async for m in ws:
                    e = json.loads(m)
                    if e["type"] == "final":
                        finals.append(e)
                        if len(finals) == 3:
                            os.kill(proc.pid, signal.SIGKILL)

            task = asyncio.create_task(reader())
            try:
                for frame in pcm_frames(audio):
                    await ws.send(frame)
                    await asyncio.sleep(0.02)
            except Exception:
                pass  # the server is gone
            await asyncio.wait_for(task, timeout=30)

    with contextlib.suppress(Exception):  # the connection drops when the server dies
        asyncio.run(stream_until_killed())
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL and len(finals) >= 3
    proc = start_server(tmp_path, port)
    try:
        stored = httpx.get(f"http://127.0.0.1:{port}/v1/sessions/{session_id}",
                           headers={"Authorization": f"Bearer {key}"}).json()
        texts = [s["text"] for s in stored["segments"]]
        assert texts[: len(finals)] == [f["text"] for f in finals]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
