"""Transcripts and corrections of `--medical` on the dev sets, for before/after refactor checks.

    python bench/snapshot_medical.py OUT.jsonl [--profiles default fast primed plain] [--limit N]
    python bench/snapshot_medical.py --compare BEFORE.jsonl AFTER.jsonl

A refactor that must not change behaviour (issue #24's biasing split) is checked live: the
snapshot before and after must hold the same text and the same corrections for every row
of drug_dictation, medical_dictation and en_read_speech, per profile. The rows are dev-set
transcripts: write them outside the repository (they are not committed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_transcribe import DATA

SETS = ("drug_dictation", "medical_dictation", "en_read_speech")


def _sets(names: list[str] | None) -> tuple[str, ...]:
    return tuple(names) if names else SETS


def snapshot(out: Path, profiles: list[str], limit: int | None,
             sets: tuple[str, ...] = SETS) -> None:
    from clinivox import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.eval.asr import manifest_rows

    rec = Recognizer("tiny.en", device="cpu", compute_type="int8")
    # "plain": no biaser (the pipeline alone)
    biasers = {p: None if p == "plain" else
               load_biaser(rec.engine, profile=None if p == "default" else p)
               for p in profiles}
    t0 = time.perf_counter()
    with out.open("w") as f:
        for name in sets:
            for row in manifest_rows(DATA / name / "manifest.jsonl")[:limit]:
                for profile, biaser in biasers.items():
                    segments, _ = rec.transcribe(row.audio, biaser=biaser)
                    segments = list(segments)
                    f.write(json.dumps({
                        "set": name, "audio": str(row.audio), "profile": profile,
                        "text": " ".join(s.text for s in segments),
                        "segments": [[round(s.start_s, 3), round(s.end_s, 3)]
                                     for s in segments],
                        "corrections": [c.to_dict() for s in segments
                                        for c in s.corrections]}) + "\n")
            print(f"{name} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def compare(before: Path, after: Path) -> int:
    def load(p: Path) -> dict:
        rows = [json.loads(line) for line in p.open()]
        return {(r["set"], r["audio"], r["profile"]): r for r in rows}

    a, b = load(before), load(after)
    if a.keys() != b.keys():
        print(f"different rows: {len(a.keys() ^ b.keys())}")
        return 1
    diffs = [k for k in a if a[k] != b[k]]
    for k in diffs:
        print(f"{k}:\n  before {a[k]['text']}\n  after  {b[k]['text']}")
        if a[k]["corrections"] != b[k]["corrections"]:
            print(f"  corrections {a[k]['corrections']} -> {b[k]['corrections']}")
    print(f"{len(a)} rows, {len(diffs)} differ")
    return 1 if diffs else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out", type=Path, nargs="?")
    p.add_argument("--profiles", nargs="+", default=["default"])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--sets", nargs="+", default=None, help=f"default: {' '.join(SETS)}")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = p.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if args.out is None:
        p.error("give OUT.jsonl, or --compare BEFORE AFTER")
    snapshot(args.out, args.profiles, args.limit, _sets(args.sets))


if __name__ == "__main__":
    main()
