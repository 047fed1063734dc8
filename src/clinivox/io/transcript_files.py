"""Reading what a user passes as text: a literal string, a .txt file, or a transcript JSON
written by `clinivox transcribe` (the `extract` and `redact` commands both take these)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clinivox.errors import InputError


def read_text_or_transcript(source: str) -> tuple[str, dict[str, Any] | None]:
    """(text, transcript document or None): a .txt file's text, a transcript JSON's joined
    segment texts and the document, or `source` itself as the text."""
    path = Path(source)
    if not (len(source) < 4096 and path.suffix in (".json", ".txt") and path.is_file()):
        if len(source) < 4096 and path.suffix in (".json", ".txt") and \
                not any(c.isspace() for c in source):
            # a mistyped file name is not text to analyse: "notes.jsn" would give no
            # entities and exit 0, as if the file had none
            raise InputError(f"no such file: {source}") if not path.exists() else \
                InputError(f"not a file: {source}")
        return source, None
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}") from None
    if path.suffix == ".txt":
        return raw, None
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
        raise InputError(f"{path.name}: expected a transcript JSON with \"segments\"")
    doc["segments"] = [s for s in doc["segments"] if isinstance(s, dict)]
    text = " ".join(str(s.get("text", "")).strip() for s in doc["segments"])
    return text, doc
