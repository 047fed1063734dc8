"""Fixtures that run the real server (uvicorn, real sockets) on a free loopback port."""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from clinivox.serve.settings import ServerSettings


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: ServerSettings, recognizer, **uvicorn_options) -> None:
        import uvicorn

        from clinivox.serve.app import create_app

        self.settings = replace(settings, port=free_port())
        self.app = create_app(self.settings, recognizer=recognizer)
        self.state = self.app.state.clinivox
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.settings.port,
                                log_level="warning", access_log=False, ws="websockets-sansio",
                                **uvicorn_options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.ws_url = f"ws://127.0.0.1:{self.settings.port}/v1/stream"

    def key(self, name: str = "test") -> str:
        return self.state.store.create_key(name)[1]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    live = LiveServer(ServerSettings(data_dir=tmp_path_factory.mktemp("data")), recognizer)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api_key(server) -> str:
    return server.key()


@pytest.fixture(scope="module")
def client(server, api_key):
    with httpx.Client(base_url=server.url, timeout=120,
                      headers={"Authorization": f"Bearer {api_key}"}) as c:
        yield c


def start_server_process(data_dir: Path, port: int, *extra: str,
                         timeout_s: float = 60.0, env: dict | None = None) -> subprocess.Popen:
    """`clinivox serve` as a separate process (as it runs in production), once /healthz
    answers; raises with the end of its stderr when it does not start. `env`: extra
    environment (a benchmark runs another checkout's server with its PYTHONPATH)."""
    import os

    proc = subprocess.Popen([sys.executable, "-m", "clinivox.cli.main", "serve", "--port",
                             str(port), "--data-dir", str(data_dir), "--device", "cpu", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(proc.stderr.read().decode()[-2000:])


def wav_bytes(audio: np.ndarray, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def dictation(speech, tmp_path_factory) -> tuple[Path, np.ndarray]:
    from clinivox.testing.synth import silence, synthesize

    x = np.concatenate([silence(0.5), speech["clinic"], silence(1.0),
                        synthesize("He has gone into cardiac arrest, start compressions."),
                        silence(1.0), speech["fox"], silence(1.0)])
    path = tmp_path_factory.mktemp("dictation") / "dictation.wav"
    sf.write(path, x, 16_000, subtype="PCM_16")
    return path, x


def pcm_frames(audio: np.ndarray, frame_ms: int = 100) -> list[bytes]:
    n = 16 * frame_ms
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return [pcm[i:i + n].tobytes() for i in range(0, pcm.shape[0], n)]
