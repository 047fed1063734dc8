"""`clinivox redact TEXT|FILE`: PHI redacted from text or a transcript JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("redact", help="redact PHI from text or a transcript JSON",
                       description="Names, dates, ages over 89, phone/NHS/MRN/SSN/insurance "
                       "numbers (digits or spoken), e-mail, addresses, postcodes, URLs, IPs "
                       "and facilities, replaced by tags, consistent surrogates or salted "
                       "hashes. Drug and diagnosis names are never redacted.")
    p.add_argument("source", metavar="TEXT|FILE", help="text, a .txt file, or a .json "
                   "transcript from `clinivox transcribe`")
    p.add_argument("--policy", choices=("tag", "surrogate", "hash"), default="tag")
    p.add_argument("--salt", default="", help="salt of the surrogates and hashes (keep it "
                   "secret: the same salt gives the same stand-in for the same value)")
    p.add_argument("--spans", action="store_true",
                   help="also print the spans found (category and offsets, not the text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from clinivox.errors import InputError
    from clinivox.privacy import redact

    path = Path(args.source)
    if len(args.source) < 4096 and path.suffix in (".txt", ".json") and path.is_file():
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path.name}: {exc}") from None
        if path.suffix == ".json":
            return _redact_json(path, raw, args)
        text = raw
    else:
        text = args.source
    out, spans = redact(text, args.policy, args.salt)
    print(out.rstrip("\n"))
    if args.spans:
        print(json.dumps([s.to_dict() for s in spans]))
    return 0


def _redact_json(path: Path, raw: str, args: argparse.Namespace) -> int:
    from clinivox.errors import InputError
    from clinivox.privacy import redact

    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
        raise InputError(f"{path.name}: expected a transcript JSON with \"segments\"")
    for seg in doc["segments"]:
        if isinstance(seg, dict) and isinstance(seg.get("text"), str):
            seg["text"], found = redact(seg["text"], args.policy, args.salt)
            if found:
                seg.pop("words", None)  # the words' texts held the PHI
    doc["text"] = " ".join(str(s.get("text", "")).strip() for s in doc["segments"]
                           if isinstance(s, dict)).strip()
    doc["redaction"] = {"policy": args.policy}
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0
