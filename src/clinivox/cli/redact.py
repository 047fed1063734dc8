"""`clinivox redact TEXT|FILE`: PHI redacted from text or a transcript JSON."""

from __future__ import annotations

import argparse
import json


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
    from clinivox.io.transcript_files import read_text_or_transcript
    from clinivox.privacy import redact
    from clinivox.privacy.transcript import redact_document

    text, doc = read_text_or_transcript(args.source)
    if doc is not None:  # a transcript: texts, words (with their times) and corrections
        r = redact_document(doc, args.policy, args.salt)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        if args.spans:
            print(json.dumps([{"segment": i, **s.to_dict()} for i, s in r.spans]))
        return 0
    out, spans = redact(text, args.policy, args.salt)
    print(out.rstrip("\n"))
    if args.spans:
        print(json.dumps([s.to_dict() for s in spans]))
    return 0
