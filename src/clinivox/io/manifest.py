"""Evaluation manifests: one JSON object per line with `audio`, `text`, `language`, `terms`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clinivox.errors import ManifestError


@dataclass(frozen=True)
class ManifestRow:
    line: int
    audio: Path  # resolved against the manifest's folder
    text: str | None
    language: str | None
    terms: tuple[str, ...]
    duration_s: float | None


def read_manifest(path: str | Path, *, require_text: bool = True) -> list[ManifestRow]:
    """Parse a manifest; malformed lines raise ManifestError naming the line number."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    rows: list[ManifestRow] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{path.name}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("audio"), str):
                raise ManifestError(f"{path.name}:{n}: each row needs an \"audio\" path string")
            text = obj.get("text")
            if require_text and not isinstance(text, str):
                raise ManifestError(f"{path.name}:{n}: row has no \"text\" reference")
            terms = obj.get("terms") or []
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise ManifestError(f"{path.name}:{n}: \"terms\" must be a list of strings")
            audio = Path(obj["audio"])
            if not audio.is_absolute():
                audio = path.parent / audio
            rows.append(ManifestRow(n, audio, text, obj.get("language"), tuple(terms),
                                    obj.get("duration")))
    if not rows:
        raise ManifestError(f"{path.name}: manifest has no rows")
    return rows
