"""Live `--medical` figures of one model and profile on a manifest's first rows: WER, term
and drug recall, inserted lexicon terms per 1,000 words, and the cost the decision rules of
docs/models.md use (word errors + 3 x inserted terms). For checks such as a refit verifier
against the shipped one; run without a domain LM by pointing CLINIVOX_HOME at a cache that
has a lexicon and no LM.

    .venv/bin/python bench/live_medical.py --model tiny.en-clinical \\
        --manifest runs/corpus/val300.jsonl --limit 100 [--profile tuned.json] --out r.json

Writes the totals and every hypothesis to `--out` (keep it out of the repository when the
manifest is a dev set).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_adapt import drug_recall, transcriber


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny.en-clinical")
    p.add_argument("--profile", default=None, help="bias profile (default: the model's)")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--insertion-cost", type=float, default=3.0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    from clinivox.asr.recognizer import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.eval.asr import SystemReport, evaluate, manifest_rows

    rec = Recognizer(args.model)
    bias = load_biaser(rec.engine, profile=args.profile)
    rows = manifest_rows(args.manifest)[:args.limit]
    rep = SystemReport(args.model)
    rep.utterances += evaluate(rows, args.model, transcriber(rec, bias),
                               term_matcher=bias.matcher).utterances
    out = rep.totals()
    out["drug_recall"] = drug_recall(rows, rep.utterances, args.manifest)
    ok = [u for u in rep.utterances if u.error is None]
    out["word_errors"] = sum(u.errors for u in ok)
    out["reference_words"] = sum(u.reference_length for u in ok)
    out["cost"] = out["word_errors"] + args.insertion_cost * out["inserted_terms"]
    print(json.dumps(out))
    out["hypotheses"] = [u.hypothesis for u in rep.utterances]
    args.out.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
