"""`clinivox extract TEXT|FILE`: clinical entities, codes, assertions and sections."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("extract", help="clinical entities with codes and assertions",
                       description="Entities (problems, drugs with dose/route/frequency, "
                       "procedures, tests, anatomy, allergies, vitals) with ICD-10-CM codes "
                       "or ingredients and present/absent/possible/historical/family/"
                       "hypothetical assertions, from text, a text file, or a transcript "
                       "JSON written by `clinivox transcribe` (then with times and speakers).")
    p.add_argument("source", metavar="TEXT|FILE")
    p.add_argument("--format", choices=("json", "table"), default="json")
    p.set_defaults(func=run)


def _load(source: str):
    from clinivox.errors import InputError

    path = Path(source)
    if len(source) < 4096 and path.suffix in (".json", ".txt") and path.is_file():
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path.name}: {exc}") from None
        if path.suffix == ".txt":
            return raw, raw
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"{path.name}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
            raise InputError(f"{path.name}: expected a transcript JSON with \"segments\"")
        segments = [s for s in doc["segments"] if isinstance(s, dict)]
        return segments, " ".join(str(s.get("text", "")).strip() for s in segments)
    return source, source


def run(args: argparse.Namespace) -> int:
    from clinivox.nlu import extract, find_sections

    source, text = _load(args.source)
    entities = extract(source)
    sections = [s.to_dict() for s in find_sections(text)]
    if args.format == "json":
        print(json.dumps({"entities": [e.to_dict() for e in entities], "sections": sections},
                         indent=2, ensure_ascii=False))
        return 0
    rows = [("label", "text", "normalized", "code", "assertion")] + [
        (e.label, e.text, e.normalized, e.code or "", e.assertion) for e in entities]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
