"""`create_app(settings)`: the FastAPI application.

Routes stay thin: they check auth and limits, call the library, and format. ClinivoxError
subclasses map once to HTTP status codes. Transcripts and audio never reach the logs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from clinivox.asr.streaming import DecodeGate
from clinivox.errors import ClinivoxError
from clinivox.serve.batching import DynamicBatcher
from clinivox.serve.db import Owner, Store, database_url
from clinivox.serve.formats import RESPONSE_FORMATS, transcription_body
from clinivox.serve.metrics import Metrics
from clinivox.serve.settings import ServerSettings, is_loopback, local_request_allowed

STATIC = Path(__file__).parent / "static"
MAX_FIELD_BYTES = 16 * 1024  # a multipart text field (prompt, language, ...)
MAX_PROMPT_CHARS = 4000
WINDOW_WAIT_S = 600.0  # an admitted request waits this long for queue room per window
# The page loads only its own scripts, talks only to its own origin (HTTP and WebSocket), and
# may not be framed (clickjacking a microphone page).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")
log = logging.getLogger("clinivox.serve")


class AppState:
    def __init__(self, settings: ServerSettings, recognizer=None) -> None:
        from clinivox.asr.recognizer import Recognizer

        settings.validate()
        self.settings = settings
        self.store = Store(database_url(settings.data_dir, settings.database_url))
        self.store.interrupt_open_sessions()
        self.metrics = Metrics()
        self.recognizer = recognizer or Recognizer(settings.model, device=settings.device,
                                                   compute_type=settings.compute_type)
        self.batcher = DynamicBatcher(self.recognizer.engine, settings.batching,
                                      on_batch=self.metrics.batch_size.observe)
        self.streams = 0
        # One stream decode at a time: finals wait for it, partials are skipped while it is
        # held. (Routing stream decodes through the batcher measured worse: finals queued
        # behind batches of partials; see docs/benchmarks.md.)
        self.decode_gate = DecodeGate()
        self._lazy_lock = threading.Lock()
        self._biaser = None
        self._diarizer = None

    def medical_biaser(self):
        """The full-lexicon biaser, loaded on the first request that asks for it."""
        with self._lazy_lock:
            if self._biaser is None:
                from clinivox.medical.vocabulary import load_biaser

                try:
                    self._biaser = load_biaser(self.recognizer.engine)
                except ImportError as exc:
                    raise HTTPException(501, "medical biasing needs clinivox[medical]") \
                        from exc
            return self._biaser

    def diarizer(self):
        with self._lazy_lock:
            if self._diarizer is None:
                from clinivox.diarize import Diarizer

                try:
                    self._diarizer = Diarizer()
                except ImportError as exc:
                    raise HTTPException(501, "diarization needs clinivox[diarize]") from exc
            return self._diarizer

    def authenticate(self, key: str | None, client_host: str | None) -> Owner:
        if key:
            owner = self.store.key_owner(key)
            if owner is None:
                raise HTTPException(401, "invalid or revoked API key",
                                    headers={"WWW-Authenticate": "Bearer"})
            return owner
        if self.settings.insecure_local and client_host and is_loopback(client_host):
            return Owner(key_id=None)
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def create_app(settings: ServerSettings, recognizer=None) -> FastAPI:
    state = AppState(settings, recognizer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Stream sessions run their feeds, database writes and alert checks in threads, and
        # a feed can block while a final waits for the decode gate. asyncio's default pool
        # (cores + 4 threads) ran out with 4-5 streams and stalled every session; size the
        # pool to the sessions allowed.
        pool = ThreadPoolExecutor(max_workers=3 * settings.max_streams + 8,
                                  thread_name_prefix="clinivox")
        asyncio.get_running_loop().set_default_executor(pool)
        yield
        state.batcher.close()
        pool.shutdown(wait=False, cancel_futures=True)

    # /docs and /openapi.json are routes of their own, behind the API key
    app = FastAPI(title="clinivox", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.clinivox = state

    def principal(request: Request) -> Owner:
        return state.authenticate(bearer(request), request.client.host if request.client
                                  else None)

    @app.exception_handler(ClinivoxError)
    async def _clinivox_error(request: Request, exc: ClinivoxError):
        status = exc.http_status if 400 <= exc.http_status < 600 else 500
        state.metrics.rejected.labels(type(exc).__name__).inc()
        headers = getattr(exc, "headers", None) or (
            {"Retry-After": "1"} if status == 503 else None)
        return error_response(status, str(exc), type(exc).__name__, headers)

    # One error shape everywhere: {"error": {"message", "type"}}. Starlette's own 404/405
    # (unknown routes) and request validation (422) are mapped too; a 422 names the field,
    # never the value sent (it may be a patient's words).
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), "http_error",
                              getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        fields = ", ".join(".".join(str(x) for x in e.get("loc", ()))
                           for e in exc.errors()[:5])
        return error_response(422, f"invalid request: check {fields or 'the parameters'}",
                              "validation_error")

    if settings.insecure_local:
        @app.middleware("http")
        async def _local_only(request: Request, call_next):
            # keyless mode trusts the machine, not the network: a rebound DNS name or a
            # cross-origin page is refused before any route runs
            if not local_request_allowed(request.headers.get("host"),
                                         request.headers.get("origin")):
                return error_response(403, "with --insecure-local only same-origin requests "
                                           "to a loopback host name are served",
                                      "forbidden")
            return await call_next(request)

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        t0 = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # an unexpected error: 500, logged by class only
            # (a traceback or a driver's message can carry a patient's words)
            log.error("request failed: %s", type(exc).__name__)
            state.metrics.internal_errors.labels(type(exc).__name__).inc()
            response = error_response(500, "internal error", "internal_error")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        route = request.scope.get("route")
        endpoint = getattr(route, "path", "other")
        state.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        state.metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - t0)
        return response

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "model": state.recognizer.model_name,
                "device": state.recognizer.engine.device}

    @app.get("/metrics")
    async def metrics(_p: Owner = Depends(principal)):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        state.metrics.queue_depth.set(state.batcher.depth)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models(_p: Owner = Depends(principal)):
        name = state.recognizer.model_name
        return {"object": "list", "data": [{"id": name, "object": "model",
                                            "owned_by": "clinivox"},
                                           {"id": "whisper-1", "object": "model",
                                            "owned_by": "clinivox"}]}

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request, p: Owner = Depends(principal)):
        """OpenAI's transcription API (multipart: file, model, language, prompt,
        response_format, timestamp_granularities[]), plus `medical` and `diarize`."""
        return await transcribe_request(request, p, "transcribe")

    @app.post("/v1/audio/translations")
    async def translations(request: Request, p: Owner = Depends(principal)):
        """OpenAI's translation API: speech in any language the model knows, English text
        out. An English-only model (tiny.en) transcribes its English as it is."""
        return await transcribe_request(request, p, "translate")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_p: Owner = Depends(principal)):
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs(_p: Owner = Depends(principal)):
        from fastapi.openapi.docs import get_swagger_ui_html

        # the Swagger UI files come from the swagger-ui-bundle package: no CDN, so the
        # page works in an air-gapped hospital network
        return get_swagger_ui_html(openapi_url="/openapi.json", title="clinivox API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_assets(name: str):
        try:
            from swagger_ui_bundle import swagger_ui_path
        except ImportError:
            raise HTTPException(404, "API docs need swagger-ui-bundle (clinivox[serve])") \
                from None
        return static_file(Path(swagger_ui_path), name)

    async def transcribe_request(request: Request, p: Owner, task: str):
        t0 = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and \
                int(length) > settings.max_upload_bytes + 64 * 1024:
            raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
        # a chunked upload has no length: the body's bytes are counted as they arrive
        # (413 at the limit, before the rest is spooled to disk); text fields are capped
        limit_body(request, settings.max_upload_bytes + 64 * 1024)
        form = await request.form(max_part_size=MAX_FIELD_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise HTTPException(400, "multipart field 'file' is required")
        fmt = str(form.get("response_format") or "json")
        if fmt not in RESPONSE_FORMATS:
            raise HTTPException(400, f"response_format must be one of {RESPONSE_FORMATS}")
        model = str(form.get("model") or "whisper-1")
        if model not in ("whisper-1", state.recognizer.model_name):
            raise HTTPException(400, f"unknown model {model[:64]!r}: this server runs "
                                     f"{state.recognizer.model_name!r} (or ask for "
                                     "'whisper-1', its alias)")
        if str(form.get("stream", "false")).lower() in ("1", "true", "yes"):
            raise HTTPException(400, "stream=true is not supported on this endpoint: use the "
                                     "WebSocket /v1/stream for live results")
        medical = str(form.get("medical", "false")).lower() in ("1", "true", "yes")
        diarize = str(form.get("diarize", "false")).lower() in ("1", "true", "yes")
        grains = {str(v) for v in form.getlist("timestamp_granularities[]")} | \
            {str(v) for v in form.getlist("timestamp_granularities")}
        if grains - {"word", "segment"}:
            raise HTTPException(400, "timestamp_granularities must be 'word' and/or 'segment'")
        language = str(form.get("language") or "") or None
        state.recognizer.check_language(language)
        prompt = str(form.get("prompt") or "") or None
        if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
            raise HTTPException(400, f"prompt is limited to {MAX_PROMPT_CHARS} characters "
                                     "(Whisper reads at most 224 tokens of it)")
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
        biaser = await asyncio.to_thread(state.medical_biaser) if medical else None
        segments, info = await run_transcription(state, data, language, prompt, biaser,
                                                  task=task)
        speakers = None
        if diarize:
            segments, speakers = await asyncio.to_thread(diarize_segments, state, data, segments,
                                                         biaser)
        body, media = transcription_body(fmt, segments, info.language, info.duration_s, grains)
        if isinstance(body, dict):
            if speakers is not None:
                body["speakers"] = speakers
            if biaser is not None:
                body["terms"] = [{**t, "segment": s.id} for s in segments
                                 for t in biaser.terms(s.text)]
        dt_ms = (time.perf_counter() - t0) * 1000
        state.metrics.audio_seconds.labels("rest").inc(info.duration_s)
        try:  # metadata only: a failed write must not turn a finished transcript into a 500
            await asyncio.to_thread(state.store.log_request, request.url.path, 200,
                                    dt_ms, info.duration_s, p.key_id,
                                    settings.batching.enabled)
        except Exception as exc:
            log.warning("request metadata not stored: %s", type(exc).__name__)
            state.metrics.store_failures.labels("request_log").inc()
        if media == "application/json":
            return JSONResponse(body)
        return PlainTextResponse(body, media_type=media)

    @app.get("/v1/sessions")
    async def sessions(limit: int = 50, p: Owner = Depends(principal)):
        """The caller's sessions, newest first (every key's for an admin key)."""
        limit = max(1, min(limit, 500))
        return {"data": await asyncio.to_thread(state.store.list_sessions, p, limit)}

    @app.get("/v1/sessions/{session_id}")
    async def session(session_id: str, p: Owner = Depends(principal)):
        found = await asyncio.to_thread(state.store.get_session, session_id, p)
        if found is None:  # another key's session is not found either
            raise HTTPException(404, "no such session")
        return found

    @app.delete("/v1/sessions/{session_id}")
    async def delete_session(session_id: str, p: Owner = Depends(principal)):
        if not await asyncio.to_thread(state.store.delete_session, session_id, p):
            raise HTTPException(404, "no such session")
        return {"id": session_id, "deleted": True}

    @app.get("/")
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": PAGE_CSP})

    @app.get("/static/{name}")
    async def static(name: str):
        return static_file(STATIC, name)

    from clinivox.serve.ws import register_stream_route

    register_stream_route(app, state)
    return app


def static_file(folder: Path, name: str) -> FileResponse:
    """A file directly inside `folder`; 404 for anything else (other folders, NUL bytes)."""
    if "\x00" in name:  # resolve() raises on a NUL byte
        raise HTTPException(404, "not found")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise HTTPException(404, "not found")
    media = "text/javascript" if name.endswith(".js") else None
    return FileResponse(path, media_type=media)


def error_response(status: int, message: str, kind: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status,
                        headers=headers)


def diarize_segments(state: AppState, data: bytes, segments, biaser=None):
    """Speaker-attributed segments and [{speaker, role}] for a request's audio."""
    import io

    from clinivox.audio.decode import load_audio
    from clinivox.diarize.attribution import attribute_words, infer_roles

    result = state.diarizer()(load_audio(io.BytesIO(data)))
    attributed = attribute_words(segments, result)
    counter = (lambda text: len(biaser.terms(text))) if biaser is not None else None
    roles = infer_roles(attributed, counter)
    return attributed, [{"speaker": s, "role": roles.get(s, "other")} for s in result.speakers]


def rest_window(settings: ServerSettings) -> int:
    """Chunks of one request queued at a time: enough to fill batches, never the whole
    queue, so a long file neither hogs the decoder nor holds all its audio in memory."""
    return max(1, min(settings.batching.queue_limit, 2 * settings.batching.max_batch_size))


class UploadTooLarge(ClinivoxError):
    http_status = 413


def limit_body(request: Request, max_bytes: int) -> None:
    """Count the request body's bytes as they arrive; UploadTooLarge past `max_bytes`."""
    receive = request._receive
    total = 0

    async def counted():
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > max_bytes:
                raise UploadTooLarge(f"upload larger than {max_bytes} bytes")
        return message

    request._receive = counted


async def run_transcription(state: AppState, data: bytes, language: str | None,
                            prompt: str | None, biaser=None, task: str = "transcribe"):
    """Plan (decode + VAD) a window of chunks in a thread while the previous window decodes
    through the batcher. Only two windows' audio is held at a time: memory stays flat on a
    long file, and other requests' chunks interleave with its windows."""
    import io

    from clinivox.asr.types import TranscribeOptions

    if task == "translate" and not state.recognizer.engine.multilingual:
        task = "transcribe"  # an English-only model's output is English already
    opts = TranscribeOptions(language=language, initial_prompt=prompt, task=task)
    rec = state.recognizer
    window = rest_window(state.settings)
    # probing only: the header's duration and the limits are checked before any decoding
    chunk_iter, info = await asyncio.to_thread(rec.plan_iter, io.BytesIO(data), opts,
                                               max_duration_s=state.settings.max_audio_s)
    if info.duration_s > 0:  # a short file reserves only the chunks it can have
        window = min(window, int(info.duration_s // 28) + 2)
    with state.batcher.reserve(window):  # 503 now, with Retry-After, if the server is full
        return await _decode_windows(state, chunk_iter, info, opts, biaser, window)


async def _decode_windows(state: AppState, chunk_iter, info, opts, biaser, window: int):
    import dataclasses
    from itertools import islice

    rec = state.recognizer

    def next_window():
        return list(islice(chunk_iter, window))

    async def decode(chunks):
        """A window's chunks, then up to two rounds of their untranscribed tails."""
        segs = []
        for _ in range(3):
            if not chunks:
                break
            futures = await asyncio.to_thread(state.batcher.submit_many,
                                              [c.audio() for c in chunks], opts, biaser,
                                              wait_s=WINDOW_WAIT_S)
            state.metrics.queue_depth.set(state.batcher.depth)
            results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
            tails = []
            for chunk, result in zip(chunks, results, strict=True):
                s, tail = rec.finish_chunk(chunk, result, info)
                segs += s
                if tail is not None:
                    tails.append(tail)
            chunks = tails
        return segs

    segments = []
    chunks = await asyncio.to_thread(next_window)
    while chunks:
        planned = asyncio.ensure_future(asyncio.to_thread(next_window))
        try:
            segments += await decode(chunks)
        except BaseException:
            await asyncio.gather(planned, return_exceptions=True)
            raise
        chunks = await planned
    segments.sort(key=lambda s: s.start_s)
    segments = [dataclasses.replace(s, id=i) for i, s in enumerate(segments)]
    return segments, info
