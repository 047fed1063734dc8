"""WebSocket `/v1/stream`: config message, binary PCM16 frames, partial/final/alert events.

Protocol (docs/streaming-protocol.md): the client sends `{"type": "config", ...}`, then
binary frames of little-endian PCM16 mono at the configured rate, then `{"type": "end"}`.
The server answers `ready`, then `partial`, `final` and `alert` events, `error` events with a
code (a bad frame is reported and the session goes on), and `done` when the stream ends.
Each final segment is committed to the database before it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from clinivox.asr.streaming import ChunkError, StreamingOptions, StreamingRecognizer
from clinivox.asr.types import TranscribeOptions
from clinivox.errors import InputError
from clinivox.serve.db import retry_write
from clinivox.serve.settings import local_request_allowed

log = logging.getLogger("clinivox.serve.ws")
CONFIG_TIMEOUT_S = 10.0

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_BAD_CONFIG = 4400
CLOSE_TOO_LONG = 4413
CLOSE_IDLE = 4408
CLOSE_POLICY = 1008
CLOSE_TOO_FAST = 4429
CLOSE_OVERLOADED = 1013


async def _error(ws: WebSocket, code: str, message: str) -> None:
    await ws.send_text(json.dumps({"type": "error", "code": code, "message": message}))


async def _close(ws: WebSocket, close_code: int, error: tuple[str, str] | None = None) -> None:
    """Send an error event (if any) and close; quietly, if the client is already gone."""
    with contextlib.suppress(Exception):
        if error is not None:
            await _error(ws, *error)
        await ws.close(close_code)


def _config(first: Mapping[str, Any], recognizer) -> tuple[StreamingOptions, str | None, bool]:
    """The session's options from its config message; ValueError / InputError when bad.
    (`medical` and `vocab`, the finals' biasing, are read by `_biaser`.)"""
    config = json.loads(first.get("text") or "")
    if not isinstance(config, dict) or config.get("type") != "config":
        raise ValueError("first message must be {\"type\": \"config\", ...}")
    rate = config.get("sample_rate_hz", 16_000)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate != int(rate):
        raise ValueError("sample_rate_hz must be a whole number")
    language = config.get("language") or None
    recognizer.check_language(language)  # a list, a dict, an unknown code: InputError
    alerts = config.get("alerts", True)
    if not isinstance(alerts, bool):
        raise ValueError("alerts must be true or false")
    if not isinstance(config.get("redact_phi", False), bool):
        raise ValueError("redact_phi must be true or false")
    streaming = StreamingOptions(sample_rate_hz=int(rate))
    streaming.validate()
    return streaming, language, alerts


def _biaser(state, config: dict):
    """The finals' decode hook: the shared medical biaser (`"medical": true`), or one of the
    session's own terms (`"vocab": ["term", ...]`), or None. InputError when bad."""
    medical, vocab = config.get("medical", False), config.get("vocab")
    if not isinstance(medical, bool):
        raise InputError("medical must be true or false")
    if vocab is not None and not isinstance(vocab, list):
        raise InputError("vocab must be a list of terms")
    if medical and vocab:
        raise InputError("medical and vocab cannot be combined on a stream yet: use one")
    if medical:
        return state.medical_biaser()
    if vocab:
        from clinivox.biasing import load_biaser

        return load_biaser(state.recognizer.engine, user_terms=vocab, user_only=True)
    return None


router = APIRouter()


@router.websocket("/v1/stream")
async def stream_route(ws: WebSocket):
    state = ws.app.state.clinivox
    settings = state.settings
    if settings.insecure_local and not local_request_allowed(ws.headers.get("host"),
                                                             ws.headers.get("origin")):
        await ws.close(CLOSE_POLICY)  # before the upgrade: the client gets HTTP 403
        return
    await ws.accept()
    try:
        first = await asyncio.wait_for(ws.receive(), timeout=CONFIG_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect):
        await _close(ws, CLOSE_BAD_CONFIG)
        return
    if first["type"] == "websocket.disconnect":
        return  # closed before its config: nothing to answer, nothing to log
    try:
        streaming, language, want_alerts = _config(first, state.recognizer)
    except (ValueError, TypeError, InputError) as exc:
        await _close(ws, CLOSE_BAD_CONFIG, ("bad_config", str(exc)))
        return
    config = json.loads(first["text"])
    key = ws.query_params.get("api_key") or config.get("api_key")
    header = ws.headers.get("authorization", "")
    if not key and header.lower().startswith("bearer "):
        key = header[7:].strip()
    try:
        principal = await state.run(
            state.authenticate, key if isinstance(key, str) else None,
            ws.client.host if ws.client else None)
    except HTTPException as exc:
        await _close(ws, CLOSE_UNAUTHORIZED, ("unauthorized", str(exc.detail)))
        return
    if state.streams >= settings.max_streams:
        await _close(ws, CLOSE_OVERLOADED, ("overloaded", "too many open streams; retry "
                                                          "later"))
        return
    try:  # after authentication: loading the lexicon is not for anonymous clients
        biaser = await state.run(_biaser, state, config)
    except (InputError, HTTPException) as exc:
        await _close(ws, CLOSE_BAD_CONFIG, ("bad_config", str(getattr(exc, "detail", exc))))
        return
    state.streams += 1
    state.metrics.active_streams.inc()
    try:
        await _serve(ws, state, principal, streaming, language, want_alerts, biaser,
                     redact_phi=bool(config.get("redact_phi", False)))
    finally:
        state.streams -= 1
        state.metrics.active_streams.dec()


def _redacted(e):
    """The event with PHI redacted (tags) in its text and, for a final, its segments and
    words: what is sent and stored. The event's own `to_dict` then formats it."""
    import dataclasses

    from clinivox.privacy import redact
    from clinivox.privacy.transcript import redact_segments

    changes = {"text": redact(e.text)[0], "stable_text": redact(e.stable_text)[0]}
    if e.kind == "final":
        segments = redact_segments(list(e.segments)).segments
        changes.update(segments=tuple(segments),
                       words=tuple(w for seg in segments for w in seg.words))
    return dataclasses.replace(e, **changes)


async def _serve(ws: WebSocket, state, principal, streaming: StreamingOptions,
                 language: str | None, want_alerts: bool, biaser=None,
                 redact_phi: bool = False) -> None:
    settings = state.settings
    store = state.store

    async def write(fn, *args):
        """A database write, retried while the database is locked (the caller's final
        stays in memory meanwhile)."""
        return await state.run(retry_write, fn, *args, budget_s=settings.db_retry_s)

    stream = StreamingRecognizer(state.recognizer, TranscribeOptions(language=language),
                                 streaming, clock=time.monotonic, scheduler=state.scheduler,
                                 biaser=biaser)
    monitor = None
    if want_alerts:
        from clinivox.alerts import AlertMonitor

        monitor = AlertMonitor()
    session_id = await write(store.open_session, "stream", state.recognizer.model_name,
                             principal.key_id, language)
    await write(store.audit, principal.key_id, "stream.open", session_id)
    # the audio, kept encrypted for the retention period (never with PHI redaction: the
    # audio is the PHI)
    keeper = state.audio.writer(session_id, streaming.sample_rate_hz) \
        if state.audio is not None and not redact_phi else None
    await ws.send_text(json.dumps({"type": "ready", "session_id": session_id,
                                   "sample_rate_hz": streaming.sample_rate_hz}))
    n_final = 0
    status = "done"
    closed = False  # the store already has the session's end
    connected = True  # events are sent while the client is there; stored either way

    async def send(payload: dict) -> None:
        nonlocal connected
        if connected:
            try:
                await ws.send_text(json.dumps(payload, ensure_ascii=False))
            except Exception:  # the client left: keep storing what remains
                connected = False

    async def publish(events) -> None:
        nonlocal n_final
        for e in events:
            # sent and stored redacted; the alert monitor reads the words as said
            shown = await state.run(_redacted, e) if redact_phi else e
            payload = shown.to_dict()
            if e.kind == "final":
                words = payload.get("words", [])
                await write(store.add_segment, session_id, n_final, e.start_s, e.end_s,
                            shown.text, words)
                payload["idx"] = n_final
                n_final += 1
                state.metrics.final_latency.observe(max(0.0, e.latency_s))
            await send(payload)
            if monitor is not None:
                for alert in await state.run(monitor.process, e):
                    a = alert.to_dict()
                    if redact_phi:
                        from clinivox.privacy import redact

                        a["text"] = redact(a["text"])[0]
                    await write(store.add_alert, session_id, a)
                    state.metrics.alerts.labels(alert.category).inc()
                    await send(a)

    async def end(close_code: int, error: tuple[str, str]) -> None:
        """Finish the open utterance (stored and sent), store the session's end, then close
        with an error event (a client that reads the session after the close finds it
        ended)."""
        nonlocal connected, closed
        await publish(await state.run(stream.finish))
        await write(store.close_session, session_id, status, stream.audio_s)
        closed = True
        if connected:
            await _close(ws, close_code, error)
            connected = False

    # A reader task takes every message off the socket as it arrives, so the protocol's
    # pings and pongs keep flowing even while a decode runs; the loop below works through
    # the queue. (Reading only between decodes left a client that sends faster than real
    # time with a full TCP window: its pongs stuck behind audio, the keepalive closed the
    # socket after ~40 s with half its audio unprocessed.) Unprocessed audio is bounded by
    # `max_backlog_s`, past which the client is told `too_fast`.
    queue: asyncio.Queue[tuple[str, Mapping[str, Any] | None]] = asyncio.Queue()
    backlog_bytes = 0
    max_backlog_bytes = int(settings.max_backlog_s * streaming.sample_rate_hz) * 2

    async def reader() -> None:
        nonlocal backlog_bytes
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=settings.stream_idle_s)
            except TimeoutError:
                await queue.put(("idle", None))
                return
            except Exception:  # the socket is gone
                await queue.put(("disconnect", None))
                return
            if message["type"] == "websocket.disconnect":
                await queue.put(("disconnect", None))
                return
            data = message.get("bytes")
            if data is not None and len(data) <= settings.max_frame_bytes:
                if backlog_bytes + len(data) > max_backlog_bytes:
                    await queue.put(("too_fast", None))
                    return
                backlog_bytes += len(data)
            await queue.put(("message", message))
            text = message.get("text")
            if text is not None and '"end"' in text:
                return  # the client is done sending; what it sent is still processed

    reading = asyncio.create_task(reader())
    key_checked = time.monotonic()
    try:
        while True:
            kind, message = await queue.get()
            if kind == "idle":
                status = "idle_timeout"
                await end(CLOSE_IDLE, ("idle_timeout", f"no audio or message for "
                                                       f"{settings.stream_idle_s:.0f} s"))
                break
            if kind == "too_fast":
                status = "too_fast"
                await end(CLOSE_TOO_FAST, ("too_fast", "more than "
                                           f"{settings.max_backlog_s:.0f} s of audio wait to "
                                           "be decoded: send audio at real time"))
                break
            if kind == "disconnect" or message is None:
                status, connected = "disconnected", False
                break
            if principal.key_id is not None and \
                    time.monotonic() - key_checked >= settings.key_check_s:
                key_checked = time.monotonic()
                if not await state.run(store.key_active, principal.key_id):
                    status = "revoked"
                    await end(CLOSE_UNAUTHORIZED, ("unauthorized", "the API key was revoked"))
                    break
            data = message.get("bytes")
            if data is not None:
                if len(data) > settings.max_frame_bytes:
                    await _error(ws, "frame_too_large",
                                 f"binary frames are limited to {settings.max_frame_bytes} bytes")
                    continue
                backlog_bytes -= len(data)
                try:
                    events = await state.run(stream.feed, data)
                except ChunkError as exc:
                    await _error(ws, "bad_frame", str(exc))
                    continue
                if keeper is not None:
                    await state.run(keeper.write, data)
                await publish(events)
                if stream.audio_s > settings.max_stream_s:
                    status = "too_long"
                    await end(CLOSE_TOO_LONG, ("too_long", "session exceeded the maximum "
                                                           "duration"))
                    break
                continue
            try:
                msg = json.loads(message.get("text") or "")
            except ValueError:
                await _error(ws, "bad_message", "text messages must be JSON")
                continue
            if isinstance(msg, dict) and msg.get("type") == "end":
                await publish(await state.run(stream.finish))
                # stored before the client hears `done`: a client that then fetches the
                # session must find it closed, not still open
                await write(store.close_session, session_id, "done", stream.audio_s)
                closed = True
                await ws.send_text(json.dumps({"type": "done", "session_id": session_id,
                                               "finals": n_final}))
                await ws.close()
                break
            await _error(ws, "bad_message", "expected binary audio or {\"type\": \"end\"}")
    except WebSocketDisconnect:
        status, connected = "disconnected", False
    except Exception as exc:  # never take the server down with one session
        # the class only: a driver's message or a traceback can carry a patient's words
        log.error("stream session failed: %s", type(exc).__name__)
        status = "error"
        await _close(ws, 1011, ("internal", "internal error; the session was closed"))
        connected = False
    finally:
        reading.cancel()
        try:
            if status == "disconnected":
                # the open utterance is decoded and stored, though no one hears it
                await publish(await state.run(stream.finish))
            if not closed:
                await write(store.close_session, session_id, status, stream.audio_s)
        except Exception as exc:
            log.error("stream session could not be closed: %s", type(exc).__name__)
        state.metrics.audio_seconds.labels("stream").inc(stream.audio_s)
        if keeper is not None:
            try:
                await state.run(keeper.close)
                await state.run(state.audio.purge)
            except Exception as exc:
                log.error("kept audio could not be closed: %s", type(exc).__name__)
