"""`clinivox serve` and `clinivox keys create|list|revoke`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from clinivox.cli.transcribe import add_model_args

# The WebSocket layer accepts messages up to this size so that a frame over the protocol's
# limit (`max_frame_bytes`, 1 MiB) reaches the session and gets its `frame_too_large` error
# event; at 2 MiB here, frames between 2 and 16 MiB dropped the whole connection instead.
WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def add_database_args(p) -> None:
    p.add_argument("--database-url", default=None,
                   help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: "
                        "$CLINIVOX_DATABASE_URL, else SQLite under --data-dir). A password "
                        "here shows in `ps`: prefer the variable or --database-url-file")
    p.add_argument("--database-url-file", type=Path, default=None,
                   help="read the database URL from this file (e.g. a mounted secret)")
    p.add_argument("--storage-key-file", type=Path, default=None,
                   help="encrypt stored transcripts (AES-GCM) with this key (default: "
                        "$CLINIVOX_STORAGE_KEY; neither: stored as plain text). Make one "
                        "with `clinivox keys storage-key`")


def database_url_from_args(args: argparse.Namespace) -> str | None:
    """The URL from --database-url-file, --database-url or $CLINIVOX_DATABASE_URL."""
    from clinivox.errors import InputError

    if args.database_url_file is not None:
        try:
            url = args.database_url_file.read_text().strip()
        except OSError as exc:
            raise InputError(f"cannot read --database-url-file {args.database_url_file}: "
                             f"{exc.strerror}") from exc
        if not url:
            raise InputError(f"--database-url-file {args.database_url_file} is empty")
        return url
    if args.database_url:
        from sqlalchemy.engine import make_url

        try:
            has_password = make_url(args.database_url).password is not None
        except Exception:  # a malformed URL fails with its own error when opened
            has_password = False
        if has_password:
            print("clinivox: warning: the --database-url password is visible to every user "
                  "in the process list; use $CLINIVOX_DATABASE_URL or --database-url-file",
                  file=sys.stderr)
        return args.database_url
    return os.environ.get("CLINIVOX_DATABASE_URL") or None


def add_parsers(sub) -> None:
    s = sub.add_parser("serve", help="run the HTTP/WebSocket server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data-dir", type=Path, default=Path("clinivox-data"))
    add_database_args(s)
    s.add_argument("--tls-cert", type=Path, default=None,
                   help="PEM certificate: serve HTTPS/WSS (a browser's microphone needs a "
                        "secure context on any host but localhost)")
    s.add_argument("--tls-key", type=Path, default=None, help="PEM private key for --tls-cert")
    s.add_argument("--insecure-local", action="store_true",
                   help="allow requests without an API key, from loopback only")
    add_model_args(s)
    s.add_argument("--max-batch-size", type=int, default=8)
    s.add_argument("--max-wait-ms", type=float, default=25.0)
    s.add_argument("--queue-limit", type=int, default=64)
    s.add_argument("--no-batching", action="store_true", help="decode each chunk alone")
    s.add_argument("--max-upload-mb", type=float, default=100.0)
    s.add_argument("--max-audio-s", type=float, default=4 * 3600.0)
    s.add_argument("--max-streams", type=int, default=16)
    s.add_argument("--retain-audio-days", type=float, default=0.0,
                   help="keep each stream session's audio, encrypted with the storage key, "
                        "this many days (0, the default: no audio is kept)")
    s.add_argument("--stream-idle-s", type=float, default=60.0,
                   help="end a stream that sends nothing for this long (default 60)")
    s.add_argument("--db-retry-s", type=float, default=60.0,
                   help="while the database is locked, retry a stream's writes this long, "
                        "holding its finals in memory (default 60)")
    s.set_defaults(func=run_serve)

    k = sub.add_parser("keys", help="manage API keys (hashed at rest)")
    k.add_argument("--data-dir", type=Path, default=Path("clinivox-data"))
    add_database_args(k)
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    c = ksub.add_parser("create", help="create a key; it is printed once")
    c.add_argument("name")
    c.add_argument("--admin", action="store_true",
                   help="an admin key: reads and deletes every key's sessions (a plain key "
                        "sees only its own)")
    ksub.add_parser("list", help="list keys (never the keys themselves)")
    ksub.add_parser("storage-key", help="print a new storage key (for transcripts at rest)")
    aud = ksub.add_parser("audit", help="the access audit log, newest first (ids, no text)")
    aud.add_argument("--limit", type=int, default=100)
    rot = ksub.add_parser("rotate-storage", help="re-encrypt stored transcripts under a new "
                          "storage key (the current one from --storage-key-file or "
                          "$CLINIVOX_STORAGE_KEY)")
    rot.add_argument("--new-key-file", type=Path, required=True)
    r = ksub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("id", type=int)
    k.set_defaults(func=run_keys)


def settings_from_args(args: argparse.Namespace):
    from clinivox.asr.scheduler import BatchingOptions
    from clinivox.serve.crypto import load_key
    from clinivox.serve.settings import ServerSettings

    return ServerSettings(
        host=args.host, port=args.port, data_dir=args.data_dir,
        database_url=database_url_from_args(args), insecure_local=args.insecure_local,
        model=args.model,
        device=args.device, compute_type=args.compute_type, cpu_threads=args.cpu_threads,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_audio_s=args.max_audio_s,
        max_streams=args.max_streams, stream_idle_s=args.stream_idle_s,
        storage_key=load_key(args.storage_key_file),
        retain_audio_days=args.retain_audio_days,
        db_retry_s=args.db_retry_s,
        batching=BatchingOptions(enabled=not args.no_batching,
                                 max_batch_size=args.max_batch_size,
                                 max_wait_ms=args.max_wait_ms, queue_limit=args.queue_limit))


def _single_threaded_blas() -> None:
    """numpy's BLAS (sentence embeddings for alerts, speaker embeddings) runs on one thread in
    the server: the cores belong to CTranslate2's decodes, and OpenBLAS worker threads that
    spin-wait beside them slowed every stream (measured: docs/benchmarks.md, server notes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it BLAS keeps its default threads
        return
    threadpool_limits(limits=1, user_api="blas")


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from clinivox.errors import InputError
    from clinivox.serve.app import create_app
    from clinivox.serve.settings import is_loopback

    settings = settings_from_args(args)
    settings.validate()
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InputError("--tls-cert and --tls-key go together")
    tls = args.tls_cert is not None
    for path in (args.tls_cert, args.tls_key) if tls else ():
        if not path.is_file():
            raise InputError(f"TLS file not found: {path}")
    if not tls and not is_loopback(settings.host):
        print(f"clinivox: warning: serving {settings.host} without TLS: API keys and "
              "transcripts cross the network in clear text, and browsers allow the "
              "microphone only on a secure origin; pass --tls-cert and --tls-key",
              file=sys.stderr)
    _single_threaded_blas()
    app = create_app(settings)
    note = " (insecure-local: no API key needed from loopback)" if settings.insecure_local else ""
    scheme = "https" if tls else "http"
    print(f"clinivox: serving on {scheme}://{settings.host}:{settings.port}{note}",
          file=sys.stderr, flush=True)
    # access_log off: paths and status codes are counted in /metrics; nothing else logged
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                access_log=False, ws_max_size=WS_MAX_MESSAGE_BYTES,
                ssl_certfile=str(args.tls_cert) if tls else None,
                ssl_keyfile=str(args.tls_key) if tls else None)
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from clinivox.serve.crypto import load_key, new_key
    from clinivox.serve.db import Store, database_url

    if args.keys_command == "storage-key":
        print(new_key())
        print("keep it secret and safe: transcripts stored under it cannot be read without "
              "it", file=sys.stderr)
        return 0
    store = Store(database_url(args.data_dir, database_url_from_args(args)),
                  storage_key=load_key(args.storage_key_file))
    if args.keys_command == "audit":
        for entry in store.audit_log(max(1, args.limit)):
            print(json.dumps(entry))
        return 0
    if args.keys_command == "rotate-storage":
        fresh = load_key(args.new_key_file)
        assert fresh is not None  # a file was given
        current = load_key(args.storage_key_file)
        n = store.rotate_storage(fresh)
        from clinivox.serve.crypto import key_id

        files = 0
        audio_dir = args.data_dir / "audio"
        if current is not None and audio_dir.is_dir():  # kept audio, under the new key too
            from clinivox.serve.audio_store import AudioStore

            files = AudioStore(audio_dir, current, float("inf")).rotate(fresh)
        print(json.dumps({"rotated_rows": n, "rotated_audio_files": files,
                          "key_id": key_id(fresh)}))
        return 0
    if args.keys_command == "create":
        row, key = store.create_key(args.name, scope="admin" if args.admin else "user")
        print(json.dumps({"id": row.id, "name": row.name, "scope": row.scope, "key": key}))
        print("store this key now: it is not kept in readable form", file=sys.stderr)
        return 0
    if args.keys_command == "list":
        for row in store.list_keys():
            print(json.dumps({"id": row.id, "name": row.name, "prefix": row.prefix,
                              "scope": row.scope,
                              "created_at": row.created_at.isoformat() + "Z",
                              "revoked": row.revoked_at is not None}))
        return 0
    if not store.revoke_key(args.id):
        print(f"clinivox: error: no active key with id {args.id}", file=sys.stderr)
        return 2
    print(json.dumps({"id": args.id, "revoked": True}))
    return 0
