"""Story: a locked SQLite file made a stream's segment insert fail; SQLAlchemy's error
message carries the bound parameters and the stream handler logged it with its traceback,
so a patient's words reached stderr. The engine now hides parameters, errors are logged by
class only, and a locked database delays a final (retried with backoff, the final kept in
memory) instead of ending the session and losing it.

Both tests run `clinivox serve` as its own process and lock its database from outside with
`BEGIN EXCLUSIVE`, mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time

import httpx
import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from clinivox.testing.synth import silence, synthesize
from tests.serve.conftest import free_port, pcm_frames, start_server_process

WORDS = "Margaret Thornbury reports crushing chest pain radiating to her left arm."
MARKERS = ("thornbury", "margaret", "crushing", "radiating")


def _lock_after_first_final(db_path, hold_s: float, finals: list, locked: threading.Event):
    def run():
        while not finals:
            time.sleep(0.02)
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(hold_s)
        conn.execute("ROLLBACK")
        conn.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _run(tmp_path, hold_s: float, *server_args: str):
    from clinivox.serve.db import Store, database_url

    store = Store(database_url(tmp_path, None))
    key = store.create_key("lock")[1]
    port = free_port()
    proc = start_server_process(tmp_path, port, *server_args)
    sentence = synthesize(WORDS)
    audio = np.concatenate([silence(0.3), sentence, silence(1.2), sentence, silence(1.2),
                            sentence, silence(1.2)])
    events: list[dict] = []
    finals: list[dict] = []
    locked = threading.Event()
    locker = _lock_after_first_final(tmp_path / "clinivox.db", hold_s, finals, locked)

    async def go():
        async with connect(f"ws://127.0.0.1:{port}/v1/stream?api_key={key}") as ws:
            await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000}))
            events.append(json.loads(await ws.recv()))

            async def reader():
                async for m in ws:
                    e = json.loads(m)
                    events.append(e)
                    if e["type"] == "final":
                        finals.append(e)

            task = asyncio.create_task(reader())
            try:
                for frame in pcm_frames(audio):
                    await ws.send(frame)
                    await asyncio.sleep(0.01)
                await ws.send(json.dumps({"type": "end"}))
            except ConnectionClosed:  # the server ended the session (lock past the budget)
                pass
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(task, timeout=120)
            assert locked.is_set()

    try:
        asyncio.run(go())
        locker.join(timeout=60)
        stored = httpx.get(f"http://127.0.0.1:{port}/v1/sessions/{events[0]['session_id']}",
                           headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    stderr = proc.stderr.read().decode(errors="replace")
    return events, finals, stored, stderr


def test_a_lock_longer_than_the_retry_budget_logs_no_patient_words(tmp_path):
    events, finals, stored, stderr = _run(tmp_path, 9.0, "--db-retry-s", "1")
    assert any(e["type"] == "error" and e["code"] == "internal" for e in events)
    assert "OperationalError" in stderr  # the failure is visible, by class
    low = stderr.lower()
    assert not [m for m in MARKERS if m in low], stderr[-2000:]
    assert "parameters" not in low and "traceback" not in low
    # what the client was sent is stored all the same
    assert [s["text"] for s in stored["segments"]][: len(finals)] == [f["text"] for f in finals]


def test_a_short_lock_delays_finals_and_loses_none(tmp_path):
    events, finals, stored, stderr = _run(tmp_path, 4.0)
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "done" and "error" not in kinds
    assert len(finals) >= 3
    assert [s["text"] for s in stored["segments"]] == [f["text"] for f in finals]
    assert stored["status"] == "done"
    assert not [m for m in MARKERS if m in stderr.lower()]
