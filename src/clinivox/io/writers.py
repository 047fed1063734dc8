"""Write transcripts as txt, json, srt and vtt. Writes are atomic (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from clinivox.asr.types import Segment
from clinivox.errors import OutputError
from clinivox.io.subtitles import SubtitleOptions, cues, label_of

FORMATS = ("txt", "json", "srt", "vtt")


def transcript_dict(segments: Sequence[Segment], *, language: str | None,
                    duration_s: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document: {"text", "language", "duration_s", "segments": [...]}."""
    doc: dict[str, Any] = {
        "text": " ".join(s.text for s in segments if s.text).strip(),
        "language": language,
        "duration_s": round(duration_s, 3),
        "segments": [s.to_dict() for s in segments],
    }
    if extra:
        doc.update(extra)
    return doc


def _timestamp(t_s: float, sep: str) -> str:
    ms = max(0, round(t_s * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: Sequence[Segment], options: SubtitleOptions | None = None) -> str:
    blocks = []
    for i, c in enumerate(cues(segments, options), start=1):
        lines = list(c.lines)
        if c.label:
            lines[0] = f"{c.label}: {lines[0]}"
        text = "\n".join(lines)
        blocks.append(f"{i}\n{_timestamp(c.start_s, ',')} --> {_timestamp(c.end_s, ',')}\n"
                      f"{text}\n")
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Segment], options: SubtitleOptions | None = None) -> str:
    blocks = ["WEBVTT\n"]
    for c in cues(segments, options):
        text = "\n".join(c.lines)
        if c.label:
            text = f"<v {c.label}>{text}"
        blocks.append(f"{_timestamp(c.start_s, '.')} --> {_timestamp(c.end_s, '.')}\n{text}\n")
    return "\n".join(blocks)


def _line(s: Segment) -> str:
    label = label_of(s)
    return f"{label}: {s.text}" if label else s.text


def to_txt(segments: Sequence[Segment]) -> str:
    return "\n".join(_line(s) for s in segments if s.text) + ("\n" if segments else "")


def check_output_dir(out_dir: Path) -> None:
    """Create `out_dir` if needed and prove it is writable, before any decoding starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".clinivox-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"output directory {out_dir} is not writable ({exc.strerror})") from None


def write_atomically(path: Path, fill: Callable[[int, str], None], suffix: str = "") -> None:
    """Write `path` whole or not at all, readable by its owner only: `fill(fd, tmp)` writes
    a temporary file (mkstemp makes it 0600) beside it, which then replaces `path`. The
    temporary file is removed on failure; a failure is an OutputError."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        fill(fd, tmp)
        os.replace(tmp, path)
        tmp = None
    except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
        raise OutputError(f"cannot write {path} "
                          f"({getattr(exc, 'strerror', None) or exc})") from None
    finally:  # any failure, typed or not (an input error inside `fill`), leaves no file
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_gzip_text(path: Path, write: Callable[[TextIO], None], *,
                    compresslevel: int = 9) -> None:
    """A gzipped UTF-8 text file (a cache: the lexicon, ICD-10-CM, the NLU's forms, sound
    keys) written by `write(f)` through `write_atomically`, its folder made first: whole
    or not at all, owner-only; an OutputError when it cannot be written."""
    import gzip

    def fill(fd: int, _tmp: str) -> None:
        with os.fdopen(fd, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8",
                                                   compresslevel=compresslevel) as f:
            write(f)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror})") from None
    write_atomically(path, fill)


def _atomic_write(path: Path, text: str) -> None:
    def fill(fd: int, tmp: str) -> None:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    write_atomically(path, fill)


def write_outputs(out_dir: Path, stem: str, formats: Sequence[str], segments: Sequence[Segment],
                  doc: dict[str, Any], subtitles: SubtitleOptions | None = None) -> list[Path]:
    """Write `stem.<fmt>` for each format; returns the paths written."""
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        _atomic_write(path, render(fmt, segments, doc, subtitles))
        written.append(path)
    return written


def render(fmt: str, segments: Sequence[Segment], doc: dict[str, Any],
           subtitles: SubtitleOptions | None = None) -> str:
    """One output format as text: the file's content, or what the CLI prints."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "txt":
        return to_txt(segments)
    if fmt == "srt":
        return to_srt(segments, subtitles)
    if fmt == "vtt":
        return to_vtt(segments, subtitles)
    raise ValueError(f"unknown output format {fmt!r}")
