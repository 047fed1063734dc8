"""Server settings: one frozen dataclass, validated once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from clinivox.asr.scheduler import BatchingOptions


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
    cpu_threads: int = 0  # CTranslate2 threads (0: all cores)
    max_upload_bytes: int = 100 * 1024 * 1024  # larger uploads answer 413
    max_audio_s: float = 4 * 3600.0  # longer audio answers 413
    max_stream_s: float = 4 * 3600.0  # a WebSocket session ends with an error after this
    max_frame_bytes: int = 1024 * 1024  # larger binary frames are refused (error event)
    max_streams: int = 16  # concurrent WebSocket sessions; more answer 503 / close 1013
    stream_idle_s: float = 60.0  # a stream that sends nothing for this long is ended
    key_check_s: float = 5.0  # how often an open stream checks that its key is not revoked
    db_retry_s: float = 60.0  # a locked database: writes are retried this long, then fail
    max_backlog_s: float = 300.0  # a stream's audio received but not yet decoded, at most
    storage_key: bytes | None = field(default=None, repr=False)  # AES-GCM key at rest
    retain_audio_days: float = 0.0  # keep stream audio, encrypted, this long (0: not kept)
    batching: BatchingOptions = field(default_factory=BatchingOptions)

    def validate(self) -> None:
        if self.insecure_local and not is_loopback(self.host):
            raise ValueError("--insecure-local is allowed only when binding to a loopback "
                             f"address (127.0.0.1, ::1, localhost), not {self.host!r}")
        if self.max_upload_bytes < 1024 or self.max_audio_s <= 0:
            raise ValueError("upload and duration limits must be positive")
        if min(self.stream_idle_s, self.key_check_s, self.max_backlog_s) <= 0 or \
                self.db_retry_s < 0:
            raise ValueError("stream idle timeout, key check interval and backlog must be "
                             "> 0 s, database retry >= 0 s")
        if self.retain_audio_days < 0:
            raise ValueError("--retain-audio-days must be >= 0")
        if self.retain_audio_days and self.storage_key is None:
            raise ValueError("keeping audio (--retain-audio-days) needs the storage key: "
                             "audio is kept only encrypted (make one with `clinivox keys "
                             "storage-key`, then --storage-key-file or "
                             "$CLINIVOX_STORAGE_KEY)")
        self.batching.validate()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str | None) -> str:
    """The name in a Host header, without the port ("[::1]:8000" -> "::1")."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def local_request_allowed(host_header: str | None, origin: str | None) -> bool:
    """With --insecure-local: only requests addressed to a loopback name, and (when a browser
    says where it comes from) only from a page of this same origin. A DNS-rebinding page
    reaches 127.0.0.1 under its own host name; a cross-origin page sends its Origin."""
    if not is_loopback(host_name(host_header)):
        return False
    if origin is None:
        return True
    from urllib.parse import urlsplit

    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and \
        parts.netloc.lower() == (host_header or "").strip().lower()
