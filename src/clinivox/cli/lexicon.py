"""`clinivox lexicon build`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def default_path() -> Path:
    from clinivox.asr.models import cache_dir

    return cache_dir() / "lexicon" / "medical.jsonl.gz"


def add_parsers(sub) -> None:
    p = sub.add_parser("lexicon", help="the medical lexicon")
    lsub = p.add_subparsers(dest="lexicon_command", required=True, metavar="ACTION")
    b = lsub.add_parser("build", help="build the lexicon from the bundled PyPI data")
    b.add_argument("--out", type=Path, default=None, help="default: the clinivox cache")
    b.add_argument("--vocab", type=Path, action="append", default=[],
                   help="user terms (txt or csv), may be repeated")
    b.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from clinivox.medical.lexicon import build_lexicon, load_user_vocabulary

    lex = build_lexicon()
    for vocab in args.vocab:
        lex.extend(load_user_vocabulary(vocab))
    out = args.out or default_path()
    lex.save(out)
    print(json.dumps({"entries": len(lex), "by_category": lex.by_category(),
                      "path": str(out)}, indent=2))
    return 0
