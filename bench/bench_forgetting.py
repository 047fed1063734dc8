"""Forgetting guard for a fine-tuned model (#25), in one run: WER on real conversational
English that neither training nor the reported sets use (the recordings of
../shared/data/diarization that have a transcript: 3 of its 13, about 120 words, so one
word is almost a point of WER), and WER, term recall and drug recall on the held-out-voice
validation split, for the bundled tiny.en and each model given. Beam 5, int8.

Because 120 words cannot tell two models apart, it also scores every model against
pseudo-references on all 13 recordings (about 530 words): the bundled Whisper base's
transcripts (beam 5), made in the same run. That measures how far a model drifts from
Whisper's own behaviour on real speech, errors of base included; the bundled tiny.en's
distance is the baseline.

    .venv/bin/python bench/bench_forgetting.py --validation RUN/val.jsonl \\
        --model tiny.en-clinical --model runs/clinical_kl/ct2-float16 [--rows 120]

The guard passes when a model is within 0.5 points of the bundled tiny.en on both.
With `--baseline base` (for a model adapted from Whisper base) the distance is the
model's own drift from the model it was made from (the baseline's is 0 by definition),
so the guard is the real transcripts alone and the distance is reported beside it.
Writes bench/results/forgetting.json (forgetting_base.json with `--baseline base`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_adapt import drug_recall, transcriber
from bench_transcribe import DATA, RESULTS


def main() -> None:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.eval.asr import SystemReport, evaluate
    from clinivox.io.manifest import read_manifest
    from clinivox.medical.terms import TermMatcher
    from clinivox.medical.vocabulary import everyday_words, load_lexicon

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--validation", type=Path, required=True)
    p.add_argument("--model", action="append", default=[], help="a model to compare")
    p.add_argument("--rows", type=int, default=120, help="validation rows")
    p.add_argument("--baseline", default="tiny.en", choices=("tiny.en", "base"),
                   help="the bundled model the given ones were adapted from")
    a = p.parse_args()
    # the matcher the medical layer scores with: everyday words ("all", "other") are no
    # terms, as in bench_adapt (a bare lexicon matcher counted them as inserted terms)
    matcher = TermMatcher(load_lexicon(), everyday_words())
    models = [a.baseline, *a.model]
    out: dict = {"date": time.strftime("%Y-%m-%d"), "models": {}}
    meetings = list(read_manifest(DATA / "diarization" / "manifest.jsonl",
                                  require_text=False))
    base = transcriber(Recognizer("base", compute_type="int8"))
    pseudo = [replace(r, text=base(r)[0]) for r in meetings]
    out["pseudo_references"] = {str(r.audio.name): r.text for r in pseudo}
    # each set read once, for every model
    sets = {"meetings": [r for r in meetings if r.text],
            "validation": [r for r in read_manifest(a.validation, require_text=False)
                           if r.text][:a.rows],
            "meetings_vs_base": [r for r in pseudo if r.text]}
    for model in models:
        fn = transcriber(Recognizer(model, compute_type="int8"))
        res = {}
        for name, rows in sets.items():
            rep = SystemReport(model)
            rep.utterances = evaluate(rows, model, fn, term_matcher=matcher).utterances
            res[name] = {**rep.totals(), "reference_words": sum(
                u.reference_length for u in rep.utterances)}
            if name == "validation":
                res[name]["drug_recall"] = drug_recall(rows, rep.utterances, a.validation)
        out["models"][model] = res
        print(model, json.dumps({k: {m: v.get(m) for m in ("wer", "term_recall",
                                                           "drug_recall")}
                                 for k, v in res.items()}), flush=True)
    bundled = out["models"][a.baseline]
    # against base's own transcripts, base's distance is 0: only the real ones can judge
    guarded = ("meetings",) if a.baseline == "base" else ("meetings", "meetings_vs_base")
    out["baseline"], out["guarded_sets"] = a.baseline, list(guarded)
    for res in out["models"].values():
        res["guard_passes"] = all(res[k]["wer"] <= bundled[k]["wer"] + 0.005
                                  for k in guarded)
    name = "forgetting.json" if a.baseline == "tiny.en" else f"forgetting_{a.baseline}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)  # a fresh clone has none: the run was lost
    (RESULTS / name).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
