"""`clinivox serve` and `clinivox keys create|list|revoke`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clinivox.cli.transcribe import add_model_args


def add_parsers(sub) -> None:
    s = sub.add_parser("serve", help="run the HTTP/WebSocket server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data-dir", type=Path, default=Path("clinivox-data"))
    s.add_argument("--database-url", default=None,
                   help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
                        "(default: SQLite under --data-dir)")
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
    s.set_defaults(func=run_serve)

    k = sub.add_parser("keys", help="manage API keys (hashed at rest)")
    k.add_argument("--data-dir", type=Path, default=Path("clinivox-data"))
    k.add_argument("--database-url", default=None)
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    c = ksub.add_parser("create", help="create a key; it is printed once")
    c.add_argument("name")
    ksub.add_parser("list", help="list keys (never the keys themselves)")
    r = ksub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("id", type=int)
    k.set_defaults(func=run_keys)


def settings_from_args(args: argparse.Namespace):
    from clinivox.serve.batching import BatchingOptions
    from clinivox.serve.settings import ServerSettings

    return ServerSettings(
        host=args.host, port=args.port, data_dir=args.data_dir,
        database_url=args.database_url, insecure_local=args.insecure_local, model=args.model,
        device=args.device, compute_type=args.compute_type,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_audio_s=args.max_audio_s,
        max_streams=args.max_streams,
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

    from clinivox.serve.app import create_app

    settings = settings_from_args(args)
    settings.validate()
    _single_threaded_blas()
    app = create_app(settings)
    note = " (insecure-local: no API key needed from loopback)" if settings.insecure_local else ""
    print(f"clinivox: serving on http://{settings.host}:{settings.port}{note}",
          file=sys.stderr, flush=True)
    # access_log off: paths and status codes are counted in /metrics; nothing else logged
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                access_log=False, ws_max_size=2 * 1024 * 1024)
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from clinivox.serve.db import Store, database_url

    store = Store(database_url(args.data_dir, args.database_url))
    if args.keys_command == "create":
        row, key = store.create_key(args.name)
        print(json.dumps({"id": row.id, "name": row.name, "key": key}))
        print("store this key now: it is not kept in readable form", file=sys.stderr)
        return 0
    if args.keys_command == "list":
        for row in store.list_keys():
            print(json.dumps({"id": row.id, "name": row.name, "prefix": row.prefix,
                              "created_at": row.created_at.isoformat() + "Z",
                              "revoked": row.revoked_at is not None}))
        return 0
    if not store.revoke_key(args.id):
        print(f"clinivox: error: no active key with id {args.id}", file=sys.stderr)
        return 2
    print(json.dumps({"id": args.id, "revoked": True}))
    return 0
