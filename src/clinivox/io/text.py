"""Reading text files users hand to clinivox (vocabularies, references) with typed errors."""

from __future__ import annotations

from pathlib import Path

from clinivox.errors import ClinivoxError


def read_user_text(path: Path, error: type[ClinivoxError], kind: str) -> str:
    """The UTF-8 text of `path`; a missing or non-UTF-8 file raises `error` naming it."""
    if not path.is_file():
        raise error(f"{kind} file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{path.name}: not UTF-8 text") from None
