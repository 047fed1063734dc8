"""WebSocket `/v1/stream`: config message, binary PCM16 frames, partial/final/alert events.

Protocol (docs/streaming-protocol.md): the client sends `{"type": "config", ...}`, then
binary frames of little-endian PCM16 mono at the configured rate, then `{"type": "end"}`.
The server answers `ready`, then `partial`, `final` and `alert` events, `error` events with a
code (a bad frame is reported and the session goes on), and `done` when the stream ends.
Each final segment is committed to the database before it is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect

from clinivox.asr.streaming import ChunkError, StreamingOptions, StreamingRecognizer
from clinivox.asr.types import TranscribeOptions

log = logging.getLogger("clinivox.serve.ws")
CONFIG_TIMEOUT_S = 10.0

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_BAD_CONFIG = 4400
CLOSE_TOO_LONG = 4413
CLOSE_OVERLOADED = 1013


async def _error(ws: WebSocket, code: str, message: str) -> None:
    await ws.send_text(json.dumps({"type": "error", "code": code, "message": message}))


def register_stream_route(app: FastAPI, state) -> None:
    settings = state.settings

    @app.websocket("/v1/stream")
    async def stream_route(ws: WebSocket):
        await ws.accept()
        try:
            first = await asyncio.wait_for(ws.receive(), timeout=CONFIG_TIMEOUT_S)
        except (TimeoutError, WebSocketDisconnect):
            await ws.close(CLOSE_BAD_CONFIG)
            return
        try:
            config = json.loads(first.get("text") or "")
            if not isinstance(config, dict) or config.get("type") != "config":
                raise ValueError("first message must be {\"type\": \"config\", ...}")
            rate = int(config.get("sample_rate_hz", 16_000))
            language = config.get("language") or None
            want_alerts = bool(config.get("alerts", True))
            streaming = StreamingOptions(sample_rate_hz=rate)
            streaming.validate()
        except (ValueError, TypeError) as exc:
            await _error(ws, "bad_config", str(exc))
            await ws.close(CLOSE_BAD_CONFIG)
            return
        key = ws.query_params.get("api_key") or config.get("api_key")
        header = ws.headers.get("authorization", "")
        if not key and header.lower().startswith("bearer "):
            key = header[7:].strip()
        try:
            principal = state.authenticate(key, ws.client.host if ws.client else None)
        except HTTPException as exc:
            await _error(ws, "unauthorized", str(exc.detail))
            await ws.close(CLOSE_UNAUTHORIZED)
            return
        if state.streams >= settings.max_streams:
            await _error(ws, "overloaded", "too many open streams; retry later")
            await ws.close(CLOSE_OVERLOADED)
            return
        state.streams += 1
        state.metrics.active_streams.inc()
        try:
            await _serve(ws, state, principal, streaming, language, want_alerts)
        finally:
            state.streams -= 1
            state.metrics.active_streams.dec()


async def _serve(ws: WebSocket, state, principal, streaming: StreamingOptions,
                 language: str | None, want_alerts: bool) -> None:
    settings = state.settings
    store = state.store
    stream = StreamingRecognizer(state.recognizer, TranscribeOptions(language=language),
                                 streaming, clock=time.monotonic, gate=state.decode_gate)
    monitor = None
    if want_alerts:
        from clinivox.alerts import AlertMonitor

        monitor = AlertMonitor()
    session_id = await asyncio.to_thread(store.open_session, "stream",
                                         state.recognizer.model_name, principal.key_id,
                                         language)
    await ws.send_text(json.dumps({"type": "ready", "session_id": session_id,
                                   "sample_rate_hz": streaming.sample_rate_hz}))
    n_final = 0
    status = "done"
    closed = False  # the store already has the session's end

    async def publish(events) -> None:
        nonlocal n_final
        for e in events:
            payload = e.to_dict()
            if e.kind == "final":
                words = payload.get("words", [])
                await asyncio.to_thread(store.add_segment, session_id, n_final, e.start_s,
                                        e.end_s, e.text, words)
                payload["idx"] = n_final
                n_final += 1
                state.metrics.final_latency.observe(max(0.0, e.latency_s))
            await ws.send_text(json.dumps(payload, ensure_ascii=False))
            if monitor is not None:
                for alert in await asyncio.to_thread(monitor.process, e):
                    a = alert.to_dict()
                    await asyncio.to_thread(store.add_alert, session_id, a)
                    state.metrics.alerts.labels(alert.category).inc()
                    await ws.send_text(json.dumps(a, ensure_ascii=False))

    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                status = "disconnected"
                break
            data = message.get("bytes")
            if data is not None:
                if len(data) > settings.max_frame_bytes:
                    await _error(ws, "frame_too_large",
                                 f"binary frames are limited to {settings.max_frame_bytes} bytes")
                    continue
                try:
                    events = await asyncio.to_thread(stream.feed, data)
                except ChunkError as exc:
                    await _error(ws, "bad_frame", str(exc))
                    continue
                await publish(events)
                if stream.audio_s > settings.max_stream_s:
                    await _error(ws, "too_long", "session exceeded the maximum duration")
                    await publish(await asyncio.to_thread(stream.finish))
                    status = "too_long"
                    await ws.close(CLOSE_TOO_LONG)
                    break
                continue
            try:
                msg = json.loads(message.get("text") or "")
            except ValueError:
                await _error(ws, "bad_message", "text messages must be JSON")
                continue
            if isinstance(msg, dict) and msg.get("type") == "end":
                await publish(await asyncio.to_thread(stream.finish))
                # stored before the client hears `done`: a client that then fetches the
                # session must find it closed, not still open
                await asyncio.to_thread(store.close_session, session_id, "done", stream.audio_s)
                closed = True
                await ws.send_text(json.dumps({"type": "done", "session_id": session_id,
                                               "finals": n_final}))
                await ws.close()
                break
            await _error(ws, "bad_message", "expected binary audio or {\"type\": \"end\"}")
    except WebSocketDisconnect:
        status = "disconnected"
    except Exception:  # never take the server down with one session
        log.exception("stream session failed")
        status = "error"
        try:
            await _error(ws, "internal", "internal error; the session was closed")
            await ws.close(1011)
        except Exception:  # the socket may already be gone
            pass
    finally:
        state.metrics.audio_seconds.labels("stream").inc(stream.audio_s)
        if not closed:
            await asyncio.to_thread(store.close_session, session_id, status, stream.audio_s)
