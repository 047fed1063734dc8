"""`create_app(settings)`: the FastAPI application, assembled from its routers.

Routes stay thin: they check auth and limits, call the library (`pipeline.transcribe_file`,
the store, the streaming recognizer), and format. ClinivoxError subclasses map once to HTTP
status codes, and every error has one shape. Transcripts and audio never reach the logs.
Routers: `routes.transcriptions`, `routes.sessions`, `routes.stream`, `routes.health`;
what they share is `state.AppState`, reached through dependencies.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from clinivox.errors import ClinivoxError
from clinivox.serve.routes import health, sessions, stream, transcriptions
from clinivox.serve.settings import ServerSettings, local_request_allowed
from clinivox.serve.state import AppState, error_response

log = logging.getLogger("clinivox.serve")


def create_app(settings: ServerSettings, recognizer=None) -> FastAPI:
    state = AppState(settings, recognizer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        state.close()

    # /docs and /openapi.json are routes of their own, behind the API key
    app = FastAPI(title="clinivox", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.clinivox = state
    for module in (health, sessions, transcriptions, stream):
        app.include_router(module.router)

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

    return app
