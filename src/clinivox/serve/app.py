"""`create_app(settings)`: the FastAPI application.

Routes stay thin: they check auth and limits, call the library, and format. ClinivoxError
subclasses map once to HTTP status codes. Transcripts and audio never reach the logs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from clinivox.asr.streaming import DecodeGate
from clinivox.errors import ClinivoxError
from clinivox.serve.batching import DynamicBatcher
from clinivox.serve.db import Store, database_url
from clinivox.serve.formats import RESPONSE_FORMATS, transcription_body
from clinivox.serve.metrics import Metrics
from clinivox.serve.settings import ServerSettings, is_loopback

STATIC = Path(__file__).parent / "static"


@dataclass
class Principal:
    key_id: int | None  # None with --insecure-local


class AppState:
    def __init__(self, settings: ServerSettings, recognizer=None) -> None:
        from clinivox.asr.recognizer import Recognizer

        settings.validate()
        self.settings = settings
        self.store = Store(database_url(settings.data_dir, settings.database_url))
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

    def authenticate(self, key: str | None, client_host: str | None) -> Principal:
        if key:
            key_id = self.store.check_key(key)
            if key_id is None:
                raise HTTPException(401, "invalid or revoked API key",
                                    headers={"WWW-Authenticate": "Bearer"})
            return Principal(key_id)
        if self.settings.insecure_local and client_host and is_loopback(client_host):
            return Principal(None)
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

    app = FastAPI(title="clinivox", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.clinivox = state

    def principal(request: Request) -> Principal:
        return state.authenticate(bearer(request), request.client.host if request.client
                                  else None)

    @app.exception_handler(ClinivoxError)
    async def _clinivox_error(request: Request, exc: ClinivoxError):
        status = exc.http_status if 400 <= exc.http_status < 600 else 500
        state.metrics.rejected.labels(type(exc).__name__).inc()
        return JSONResponse({"error": {"message": str(exc), "type": type(exc).__name__}},
                            status_code=status,
                            headers={"Retry-After": "1"} if status == 503 else None)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": {"message": exc.detail, "type": "http_error"}},
                            status_code=exc.status_code, headers=exc.headers)

    @app.middleware("http")
    async def _measure(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
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
    async def metrics(_p: Principal = Depends(principal)):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        state.metrics.queue_depth.set(state.batcher.depth)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models(_p: Principal = Depends(principal)):
        name = state.recognizer.model_name
        return {"object": "list", "data": [{"id": name, "object": "model",
                                            "owned_by": "clinivox"},
                                           {"id": "whisper-1", "object": "model",
                                            "owned_by": "clinivox"}]}

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request, p: Principal = Depends(principal)):
        t0 = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and \
                int(length) > settings.max_upload_bytes + 64 * 1024:
            raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
        form = await request.form(max_part_size=settings.max_upload_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
            raise HTTPException(400, "multipart field 'file' is required")
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"upload larger than {settings.max_upload_bytes} bytes")
        fmt = str(form.get("response_format") or "json")
        if fmt not in RESPONSE_FORMATS:
            raise HTTPException(400, f"response_format must be one of {RESPONSE_FORMATS}")
        medical = str(form.get("medical", "false")).lower() in ("1", "true", "yes")
        diarize = str(form.get("diarize", "false")).lower() in ("1", "true", "yes")
        biaser = await asyncio.to_thread(state.medical_biaser) if medical else None
        grains = {str(v) for v in form.getlist("timestamp_granularities[]")} | \
            {str(v) for v in form.getlist("timestamp_granularities")}
        if grains - {"word", "segment"}:
            raise HTTPException(400, "timestamp_granularities must be 'word' and/or 'segment'")
        language = str(form.get("language") or "") or None
        prompt = str(form.get("prompt") or "") or None
        segments, info = await run_transcription(state, data, language, prompt, biaser)
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
        await asyncio.to_thread(state.store.log_request, "/v1/audio/transcriptions", 200,
                                dt_ms, info.duration_s, p.key_id,
                                settings.batching.enabled)
        if media == "application/json":
            return JSONResponse(body)
        return PlainTextResponse(body, media_type=media)

    @app.get("/v1/sessions")
    async def sessions(limit: int = 50, _p: Principal = Depends(principal)):
        limit = max(1, min(limit, 500))
        return {"data": await asyncio.to_thread(state.store.list_sessions, limit)}

    @app.get("/v1/sessions/{session_id}")
    async def session(session_id: str, _p: Principal = Depends(principal)):
        found = await asyncio.to_thread(state.store.get_session, session_id)
        if found is None:
            raise HTTPException(404, "no such session")
        return found

    @app.get("/")
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{name}")
    async def static(name: str):
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            raise HTTPException(404, "not found")
        media = "text/javascript" if name.endswith(".js") else None
        return FileResponse(path, media_type=media)

    from clinivox.serve.ws import register_stream_route

    register_stream_route(app, state)
    return app


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


async def run_transcription(state: AppState, data: bytes, language: str | None,
                            prompt: str | None, biaser=None):
    """Decode and segment in a thread, then decode the chunks through the batcher."""
    import dataclasses
    import io

    from clinivox.asr.types import TranscribeOptions

    opts = TranscribeOptions(language=language, initial_prompt=prompt)
    rec = state.recognizer
    chunks, info = await asyncio.to_thread(rec.plan, io.BytesIO(data), opts,
                                           max_duration_s=state.settings.max_audio_s)
    segments = []
    for _ in range(3):  # a chunk, then up to two rounds of untranscribed tails
        if not chunks:
            break
        futures = state.batcher.submit_many([c.audio() for c in chunks], opts, biaser)
        state.metrics.queue_depth.set(state.batcher.depth)
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        tails = []
        for chunk, result in zip(chunks, results, strict=True):
            segs, tail = rec.finish_chunk(chunk, result, info)
            segments += segs
            if tail is not None:
                tails.append(tail)
        chunks = tails
    segments.sort(key=lambda s: s.start_s)
    segments = [dataclasses.replace(s, id=i) for i, s in enumerate(segments)]
    return segments, info
