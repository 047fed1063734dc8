"""Persistence through SQLAlchemy: API keys, sessions, final segments, alerts, request metadata.

SQLite (a file under the data directory) by default, PostgreSQL when a URL is given. The
schema is created and upgraded by Alembic migrations (`serve/migrations`). Transcript text is
stored only in `segments`; request metadata never holds text or audio.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

KEY_PREFIX = "cvx_"
T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)  # shown in listings
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the key
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # "user": sees and deletes only its own sessions; "admin": every session
    scope: Mapped[str] = mapped_column(String(16), default="user")


SCOPES = ("user", "admin")


@dataclass(frozen=True)
class Owner:
    """Whose sessions a caller may read or delete.

    A key sees the sessions it created; an admin key sees all of them. `key_id=None` (keyless
    `--insecure-local` use) sees only the sessions created without a key, never a key's.
    """

    key_id: int | None
    admin: bool = False

    def can_see(self, session_key_id: int | None) -> bool:
        return self.admin or session_key_id == self.key_id


# the owner that internal tooling (the CLI, tests) uses to see everything
ADMIN = Owner(key_id=None, admin=True)


class TranscriptSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    kind: Mapped[str] = mapped_column(String(16))  # "stream" or "rest"
    # open, done, disconnected, idle_timeout, revoked, too_long, error, interrupted
    status: Mapped[str] = mapped_column(String(16), default="open")
    model: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    audio_s: Mapped[float] = mapped_column(Float, default=0.0)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True,
                                               index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SegmentRow(Base):
    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # a list of word dicts, or (encrypted at rest) the token that seals it
    words: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    audio_start_s: Mapped[float] = mapped_column(Float)
    audio_end_s: Mapped[float] = mapped_column(Float)
    latency_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RequestLog(Base):
    """Metadata of each request: never text, never audio."""

    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    audio_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batched: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditRow(Base):
    """Who did what to which session, when, with what outcome: ids only, never text."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[int] = mapped_column(Integer)


def retry_write(write: Callable[..., T], *args: Any, budget_s: float,
                first_wait_s: float = 0.05) -> T:
    """`write(*args)`, retried with exponential backoff while the database is locked or its
    connection dropped (`OperationalError`), for up to `budget_s` seconds; then the last
    error is raised. A stream keeps its final in memory meanwhile, so a 5 s lock delays the
    final instead of ending the session and losing it."""
    deadline = time.monotonic() + budget_s
    wait_s = first_wait_s
    while True:
        try:
            return write(*args)
        except OperationalError:
            if time.monotonic() + wait_s > deadline:
                raise
            time.sleep(wait_s)
            wait_s = min(wait_s * 2, 2.0)


def database_url(data_dir: Path, url: str | None) -> str:
    """The SQLAlchemy URL: `url` as given, or SQLite under `data_dir`. The directory is made
    owner-only (0700) and the database file 0600 before SQLite opens it (its -wal and -shm
    files take the database file's mode): transcripts are PHI."""
    if url:
        return url
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    db = data_dir / "clinivox.db"
    db.touch(mode=0o600, exist_ok=True)
    for path in (db, data_dir / "clinivox.db-wal", data_dir / "clinivox.db-shm"):
        if path.exists():
            path.chmod(0o600)
    return f"sqlite:///{db.resolve()}"


def make_engine(url: str) -> Engine:
    # hide_parameters: a driver error's message otherwise carries the bound values (a
    # patient's words in a segment insert), and error paths must never hold PHI
    engine = create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # durable, concurrent readers
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def migrate(url: str) -> None:
    """Create or upgrade the schema to the latest migration."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


class Store:
    """Database operations used by the routes and the CLI. Each call is one transaction."""

    def __init__(self, url: str, storage_key: bytes | None = None) -> None:
        """`storage_key`: transcripts (segment text and words, alert text) are stored
        AES-GCM encrypted (`serve.crypto`); a key that does not open the stored data is
        refused here, before anything is read or written."""
        self.url = url
        migrate(url)
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.cipher = None
        if storage_key is not None:
            from clinivox.serve.crypto import Cipher

            self.cipher = Cipher(storage_key)
        self._check_key()

    def _check_key(self) -> None:
        from clinivox.serve.crypto import StorageKeyError, token_key_id

        with self.Session() as s:
            stored = s.scalar(select(SegmentRow.text).where(
                SegmentRow.text.like("enc:v1:%")).limit(1))
        kid = token_key_id(stored)
        if kid is None:
            return
        if self.cipher is None:
            raise StorageKeyError("the database holds encrypted transcripts: give the storage "
                                  "key ($CLINIVOX_STORAGE_KEY or --storage-key-file)")
        if kid != self.cipher.id:
            raise StorageKeyError(f"the database's transcripts were encrypted with another "
                                  f"storage key (id {kid}); this key's id is "
                                  f"{self.cipher.id}. Nothing was changed.")

    def _seal(self, value):
        return self.cipher.seal(value) if self.cipher is not None else value

    def _open(self, value):
        return self.cipher.open(value) if self.cipher is not None else value

    # keys ------------------------------------------------------------------------------
    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def create_key(self, name: str, scope: str = "user") -> tuple[ApiKey, str]:
        if scope not in SCOPES:
            raise ValueError(f"key scope must be one of {SCOPES}, not {scope!r}")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(name=name, prefix=key[:12], key_hash=self.hash_key(key), scope=scope)
        with self.Session.begin() as s:
            s.add(row)
        return row, key

    def list_keys(self) -> list[ApiKey]:
        with self.Session() as s:
            return list(s.scalars(select(ApiKey).order_by(ApiKey.id)))

    def revoke_key(self, key_id: int) -> bool:
        with self.Session.begin() as s:
            row = s.get(ApiKey, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = utcnow()
            return True

    def check_key(self, key: str) -> int | None:
        """The key's id if it is valid and not revoked."""
        owner = self.key_owner(key)
        return None if owner is None else owner.key_id

    def key_owner(self, key: str) -> Owner | None:
        """Who the key is (its id and scope) if it is valid and not revoked."""
        with self.Session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.key_hash == self.hash_key(key)))
            if row is None or row.revoked_at is not None:
                return None
            return Owner(key_id=row.id, admin=row.scope == "admin")

    def key_active(self, key_id: int) -> bool:
        """False once the key is revoked (open streams check this to end themselves)."""
        with self.Session() as s:
            row = s.get(ApiKey, key_id)
            return row is not None and row.revoked_at is None

    # sessions ------------------------------------------------------------------------------
    def open_session(self, kind: str, model: str, key_id: int | None,
                     language: str | None = None) -> str:
        with self.Session.begin() as s:
            row = TranscriptSession(kind=kind, model=model, key_id=key_id, language=language)
            s.add(row)
            s.flush()
            return row.id

    def add_segment(self, session_id: str, idx: int, start_s: float, end_s: float, text: str,
                    words: list[dict]) -> None:
        with self.Session.begin() as s:
            s.add(SegmentRow(session_id=session_id, idx=idx, start_s=start_s, end_s=end_s,
                             text=self._seal(text), words=self._seal(words)))

    def add_alert(self, session_id: str, alert: dict) -> None:
        with self.Session.begin() as s:
            s.add(AlertRow(session_id=session_id, category=alert["category"],
                           text=self._seal(alert["text"]),
                           audio_start_s=alert["audio_start_s"],
                           audio_end_s=alert["audio_end_s"], latency_s=alert["latency_s"]))

    def close_session(self, session_id: str, status: str, audio_s: float) -> None:
        with self.Session.begin() as s:
            row = s.get(TranscriptSession, session_id)
            if row is not None:
                row.status, row.audio_s, row.ended_at = status, audio_s, utcnow()

    def rotate_storage(self, new_key: bytes) -> int:
        """Re-encrypt every stored transcript under `new_key` (plain rows too), in one
        transaction: all or nothing. Returns the rows rewritten."""
        from clinivox.serve.crypto import Cipher

        new = Cipher(new_key)
        n = 0
        with self.Session.begin() as s:
            for g in s.scalars(select(SegmentRow)):
                g.text = new.seal(self._open(g.text))
                g.words = new.seal(self._open(g.words))  # type: ignore[assignment]
                n += 1
            for a in s.scalars(select(AlertRow)):
                a.text = new.seal(self._open(a.text))
                n += 1
        self.cipher = new
        return n

    def audit(self, key_id: int | None, action: str, target: str | None,
              status: int = 200) -> None:
        with self.Session.begin() as s:
            s.add(AuditRow(key_id=key_id, action=action, target=target, status=status))

    def audit_log(self, limit: int = 100) -> list[dict]:
        with self.Session() as s:
            rows = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
            return [{"at": r.at.isoformat() + "Z", "key_id": r.key_id, "action": r.action,
                     "target": r.target, "status": r.status} for r in rows]

    def interrupt_open_sessions(self) -> int:
        """Mark sessions a crash left `open` as `interrupted` (at start-up, before any
        stream opens; one server per database). Their stored finals stay readable."""
        with self.Session.begin() as s:
            rows = list(s.scalars(select(TranscriptSession)
                                  .where(TranscriptSession.status == "open")))
            for row in rows:
                row.status, row.ended_at = "interrupted", utcnow()
            return len(rows)

    def log_request(self, endpoint: str, status: int, duration_ms: float,
                    audio_s: float | None, key_id: int | None, batched: bool = False) -> None:
        with self.Session.begin() as s:
            s.add(RequestLog(endpoint=endpoint, status=status, duration_ms=duration_ms,
                             audio_s=audio_s, key_id=key_id, batched=batched))

    def list_sessions(self, owner: Owner, limit: int = 100) -> list[dict]:
        """The newest sessions the owner may see (its own; all for an admin)."""
        with self.Session() as s:
            q = select(TranscriptSession, func.count(SegmentRow.id)).outerjoin(
                SegmentRow, SegmentRow.session_id == TranscriptSession.id)
            if not owner.admin:
                q = q.where(TranscriptSession.key_id.is_(None) if owner.key_id is None
                            else TranscriptSession.key_id == owner.key_id)
            q = q.group_by(TranscriptSession.id).order_by(
                TranscriptSession.created_at.desc()).limit(limit)
            return [_session_dict(row, n) for row, n in s.execute(q)]

    def can_see_session(self, session_id: str, owner: Owner) -> bool:
        """The session exists and `owner` may see it (its segments are not read)."""
        with self.Session() as s:
            row = s.get(TranscriptSession, session_id)
            return row is not None and owner.can_see(row.key_id)

    def get_session(self, session_id: str, owner: Owner) -> dict | None:
        """The session with its segments and alerts; None when it does not exist or belongs
        to someone else (the two are not told apart, so ids cannot be probed)."""
        with self.Session() as s:
            row = s.get(TranscriptSession, session_id)
            if row is None or not owner.can_see(row.key_id):
                return None
            segs = list(s.scalars(select(SegmentRow).where(SegmentRow.session_id == session_id)
                                  .order_by(SegmentRow.idx)))
            alerts = list(s.scalars(select(AlertRow).where(AlertRow.session_id == session_id)
                                    .order_by(AlertRow.id)))
            d = _session_dict(row, len(segs))
            d["segments"] = [{"idx": g.idx, "start_s": g.start_s, "end_s": g.end_s,
                              "text": self._open(g.text), "words": self._open(g.words)}
                             for g in segs]
            d["text"] = " ".join(x["text"] for x in d["segments"])
            d["alerts"] = [{"category": a.category, "text": self._open(a.text),
                            "audio_start_s": a.audio_start_s, "audio_end_s": a.audio_end_s,
                            "latency_s": a.latency_s} for a in alerts]
            return d

    def delete_session(self, session_id: str, owner: Owner) -> bool:
        """Delete a session with its segments and alerts, in one transaction. False when it
        does not exist or belongs to someone else."""
        with self.Session.begin() as s:
            row = s.get(TranscriptSession, session_id)
            if row is None or not owner.can_see(row.key_id):
                return False
            s.execute(delete(SegmentRow).where(SegmentRow.session_id == session_id))
            s.execute(delete(AlertRow).where(AlertRow.session_id == session_id))
            s.delete(row)
            return True


def _session_dict(row: TranscriptSession, n_segments: int) -> dict:
    return {"id": row.id, "kind": row.kind, "status": row.status, "model": row.model,
            "language": row.language, "audio_s": row.audio_s, "segments_count": n_segments,
            "created_at": row.created_at.isoformat() + "Z",
            "ended_at": row.ended_at.isoformat() + "Z" if row.ended_at else None}


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
