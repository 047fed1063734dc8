"""`clinivox scribe FILE`: transcript + diarization + medical terms + alerts -> record."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def add_parser(sub) -> None:
    from clinivox.cli.diarize import add_speaker_args
    from clinivox.cli.transcribe import add_medical_args, add_model_args

    p = sub.add_parser("scribe", help="a consultation recording to a structured record",
                       description="Speaker-attributed transcript, chapters (complaint, "
                       "history, examination, plan), medical terms with codes, critical "
                       "alerts and a short summary; JSON plus a self-contained HTML report.")
    p.add_argument("file", metavar="FILE")
    add_model_args(p)
    p.add_argument("--language", default=None)
    add_speaker_args(p)
    add_medical_args(p)
    p.add_argument("--no-alerts", action="store_true", help="skip the critical-alert monitor")
    p.add_argument("--output-dir", type=Path, default=Path("out/scribe"))
    p.add_argument("--redact-phi", action="store_true",
                   help="redact PHI (names, dates, numbers, addresses, ...) in the record")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


log = logging.getLogger("clinivox.cli")


def run(args: argparse.Namespace) -> int:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.asr.types import TranscribeOptions
    from clinivox.audio.decode import probe
    from clinivox.cli.diarize import diarize_options
    from clinivox.cli.progress import audio_progress
    from clinivox.cli.transcribe import medical_biaser
    from clinivox.diarize import Diarizer
    from clinivox.io.writers import _atomic_write, check_output_dir
    from clinivox.pipeline import transcribe_file
    from clinivox.scribe.record import build_record
    from clinivox.scribe.report import render_html

    check_output_dir(args.output_dir)
    path = Path(args.file)
    from clinivox.asr.models import model_for_medical

    recognizer = Recognizer(model_for_medical(args.model, args.medical, args.bundled_model),
                            device=args.device,
                            compute_type=args.compute_type,
                            cpu_threads=args.cpu_threads)
    biaser = medical_biaser(args, recognizer.engine)
    opts = TranscribeOptions(language=args.language)
    total_s = probe(path).duration_s or None
    # transcription by audio time on a progress bar; diarization runs beside it
    with audio_progress(disable=args.quiet or not sys.stderr.isatty()) as progress:
        task = progress.add_task("transcribing, diarizing", total=total_s)
        transcript = transcribe_file(
            recognizer, path, opts, biaser=biaser, diarize=True,
            diarizer=None if args.by_channel else Diarizer(),
            diarize_options=diarize_options(args), by_channel=args.by_channel,
            on_segment=lambda seg: progress.update(task, completed=seg.end_s))
        progress.update(task, completed=total_s or transcript.info.duration_s,
                        description="scribe record")
    log.info("transcribed %d segments", len(transcript.segments))
    if args.redact_phi:  # the record, its JSON and its report hold the redacted text
        transcript.redact()
    attributed, info = transcript.segments, transcript.info
    extra = transcript.extra()
    term_finder = _terms(biaser)
    monitor = None
    if not args.no_alerts:
        from clinivox.alerts.monitor import AlertMonitor

        monitor = AlertMonitor()
    encoder = None
    try:
        from clinivox.nlp.embeddings import default_encoder

        encoder = default_encoder()
    except Exception as exc:  # the MiniLM package is optional: keyword cues still work
        print(f"clinivox: chapters without sentence embeddings ({type(exc).__name__})",
              file=sys.stderr)
    speakers = {s["speaker"]: s["role"] for s in extra["speakers"]}
    record = build_record(attributed, speakers, duration_s=info.duration_s,
                          term_finder=term_finder, alert_monitor=monitor, encoder=encoder,
                          diarization=extra["diarization"])
    stem = path.stem
    doc = {"file": path.name, **record.to_dict()}
    _atomic_write(args.output_dir / f"{stem}.scribe.json",
                  json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(args.output_dir / f"{stem}.scribe.html", render_html(record, path.name))
    if not args.quiet:
        print(json.dumps({"speakers": doc["speakers"], "chapters": len(record.chapters),
                          "terms": len(record.terms), "alerts": len(record.alerts),
                          "json": str(args.output_dir / f"{stem}.scribe.json"),
                          "html": str(args.output_dir / f"{stem}.scribe.html")}, indent=2))
    return 0


def _terms(biaser):
    """The record's terms, by the NLU that the transcribe outputs and the record's summary
    use (assertions included; "they all call me" is no leukaemia): with the biaser's lexicon
    under --medical or --vocab, else the NLU's own. Like the summary, it needs the lexicon:
    without the medical extra it stops with the lexicon's `pip install` error."""
    from clinivox.pipeline import text_terms

    matcher = biaser.matcher if biaser is not None else None
    return lambda text: text_terms(text, matcher)
