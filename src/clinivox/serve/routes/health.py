"""Health, metrics, models, the web page, and the API docs (behind the key)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from clinivox.serve.db import Owner
from clinivox.serve.state import AppState, get_state, principal, static_file

STATIC = Path(__file__).resolve().parents[1] / "static"
# The page loads only its own scripts, talks only to its own origin (HTTP and WebSocket), and
# may not be framed (clickjacking a microphone page).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")

router = APIRouter()


@router.get("/healthz")
async def healthz(state: AppState = Depends(get_state)):
    return {"status": "ok", "model": state.recognizer.model_name,
            "device": state.recognizer.engine.device}


@router.get("/metrics")
async def metrics(state: AppState = Depends(get_state), _p: Owner = Depends(principal)):
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    state.metrics.queue_depth.set(state.scheduler.depth)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models")
async def models(state: AppState = Depends(get_state), _p: Owner = Depends(principal)):
    name = state.recognizer.model_name
    return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "clinivox"},
                                       {"id": "whisper-1", "object": "model",
                                        "owned_by": "clinivox"}]}


@router.get("/")
async def page():
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP})


@router.get("/static/{name}")
async def static(name: str):
    return static_file(STATIC, name)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, _p: Owner = Depends(principal)):
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs(_p: Owner = Depends(principal)):
    from fastapi.openapi.docs import get_swagger_ui_html

    # the Swagger UI files come from the swagger-ui-bundle package: no CDN, so the page
    # works in an air-gapped hospital network
    return get_swagger_ui_html(openapi_url="/openapi.json", title="clinivox API",
                               swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs-assets/swagger-ui.css",
                               swagger_favicon_url="/docs-assets/favicon-32x32.png")


@router.get("/docs-assets/{name}", include_in_schema=False)
async def docs_assets(name: str):
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        raise HTTPException(404, "API docs need swagger-ui-bundle (clinivox[serve])") \
            from None
    return static_file(Path(swagger_ui_path), name)
