"""`clinivox eval asr --manifest M.jsonl`"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clinivox.cli.transcribe import add_medical_args, add_model_args, medical_biaser


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate recognition against references")
    esub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    a = esub.add_parser("asr", help="WER/CER, term recall and RTF over a manifest")
    a.add_argument("--manifest", required=True, type=Path)
    add_model_args(a)
    a.add_argument("--batch-size", type=int, default=8)
    a.add_argument("--beam-size", type=int, default=5)
    a.add_argument("--baseline", action="store_true",
                   help="also run plain faster-whisper (beam 5) on the same files")
    a.add_argument("--output-dir", type=Path, default=Path("out/eval"))
    a.add_argument("--limit", type=int, default=None, help="first N rows only")
    add_medical_args(a)
    a.add_argument("--quiet", action="store_true")
    a.set_defaults(func=run_asr)
    from clinivox.cli.diarize import add_eval_parser

    add_eval_parser(esub)


def run_asr(args: argparse.Namespace) -> int:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.asr.types import TranscribeOptions
    from clinivox.cli.progress import item_progress
    from clinivox.eval.asr import evaluate, machine_description, manifest_rows, write_reports
    from clinivox.io.writers import check_output_dir

    rows = manifest_rows(args.manifest)[: args.limit]
    check_output_dir(args.output_dir)
    from clinivox.asr.models import model_for_medical

    # --medical evaluates what `transcribe --medical` runs: the clinical build of a
    # bundled model, with and without the medical layer
    model = model_for_medical(args.model, args.medical, args.bundled_model)
    recognizer = Recognizer(model, device=args.device, compute_type=args.compute_type,
                            cpu_threads=args.cpu_threads)
    base_opts = TranscribeOptions(beam_size=args.beam_size, batch_size=args.batch_size)

    def ours(row, biaser=None):
        import dataclasses

        lang = row.language if recognizer.engine.multilingual else None
        opts = dataclasses.replace(base_opts, language=lang)
        segments, info = recognizer.transcribe(row.audio, opts, biaser=biaser)
        text = " ".join(s.text for s in segments)
        return text, info.duration_s

    systems: list[tuple[str, Callable[[Any], tuple[str, float]]]] = [("clinivox", ours)]
    biaser = medical_biaser(args, recognizer.engine)
    matcher = None
    if biaser is not None:
        # the same pipeline with and without the medical layer, in one run
        matcher = biaser.matcher
        label = "clinivox --medical" if args.medical else "clinivox --vocab"
        systems.insert(0, (label, functools.partial(ours, biaser=biaser)))
    if args.baseline:
        from clinivox.audio.decode import load_audio, probe
        from clinivox.eval.baseline import PlainFasterWhisper

        plain = PlainFasterWhisper(model, device=args.device,
                                   compute_type=args.compute_type, cpu_threads=args.cpu_threads)

        def baseline(row):
            audio = load_audio(row.audio)
            lang = row.language if plain.model.model.is_multilingual else None
            return plain.transcribe_text(audio, lang), probe(row.audio).duration_s or 0.0

        systems.append((plain.name, baseline))
    reports = []
    with item_progress(disable=args.quiet or not sys.stderr.isatty()) as progress:
        for name, fn in systems:
            task = progress.add_task(name, total=len(rows))
            reports.append(evaluate(rows, name, fn, functools.partial(progress.advance, task),
                                    term_matcher=matcher))
    meta = {"manifest": str(args.manifest), "model": model, "device":
            recognizer.engine.device, "compute_type": recognizer.engine.compute_type,
            "machine": machine_description()}
    paths = write_reports(reports, meta, args.output_dir)
    summary = [r.totals() for r in reports]
    print(json.dumps({"systems": summary, "reports": {k: str(v) for k, v in paths.items()}},
                     indent=2))
    return 1 if any(t["failed"] for t in summary) else 0
