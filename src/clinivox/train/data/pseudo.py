"""`clinivox data pseudo-label AUDIO_DIR`: transcribe unlabelled recordings and keep the
segments the model is sure of, as a training manifest (semi-supervised pseudo-labelling).

A segment's confidence is the geometric mean of its token probabilities, exp(avg_logprob),
the quantity Whisper's own fallback thresholds; segments at or above `threshold` (0.9 by
default, as in the seed) whose compression ratio shows no looping are cut out of the
recording and written with their transcript.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinivox.errors import InputError, OutputError
from clinivox.units import SAMPLE_RATE_HZ

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm")


@dataclass(frozen=True)
class PseudoLabelOptions:
    threshold: float = 0.9  # minimum exp(avg_logprob) of a kept segment
    max_compression_ratio: float = 2.4
    min_duration_s: float = 1.0
    max_duration_s: float = 30.0
    min_words: int = 2

    def validate(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise InputError("threshold must be within (0, 1]")


def confidence(avg_logprob: float) -> float:
    return math.exp(min(avg_logprob, 0.0))


def keep(segment: Any, o: PseudoLabelOptions) -> bool:
    """Whether a transcribed segment becomes a training example."""
    dur = segment.end_s - segment.start_s
    return (confidence(segment.avg_logprob) >= o.threshold
            and segment.compression_ratio <= o.max_compression_ratio
            and o.min_duration_s <= dur <= o.max_duration_s
            and len(segment.text.split()) >= o.min_words)


def audio_files(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"not a directory: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTS)
    if not files:
        raise InputError(f"no audio files under {root}")
    return files


def pseudo_label(files: Iterable[Path], out_dir: Path, recognizer: Any,
                 options: PseudoLabelOptions | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Transcribe `files`, write kept segments to `out_dir/audio/` and `out_dir/train.jsonl`."""
    import soundfile as sf

    from clinivox.audio.decode import load_audio
    from clinivox.io.writers import write_atomically

    o = options or PseudoLabelOptions()
    o.validate()
    files = list(files)
    try:
        # owner-only: unlabelled recordings are often a hospital's own, and the manifest
        # holds their transcripts (both were written world-readable)
        (out_dir / "audio").mkdir(parents=True, exist_ok=True, mode=0o700)
        (out_dir / "audio").chmod(0o700)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    stats = {"files": 0, "segments": 0, "kept": 0}

    def clip(audio: Any) -> Callable[[int, str], None]:
        def fill(fd: int, tmp: str) -> None:
            os.close(fd)  # soundfile writes into the 0600 file by its name
            sf.write(tmp, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="FLAC")
        return fill

    def rows(fd: int, tmp: str) -> None:
        # the manifest is written whole or not at all (owner-only, through one writer
        # with the transcripts): a run that fails half-way keeps the previous manifest,
        # which a truncating open lost
        with os.fdopen(fd, "w", encoding="utf-8") as manifest:
            for n, path in enumerate(files, 1):
                audio = load_audio(path)
                segments, _ = recognizer.transcribe(audio)
                for k, seg in enumerate(segments):
                    stats["segments"] += 1
                    if not keep(seg, o):
                        continue
                    a, b = int(seg.start_s * SAMPLE_RATE_HZ), int(seg.end_s * SAMPLE_RATE_HZ)
                    name = f"{path.stem}_{k:04d}.flac"
                    write_atomically(out_dir / "audio" / name, clip(audio[a:b]),
                                     suffix=".flac")
                    manifest.write(json.dumps({
                        "audio": f"audio/{name}", "text": seg.text.strip(), "language": "en",
                        "terms": [], "duration": round(seg.end_s - seg.start_s, 3),
                        "source": f"pseudo-label:{path.name}",
                        "confidence": round(confidence(seg.avg_logprob), 4),
                        "model": getattr(recognizer, "model_name", "")}) + "\n")
                    stats["kept"] += 1
                stats["files"] += 1
                if progress is not None:
                    progress(n, len(files))

    write_atomically(out_dir / "train.jsonl", rows)
    return stats
