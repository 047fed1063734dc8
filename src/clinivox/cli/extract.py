"""`clinivox extract TEXT|FILE`: clinical entities, codes, assertions and sections."""

from __future__ import annotations

import argparse
import json


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


def run(args: argparse.Namespace) -> int:
    from clinivox.io.transcript_files import read_text_or_transcript
    from clinivox.nlu import extract, find_sections

    text, doc = read_text_or_transcript(args.source)
    entities = extract(doc["segments"] if doc is not None else text)
    sections = [s.to_dict() for s in find_sections(text)]
    if args.format == "json":
        print(json.dumps({"entities": [e.to_dict() for e in entities], "sections": sections},
                         indent=2, ensure_ascii=False))
        return 0
    # a drug's dose, route and frequency, a problem's site; a transcript's time and speaker
    def details(e) -> str:
        parts = [f"{k}={v}" for k, v in e.attributes.items()]
        if e.start_s is not None:
            parts.append(f"{e.start_s:.2f}-{e.end_s:.2f}s")
        if e.speaker:
            parts.append(e.speaker)
        return "; ".join(parts)

    rows = [("label", "text", "normalized", "code", "assertion", "details")] + [
        (e.label, e.text, e.normalized, e.code or "", e.assertion, details(e))
        for e in entities]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
