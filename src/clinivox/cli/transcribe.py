"""`clinivox transcribe FILES...`"""

from __future__ import annotations

import argparse
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def add_medical_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("medical vocabulary")
    g.add_argument("--medical", action="store_true",
                   help="bias decoding towards the full medical lexicon (drugs, ICD-10-CM "
                   "diagnoses, clinical terms), rescore with the domain LM, correct terms; "
                   "JSON output lists recognised terms with category and code")
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


def medical_biaser(args: argparse.Namespace, engine):
    """The biaser the medical flags ask for, or None."""
    if not (args.medical or args.vocab):
        return None
    from clinivox.medical.vocabulary import caches_ready, load_biaser

    if args.medical and not caches_ready():
        print("clinivox: first --medical run: building the medical lexicon and its sound "
              "index into the cache (about a minute, once)", file=sys.stderr, flush=True)
    else:
        log.info("loading the medical vocabulary")
    return load_biaser(engine, lexicon=args.lexicon, vocab_files=args.vocab, lm=args.lm,
                       profile=args.bias_profile, user_only=not args.medical)


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="tiny.en",
                   help="tiny.en (default), base, or a CTranslate2 Whisper model directory")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compute-type", default="auto",
                   help="auto (float16 on CUDA, int8 on CPU), int8, float16, float32, ...")
    p.add_argument("--cpu-threads", type=int, default=0, help="0: all cores")


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
    from clinivox.cli.progress import audio_progress
    from clinivox.io.writers import (
        FORMATS,
        check_output_dir,
        render,
        transcript_dict,
        write_outputs,
    )

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
    from clinivox.io.subtitles import SubtitleOptions

    subtitles = SubtitleOptions(max_line_width=args.max_line_width,
                                max_line_count=args.max_line_count)
    subtitles.validate()
    if args.output_dir is not None:
        check_output_dir(args.output_dir)
    recognizer = Recognizer(args.model, device=args.device, compute_type=args.compute_type,
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
                # diarization runs beside transcription (a thread: numpy and CTranslate2
                # release the GIL), its result is joined at the end
                pending = diarize_async(f, args, diarizer) if args.diarize else None
                if args.split_channels or (args.diarize and args.by_channel):
                    segments, info = recognizer.transcribe_channels(f, opts, biaser=biaser)
                else:
                    seg_iter, info = recognizer.transcribe(f, opts, biaser=biaser)
                    segments = []
                    for seg in seg_iter:
                        segments.append(seg)
                        progress.update(total, completed=done_s + seg.end_s)
                extra = {}
                if args.diarize:
                    segments, extra = diarize_segments(f, segments, args, diarizer, biaser,
                                                       result=pending.result())
                if biaser is not None:
                    extra["terms"] = [
                        {**t, "segment": seg.id, "start_s": round(seg.start_s, 3)}
                        for seg in segments for t in biaser.terms(seg.text)]
                if info.language_mismatch is not None:
                    heard, share = info.language_mismatch
                    extra["language_warning"] = {"requested": info.options.language,
                                                 "detected": heard,
                                                 "share_of_chunks": round(share, 3)}
                    print(f"clinivox: warning: {name}: --language {info.options.language} was "
                          f"asked, but the speech sounds like {heard!r} ({share:.0%} of "
                          "chunks); the transcript may be a translation or nonsense",
                          file=sys.stderr)
                doc = transcript_dict(segments, language=info.language,
                                      duration_s=info.duration_s, extra=extra or None)
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


def diarize_async(path, args, diarizer):
    """Start diarizing `path` in a worker thread; returns a Future of the Diarization."""
    from concurrent.futures import ThreadPoolExecutor

    from clinivox.cli.diarize import diarize_options
    from clinivox.diarize import diarize_file

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clinivox-diarize")
    future = pool.submit(diarize_file, path, diarize_options(args), by_channel=args.by_channel,
                         diarizer=diarizer)
    pool.shutdown(wait=False)
    return future


def diarize_segments(path, segments, args, diarizer, biaser=None, result=None):
    """Speaker-attributed segments and the JSON additions (speakers with roles, turns)."""
    import dataclasses

    from clinivox.cli.diarize import diarize_options
    from clinivox.diarize import diarize_file
    from clinivox.diarize.attribution import attribute_words, infer_roles

    if result is None:
        result = diarize_file(path, diarize_options(args), by_channel=args.by_channel,
                              diarizer=diarizer)
    if args.by_channel:  # each channel was transcribed on its own: its speaker is known
        attributed = [dataclasses.replace(s, speaker=f"CHANNEL_{s.channel}") for s in segments]
    else:
        attributed = attribute_words(segments, result)
    counter = (lambda text: len(biaser.terms(text))) if biaser is not None else None
    roles = infer_roles(attributed, counter)
    extra = {"speakers": [{"speaker": s, "role": roles.get(s, "other")}
                          for s in result.speakers],
             "diarization": result.to_dict()}
    return attributed, extra
