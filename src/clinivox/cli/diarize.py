"""`clinivox diarize FILES...` and `clinivox eval diarization`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clinivox.errors import ClinivoxError


def add_speaker_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("speakers")
    g.add_argument("--num-speakers", type=int, default=None, help="exact number, when known")
    g.add_argument("--min-speakers", type=int, default=1)
    g.add_argument("--max-speakers", type=int, default=8)
    g.add_argument("--fill-pause-s", type=float, default=1.0, metavar="S",
                   help="pauses shorter than S between two turns of one speaker belong to "
                   "the turn (default 1.0; 0 keeps every VAD pause)")
    g.add_argument("--by-channel", action="store_true",
                   help="one speaker per channel (stereo call recordings)")


def diarize_options(args: argparse.Namespace):
    from clinivox.diarize import DiarizeOptions

    opts = DiarizeOptions(num_speakers=args.num_speakers, min_speakers=args.min_speakers,
                          max_speakers=args.max_speakers, fill_pause_s=args.fill_pause_s)
    opts.validate()
    return opts


def add_parser(sub) -> None:
    p = sub.add_parser("diarize", help="who spoke when (RTTM and JSON)",
                       description="Speaker diarization: Silero VAD, resemblyzer speaker "
                       "embeddings (numpy), clustering that finds the number of speakers.")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_speaker_args(p)
    p.add_argument("--output-dir", type=Path, default=None,
                   help="write <stem>.rttm and <stem>.diarization.json (default: print RTTM)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_diarize)


def add_eval_parser(esub) -> None:
    e = esub.add_parser("diarization", help="DER (collar 0 and 0.25 s), speaker count, cpWER",
                        description="DER with pyannote.metrics, overlap counted. The RTTM may "
                        "hold several files: each audio file is matched by its stem (uri).")
    e.add_argument("--rttm", type=Path, required=True, help="reference RTTM")
    e.add_argument("--audio", type=Path, nargs="+", required=True)
    e.add_argument("--uem", type=Path, default=None, help="scored regions (default: whole file)")
    e.add_argument("--stm", type=Path, default=None,
                   help="reference words with speakers: also report cpWER (runs transcription)")
    add_speaker_args(e)
    e.add_argument("--model", default="tiny.en", help="for --stm")
    e.add_argument("--output", type=Path, default=None, help="write the report as JSON")
    e.set_defaults(func=run_eval)


def run_diarize(args: argparse.Namespace) -> int:
    from clinivox.diarize import Diarizer, diarize_file
    from clinivox.io.writers import _atomic_write, check_output_dir

    opts = diarize_options(args)
    if args.output_dir is not None:
        check_output_dir(args.output_dir)
    diarizer = None if args.by_channel else Diarizer()
    failures = 0
    for f in args.files:
        try:
            result = diarize_file(f, opts, by_channel=args.by_channel, diarizer=diarizer)
        except ClinivoxError as exc:
            failures += 1
            code = exc.exit_code
            print(f"clinivox: error: {exc}", file=sys.stderr)
            continue
        stem = Path(f).stem
        rttm = result.to_rttm(stem)
        if args.output_dir is not None:
            _atomic_write(args.output_dir / f"{stem}.rttm", rttm)
            _atomic_write(args.output_dir / f"{stem}.diarization.json",
                          json.dumps({"file": Path(f).name, **result.to_dict()}, indent=2) + "\n")
            if not args.quiet:
                print(f"{Path(f).name}: {len(result.speakers)} speaker(s), "
                      f"{len(result.turns)} turns")
        else:
            sys.stdout.write(rttm)
    if failures:
        print(f"clinivox: {failures} of {len(args.files)} file(s) failed", file=sys.stderr)
        return code
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from clinivox.diarize import Diarizer, diarize_file
    from clinivox.eval.diarization import (
        cp_wer,
        der_report,
        read_rttm,
        read_stm,
        read_uem,
    )

    opts = diarize_options(args)
    refs = read_rttm(args.rttm)
    uems = read_uem(args.uem) if args.uem else {}
    stm = read_stm(args.stm) if args.stm else None
    diarizer = None if args.by_channel else Diarizer()
    hyps = {}
    for audio in args.audio:
        uri = audio.stem
        if uri not in refs:
            raise ClinivoxError(f"{args.rttm.name} has no reference for {audio.name} "
                                f"(uri {uri!r}; it has {', '.join(sorted(refs)[:5])})")
        hyps[uri] = diarize_file(audio, opts, by_channel=args.by_channel, diarizer=diarizer)
    report = der_report(refs, hyps, uems)
    if stm is not None:
        from clinivox.asr.recognizer import Recognizer
        from clinivox.diarize.attribution import attribute_words

        recognizer = Recognizer(args.model)
        report["cpwer"] = {}
        for audio in args.audio:
            uri = audio.stem
            if uri not in stm:
                continue
            segments = list(recognizer.transcribe(audio)[0])
            attributed = attribute_words(segments, hyps[uri])
            hyp_words = [(s.speaker or "?", s.text) for s in attributed]
            report["cpwer"][uri] = cp_wer(stm[uri], hyp_words)
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0
