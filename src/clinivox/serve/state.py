"""What the routes share: the server's state and the dependencies that read it."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse

from clinivox.asr.scheduler import DecodeScheduler
from clinivox.serve.db import Owner, Store, database_url
from clinivox.serve.metrics import Metrics
from clinivox.serve.settings import ServerSettings, is_loopback

T = TypeVar("T")


class AppState:
    """The server's shared parts: settings, store, metrics, the recognizer, the decode
    scheduler (REST chunks, stream partials and finals on one engine worker, finals first),
    lazily loaded
    medical biaser and diarizer, and the thread pool that blocking work runs on."""

    def __init__(self, settings: ServerSettings, recognizer=None) -> None:
        from clinivox.asr.recognizer import Recognizer

        settings.validate()
        self.settings = settings
        self.store = Store(database_url(settings.data_dir, settings.database_url),
                           storage_key=settings.storage_key)
        self.store.interrupt_open_sessions()
        self.audio = None  # the audio store, when audio is kept
        if settings.retain_audio_days and settings.storage_key is not None:
            from clinivox.serve.audio_store import AudioStore

            self.audio = AudioStore(Path(settings.data_dir) / "audio", settings.storage_key,
                                    settings.retain_audio_days * 86400.0)
            self.audio.purge()
        self.metrics = Metrics()
        self.recognizer = recognizer or Recognizer(settings.model, device=settings.device,
                                                   compute_type=settings.compute_type,
                                                   cpu_threads=settings.cpu_threads)
        # One scheduler for the engine: stream finals first, then REST batches, then stream
        # partials (skipped while other work waits). See clinivox.asr.scheduler.
        self.scheduler = DecodeScheduler(self.recognizer.engine, settings.batching,
                                         on_batch=self.metrics.batch_size.observe)
        self.streams = 0
        # Stream sessions run their feeds, database writes and alert checks in threads, and
        # a feed can block while a final waits for the decode scheduler. asyncio's default pool
        # (cores + 4 threads) ran out with 4-5 streams and stalled every session; this pool
        # is sized to the sessions allowed, and used explicitly (`run`): the event loop's
        # default executor is left alone.
        self.pool = ThreadPoolExecutor(max_workers=3 * settings.max_streams + 8,
                                       thread_name_prefix="clinivox")
        self._lazy_lock = threading.Lock()
        self._biaser = None
        self._diarizer = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on the server's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.scheduler.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def medical_biaser(self):
        """The full-lexicon biaser, loaded on the first request that asks for it."""
        with self._lazy_lock:
            if self._biaser is None:
                from clinivox.biasing import load_biaser

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


def get_state(request: Request) -> AppState:
    """Dependency: the app's `AppState`."""
    return request.app.state.clinivox


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def principal(request: Request) -> Owner:
    """Dependency: who the caller is (401 without a valid key, except keyless local use)."""
    return get_state(request).authenticate(
        bearer(request), request.client.host if request.client else None)


def error_response(status: int, message: str, kind: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape: `{"error": {"message", "type"}}`."""
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status,
                        headers=headers)


def static_file(folder: Path, name: str) -> FileResponse:
    """A file directly inside `folder`; 404 for anything else (other folders, NUL bytes)."""
    if "\x00" in name:  # resolve() raises on a NUL byte
        raise HTTPException(404, "not found")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise HTTPException(404, "not found")
    media = "text/javascript" if name.endswith(".js") else None
    return FileResponse(path, media_type=media)
