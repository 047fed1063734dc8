"""`clinivox transcribe FILES...`"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import sys
import time
from pathlib import Path

from clinivox.errors import ClinivoxError, InputError

log = logging.getLogger("clinivox.cli")

FORMAT_CHOICES = ("txt", "json", "srt", "vtt", "all")


def add_parser(sub) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files",
                       description="Transcribe audio files (WAV, FLAC, MP3, OGG, M4A, ...).")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_model_args(p)
    p.add_argument("--language", default=None, help="language code (default: detect)")
    p.add_argument("--task", choices=("transcribe", "translate"), default="transcribe")
    p.add_argument("--batch-size", type=int, default=8, help="speech chunks decoded together")
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--output-dir", type=Path, default=None,
                   help="write <stem>.<format> files here (default: print to stdout)")
    p.add_argument("--output-format", choices=FORMAT_CHOICES, default=None,
                   help="with --output-dir: the files to write (default all); without it: "
                        "the format printed (default txt)")
    p.add_argument("--max-line-width", type=int, default=42,
                   help="srt/vtt: characters per subtitle line (default 42)")
    p.add_argument("--max-line-count", type=int, default=2,
                   help="srt/vtt: lines per cue (default 2); cues split on word times")
    p.add_argument("--split-channels", action="store_true",
                   help="transcribe each channel separately (one speaker per channel)")
    p.add_argument("--no-vad", action="store_true", help="decode all audio, without VAD gating")
    p.add_argument("--vad-threshold", type=float, default=0.5)
    p.add_argument("--no-word-timestamps", action="store_true")
    p.add_argument("--initial-prompt", default=None)
    add_medical_args(p)
    from clinivox.cli.diarize import add_speaker_args

    p.add_argument("--diarize", action="store_true",
                   help="label speakers: word-level attribution, segments split at speaker "
                   "changes, roles (clinician/patient/other) inferred")
    add_speaker_args(p)
    g = p.add_argument_group("privacy")
    g.add_argument("--redact-phi", action="store_true",
                   help="redact PHI (names, dates, ages over 89, phone, NHS/MRN/SSN numbers, "
                   "addresses, e-mail, ...) in every output; drug and diagnosis names stay")
    g.add_argument("--redaction-policy", choices=("tag", "surrogate", "hash"), default="tag",
                   help="[NAME] tags (default), consistent surrogates, or salted hashes")
    g.add_argument("--redact-audio", action="store_true",
                   help="also write <stem>.redacted.wav with the PHI words silenced "
                   "(needs --output-dir; implies --redact-phi)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def add_medical_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("medical vocabulary")
    g.add_argument("--medical", action="store_true",
                   help="bias decoding towards the full medical lexicon (drugs, ICD-10-CM "
                   "diagnoses, clinical terms), rescore with the domain LM, correct terms; "
                   "JSON output lists recognised terms with category and code; a bundled "
                   "model (tiny.en, base) is replaced by its clinical build "
                   "(tiny.en-clinical, base-clinical) unless --bundled-model")
    g.add_argument("--bundled-model", action="store_true",
                   help="with --medical, keep the bundled model instead of its clinical "
                   "build (it reads general English a little better, finds fewer terms "
                   "and writes more wrong ones; docs/models.md)")
    g.add_argument("--no-general-fallback", action="store_true",
                   help="with --medical and a clinical model: keep its text everywhere. By "
                   "default a chunk it wrote as plain English (no clinical term, no "
                   "correction, no unfamiliar word) is decoded again by the bundled model it "
                   "was made from, which reads general English better (docs/models.md)")
    g.add_argument("--vocab", type=Path, action="append", default=[], metavar="FILE",
                   help="user terms (txt or csv), may be repeated; without --medical only "
                   "these terms are boosted")
    g.add_argument("--lexicon", type=Path, default=None,
                   help="lexicon file from `clinivox lexicon build` (default: the cache)")
    g.add_argument("--lm", type=Path, default=None,
                   help="ARPA language model (default: the cache, from `clinivox lm build`)")
    g.add_argument("--bias-profile", type=Path, default=None,
                   help="rescoring weights from `clinivox tune` (default: cache, then "
                   "built-in), or `fast`: no acoustic screen of the closest drug names and no "
                   "re-decode under the domain prompt where Whisper was unsure (fewer names "
                   "recovered, ~0.8x the decoding time), or "
                   "`primed`: decode with the LM's domain prompt (its corpus's most named "
                   "terms) and rescore the beam without it; more symptoms and common drugs "
                   "in conversational audio, fewer rare drug names")
    g.add_argument("--min-score", type=float, default=None, metavar="GAIN",
                   help="apply a term correction only when its rescoring gain exceeds GAIN "
                   "(default: the profile's, 0): higher values make fewer machine "
                   "substitutions (each is listed under `corrections` and marked for review)")
    g.add_argument("--verifier-threshold", type=float, default=None, metavar="P",
                   help="with a profile that has a learned rewrite verifier (the clinical "
                   "models' does): apply a correction only when the verifier gives it at "
                   "least this probability of being right (default: the verifier's own; "
                   "0: off, more terms recovered and more wrong ones written)")


def medical_biaser(args: argparse.Namespace, engine):
    """The biaser the medical flags ask for, or None."""
    if not (args.medical or args.vocab):
        return None
    from clinivox.biasing import load_biaser
    from clinivox.medical.vocabulary import caches_ready

    if args.medical and not caches_ready():
        print("clinivox: first --medical run: building the medical lexicon and its sound "
              "index into the cache (about a minute, once)", file=sys.stderr, flush=True)
    else:
        log.info("loading the medical vocabulary")
    biaser = load_biaser(engine, lexicon=args.lexicon, vocab_files=args.vocab, lm=args.lm,
                         profile=args.bias_profile, user_only=not args.medical)
    min_score = getattr(args, "min_score", None)
    if min_score is not None:
        if min_score < 0:
            raise InputError("--min-score must be >= 0")
        biaser = biaser.with_profile(dataclasses.replace(biaser.profile, min_score=min_score))
    threshold = getattr(args, "verifier_threshold", None)
    if threshold is not None:
        if not 0 <= threshold <= 1:
            raise InputError("--verifier-threshold must be between 0 and 1")
        biaser = biaser.with_profile(dataclasses.replace(biaser.profile,
                                                         verifier_threshold=threshold))
    if getattr(args, "no_general_fallback", False) and biaser.profile.general_fallback:
        biaser = biaser.with_profile(dataclasses.replace(biaser.profile,
                                                         general_fallback=False))
    return biaser


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="tiny.en",
                   help="tiny.en (default), base, tiny.en-clinical (fine-tuned on clinical "
                        "speech; what --medical uses with tiny.en), or a CTranslate2 Whisper "
                        "model directory (used exactly as given)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compute-type", default="auto",
                   help="auto (float16 on CUDA, int8 on CPU), int8, float16, float32, ...")
    p.add_argument("--cpu-threads", type=int, default=0, help="0: all cores")


def redact_transcript(transcript, source, args: argparse.Namespace) -> None:
    """PHI redacted in the transcript's segments, the redacted audio
    written beside the outputs with --redact-audio. Counts by category go to the log."""
    from clinivox.privacy.transcript import write_redacted_audio

    r = transcript.redact(args.redaction_policy)  # terms list medical words only: kept
    log.info("redacted %d PHI spans", len(r.spans))
    if args.redact_audio:
        write_redacted_audio(source, r.times,
                             args.output_dir / f"{Path(source).stem}.redacted.wav")


def _advance(progress, task, base_s: float, seg) -> None:
    """Progress to the end of a decoded segment (`base_s`: audio of earlier files)."""
    progress.update(task, completed=base_s + seg.end_s)


def options_from_args(args: argparse.Namespace):
    from clinivox.asr.types import TranscribeOptions, VadOptions

    opts = TranscribeOptions(
        language=args.language, task=args.task, beam_size=args.beam_size,
        batch_size=args.batch_size, vad=not args.no_vad,
        vad_options=VadOptions(threshold=args.vad_threshold),
        word_timestamps=not args.no_word_timestamps, initial_prompt=args.initial_prompt,
    )
    opts.validate()
    return opts


def run(args: argparse.Namespace) -> int:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.audio.decode import probe
    from clinivox.cli.diarize import diarize_options
    from clinivox.cli.progress import audio_progress
    from clinivox.io.writers import FORMATS, check_output_dir, render, write_outputs
    from clinivox.pipeline import transcribe_file

    opts = options_from_args(args)
    fmt = args.output_format or ("all" if args.output_dir is not None else "txt")
    if fmt == "all" and args.output_dir is None:
        raise InputError("--output-format all writes one file per format: give --output-dir, "
                         "or choose one format to print")
    if args.by_channel and not args.diarize:
        # a speaker per channel is diarization: without it the channels were down-mixed
        log.info("--by-channel implies --diarize (one speaker per channel)")
        args.diarize = True
    formats = FORMATS if fmt == "all" else (fmt,)
    if args.redact_audio:
        if args.output_dir is None:
            raise InputError("--redact-audio writes <stem>.redacted.wav: give --output-dir")
        args.redact_phi = True
    from clinivox.io.subtitles import SubtitleOptions

    subtitles = SubtitleOptions(max_line_width=args.max_line_width,
                                max_line_count=args.max_line_count)
    subtitles.validate()
    if args.output_dir is not None:
        check_output_dir(args.output_dir)
    from clinivox.asr.models import model_for_medical

    recognizer = Recognizer(model_for_medical(args.model, args.medical, args.bundled_model),
                            device=args.device,
                            compute_type=args.compute_type,
                            cpu_threads=args.cpu_threads)
    biaser = medical_biaser(args, recognizer.engine)
    diarizer = None
    if args.diarize and not args.by_channel:
        from clinivox.diarize import Diarizer

        diarizer = Diarizer()
    failures: list[ClinivoxError] = []
    durations = {}
    for f in args.files:
        try:
            durations[f] = probe(f).duration_s or 0.0
        except ClinivoxError:
            durations[f] = 0.0
    with audio_progress(disable=args.quiet or not sys.stderr.isatty()) as progress:
        total = progress.add_task("transcribing", total=sum(durations.values()) or None)
        done_s = 0.0
        for f in args.files:
            name = Path(f).name
            progress.update(total, description=name)
            log.info("transcribing %s (%.1f s of audio)", name, durations.get(f, 0.0))
            t0 = time.perf_counter()
            try:
                transcript = transcribe_file(
                    recognizer, f, opts, biaser=biaser, diarize=args.diarize,
                    diarizer=diarizer, diarize_options=diarize_options(args) if args.diarize
                    else None, by_channel=args.by_channel, split_channels=args.split_channels,
                    on_segment=functools.partial(_advance, progress, total, done_s))
                warning = transcript.warnings.get("language_warning")
                if warning is not None:
                    print(f"clinivox: warning: {name}: --language {warning['requested']} was "
                          f"asked, but the speech sounds like {warning['detected']!r} "
                          f"({warning['share_of_chunks']:.0%} of chunks); the transcript may "
                          "be a translation or nonsense", file=sys.stderr)
                if args.redact_phi:
                    redact_transcript(transcript, f, args)
                segments, doc = transcript.segments, transcript.to_dict()
                if args.output_dir is not None:
                    write_outputs(args.output_dir, Path(f).stem, formats, segments, doc,
                                  subtitles)
                else:
                    progress.console.print(f"[bold]{name}[/bold]") if len(args.files) > 1 \
                        else None
                    text = doc["text"] if fmt == "txt" and not args.diarize else \
                        render(fmt, segments, doc, subtitles)
                    print(text, flush=True)
                log.info("done %s: %d segments in %.1f s", name, len(segments),
                         time.perf_counter() - t0)
            except ClinivoxError as exc:
                failures.append(exc)
                print(f"clinivox: error: {exc}", file=sys.stderr)
            done_s += durations.get(f, 0.0)
            progress.update(total, completed=done_s)
    if failures:
        print(f"clinivox: {len(failures)} of {len(args.files)} file(s) failed", file=sys.stderr)
        return failures[0].exit_code
    return 0
