"""Server settings: one frozen dataclass, validated once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from clinivox.serve.batching import BatchingOptions


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"  # bind address
    port: int = 8000
    data_dir: Path = Path("clinivox-data")  # SQLite database and server state
    database_url: str | None = None  # e.g. postgresql+psycopg://user@host/db
    insecure_local: bool = False  # keyless use, allowed only on loopback
    model: str = "tiny.en"
    device: str = "auto"
    compute_type: str = "auto"
    max_upload_bytes: int = 100 * 1024 * 1024  # larger uploads answer 413
    max_audio_s: float = 4 * 3600.0  # longer audio answers 413
    max_stream_s: float = 4 * 3600.0  # a WebSocket session ends with an error after this
    max_frame_bytes: int = 1024 * 1024  # larger binary frames are refused (error event)
    max_streams: int = 16  # concurrent WebSocket sessions; more answer 503 / close 1013
    batching: BatchingOptions = field(default_factory=BatchingOptions)

    def validate(self) -> None:
        if self.insecure_local and not is_loopback(self.host):
            raise ValueError("--insecure-local is allowed only when binding to a loopback "
                             f"address (127.0.0.1, ::1, localhost), not {self.host!r}")
        if self.max_upload_bytes < 1024 or self.max_audio_s <= 0:
            raise ValueError("upload and duration limits must be positive")
        self.batching.validate()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
