"""`clinivox stream FILE` and `clinivox alerts FILE`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from clinivox.cli.transcribe import add_model_args


def add_parsers(sub) -> None:
    s = sub.add_parser("stream", help="streaming recognition of a file (partials and finals)")
    _common(s)
    s.add_argument("--json", action="store_true", help="print events as JSON lines")
    s.set_defaults(func=run_stream)
    a = sub.add_parser("alerts", help="critical-alert monitor on a file, alerts as JSON lines")
    _common(a)
    a.add_argument("--categories", default=None,
                   help="TOML/JSON file of extra categories (phrases, patterns, examples)")
    a.add_argument("--only-custom", action="store_true",
                   help="use only the categories from --categories")
    a.add_argument("--no-semantic", action="store_true",
                   help="lexicon matching only (no MiniLM similarity)")
    a.set_defaults(func=run_alerts)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    add_model_args(p)
    p.add_argument("--realtime", action="store_true",
                   help="feed at real-time pace (default: as fast as possible, simulated clock)")
    p.add_argument("--chunk-ms", type=int, default=100, help="chunk size fed (20-500 ms)")
    p.add_argument("--language", default=None)
    p.add_argument("--endpoint-ms", type=int, default=500, help="silence that ends an utterance")


def _stream(args: argparse.Namespace):
    from clinivox.asr.recognizer import Recognizer
    from clinivox.asr.streaming import StreamingOptions, StreamingRecognizer
    from clinivox.asr.types import TranscribeOptions
    from clinivox.audio.decode import probe

    probe(args.file)  # fail fast on bad input, before loading the model
    rec = Recognizer(args.model, device=args.device, compute_type=args.compute_type,
                     cpu_threads=args.cpu_threads)
    stream = StreamingRecognizer(
        rec, TranscribeOptions(language=args.language),
        StreamingOptions(endpoint_silence_ms=args.endpoint_ms,
                         speculative_ms=min(200, args.endpoint_ms)),
        clock=time.monotonic if args.realtime else None)
    return stream


def _summary(stream, alerts=None) -> None:
    from clinivox.asr.streaming import latency_summary

    summary = {"audio_s": round(stream.audio_s, 3), "latency": latency_summary(stream.events)}
    if alerts is not None:
        import numpy as np

        lat = np.array([a.latency_s for a in alerts])
        summary["alerts"] = len(alerts)
        if lat.size:
            summary["alert_latency"] = {"p50_s": float(np.percentile(lat, 50)),
                                        "p95_s": float(np.percentile(lat, 95))}
    print(f"latency summary: {json.dumps(summary)}", file=sys.stderr)


def run_stream(args: argparse.Namespace) -> int:
    from clinivox.asr.streaming import feed_file

    stream = _stream(args)

    def show(e) -> None:
        if args.json:
            print(json.dumps(e.to_dict(), ensure_ascii=False), flush=True)
        elif e.kind == "partial":
            print(f"  ... [{e.start_s:7.2f}] {e.text}", flush=True)
        else:
            print(f"FINAL [{e.start_s:7.2f}-{e.end_s:7.2f}] {e.text}  "
                  f"(+{e.latency_s:.2f} s)", flush=True)

    feed_file(stream, args.file, chunk_ms=args.chunk_ms, realtime=args.realtime, on_event=show)
    _summary(stream)
    return 0


def run_alerts(args: argparse.Namespace) -> int:
    from clinivox.alerts import AlertMonitor, AlertOptions, builtin_categories, load_categories
    from clinivox.asr.streaming import feed_file

    categories = [] if args.only_custom else builtin_categories()
    if args.categories:
        custom = load_categories(args.categories)
        names = {c.name for c in custom}
        categories = [c for c in categories if c.name not in names] + custom
    monitor = AlertMonitor(categories, AlertOptions(semantic=not args.no_semantic))
    stream = _stream(args)

    def check(e) -> None:
        for alert in monitor.process(e):
            print(json.dumps(alert.to_dict(), ensure_ascii=False), flush=True)

    feed_file(stream, args.file, chunk_ms=args.chunk_ms, realtime=args.realtime, on_event=check)
    _summary(stream, monitor.alerts)
    return 0
