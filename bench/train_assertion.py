"""Train the learned assertion model (clinivox.nlu.assertion_model) on the validation half
of the PriMock57 gold set, and choose how much it trusts the rules.

    CLINIVOX_BENCH_DATA=../shared/data python bench/train_assertion.py

1. Cross-validation by batch: the validation batches that were scored once by rules that had
   not seen them (4-6 and 10-21) are put in five folds; the model is trained on the other
   validation sentences (batches 1-3 always train) and predicts the fold.
2. The rules' decisions on those sentences come from the code as it was before each batch
   was read (the parent of the commit that added its annotations, extracted with
   `git archive`): the current rules were written from these very errors, so their accuracy
   here is not what they do on unseen text; the first-run rules' is.
3. The combination with the rules and its weight are chosen on those out-of-fold
   predictions against the first-run rules' decisions: "weighted" (`p(class) + w [class ==
   rule]` for every mention) or "rules_first" (a class the rules give other than present
   stands; the rest is weighted).
4. The model is trained on every validation mention and written to
   src/clinivox/nlu/models/assertion.npz; the figures go to docs/bench/assertion_model.json.

`--synthetic N` adds N sentences of synthetic examples (clinivox.train.data.assertions:
templates from ConText's categories, the class known by construction) to every training
set, the folds' and the final one's.

The test half is not read here (bench_nlu reports it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "bench" / "data" / "nlu_gold_primock.jsonl"
OUT = REPO / "src" / "clinivox" / "nlu" / "models" / "assertion.npz"
REPORT = REPO / "docs" / "bench" / "assertion_model.json"
# the commit that added each validation batch's annotations; its parent's rules had not
# seen the batch (batches 1-3 were the first the rules were written on)
FIRST_RUN = {4: "ac303a5", 5: "255da03", 6: "86af460", 10: "2e4ea93", 11: "c9ad8c5",
             12: "0389640", 13: "fb06575", 14: "0687145", 15: "5ce9661", 16: "40b408d",
             17: "5333ddf", 18: "eb9ff22", 19: "317beec", 20: "c669e12", 21: "344ff59"}
FOLDS = [{4, 13, 18}, {5, 14, 19}, {6, 15, 20}, {10, 16, 21}, {11, 12, 17}]
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
ASSERTED = ("problem", "drug", "allergy")


def gold_sentences(split: str = "validation") -> list[tuple[dict, str]]:
    """Each gold record of the `split` half with its sentence's text."""
    sys.path.insert(0, str(REPO / "bench"))
    from nlu_gold_source import sentence

    rows = [json.loads(line) for line in GOLD.read_text().splitlines()]
    return [(r, sentence(r["id"])) for r in rows if r["split"] == split]


def gold(split: str = "validation") -> list[dict]:
    """Each asserted gold mention: id, batch, text, start, end, label, assertion (the
    gold text's first occurrence, as the scorer finds it)."""
    out = []
    for r, text in gold_sentences(split):
        for g in r["entities"]:
            if g["label"] not in ASSERTED or not g.get("assertion"):
                continue
            s = text.lower().find(g["text"].lower())
            if s >= 0:
                out.append({"id": r["id"], "batch": r.get("batch", 1), "text": text,
                            "start": s, "end": s + len(g["text"]), "label": g["label"],
                            "assertion": g["assertion"]})
    return out


def emit_extract(batch: int) -> None:
    """(Run with an old clinivox on PYTHONPATH.) The batch's sentences' entities."""
    sys.path.insert(0, str(REPO / "bench"))
    from clinivox.nlu import extract
    from nlu_gold_source import sentence

    out = {}
    for line in GOLD.read_text().splitlines():
        r = json.loads(line)
        if r.get("batch", 1) == batch and r["split"] == "validation":
            out[r["id"]] = [{"label": e.label, "start": e.start, "end": e.end,
                             "assertion": e.assertion} for e in extract(sentence(r["id"]))]
    json.dump(out, sys.stdout)


def first_run_rules() -> dict[str, list[dict]]:
    """Each first-run batch's entities as the rules before it found them."""
    out: dict[str, list[dict]] = {}
    for batch, commit in FIRST_RUN.items():
        with tempfile.TemporaryDirectory() as tmp:
            tar = subprocess.run(["git", "-C", str(REPO), "archive", f"{commit}~1", "src"],
                                 capture_output=True, check=True).stdout
            with tarfile.open(fileobj=BytesIO(tar)) as t:
                t.extractall(tmp, filter="data")
            env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src"),
                   "CLINIVOX_NLU_ASSERTION": "rules"}
            run = subprocess.run([sys.executable, __file__, "--emit-extract", str(batch)],
                                 capture_output=True, text=True, env=env, check=True)
            out.update(json.loads(run.stdout))
    return out


def rule_of(entities: list[dict], m: dict) -> str | None:
    for e in entities:
        if e["label"] == m["label"] and e["start"] < m["end"] and e["end"] > m["start"]:
            return e["assertion"]
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emit-extract", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--skip-cv", action="store_true",
                    help="train the final model only, with --rule-weight")
    ap.add_argument("--rule-weight", type=float, default=None)
    ap.add_argument("--combination", choices=("weighted", "rules_first"), default=None,
                    help="how the model meets the rules (default: the better one on the "
                         "cross-validation; with --skip-cv, weighted)")
    ap.add_argument("--synthetic", type=int, default=0,
                    help="sentences of synthetic assertion examples "
                         "(clinivox.train.data.assertions) added to every training set")
    ap.add_argument("--folds", default=None,
                    help="run these folds only (comma-separated, 1-5): a quick look")
    ap.add_argument("--out", type=Path, default=OUT, help="where the final model goes")
    ap.add_argument("--report", type=Path, default=REPORT)
    ap.add_argument("--rows-in", type=Path, default=None,
                    help="the out-of-fold rows of an earlier run (--rows-out): choose the "
                         "combination and weight from them without training the folds")
    ap.add_argument("--no-final", action="store_true",
                    help="write the report only, not the final model")
    ap.add_argument("--rows-out", type=Path, default=None,
                    help="write the out-of-fold rows (mention, first-run rule, "
                         "probabilities) as JSON, to compare combinations without training")
    args = ap.parse_args()
    if args.emit_extract is not None:
        emit_extract(args.emit_extract)
        return
    import numpy as np
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # its load report on the unused pooler, once a fold

    from clinivox.nlu.assertion_model import COMBINATIONS, combine
    from clinivox.train.finetune.assertion import (
        CLASSES,
        AssertionExample,
        export,
        fit,
        probabilities,
    )

    def example(m: dict) -> AssertionExample:
        return AssertionExample(m["text"], m["start"], m["end"], m["label"], m["assertion"])

    def say(epoch: int, loss: float) -> None:
        print(f"    epoch {epoch + 1}: loss {loss:.3f}", flush=True)

    mentions = gold()
    report: dict = {"mentions": len(mentions),
                    "classes": dict(Counter(m["assertion"] for m in mentions))}
    synth: list[AssertionExample] = []
    if args.synthetic:
        from clinivox.train.data.assertions import synthesise

        synth = [AssertionExample(x.text, x.start, x.end, x.label, x.assertion)
                 for x in synthesise(args.synthetic, seed=0)]
        report["synthetic"] = {"sentences": args.synthetic, "mentions": len(synth),
                               "classes": dict(Counter(x.assertion for x in synth))}
    weight = args.rule_weight
    combination: str = args.combination or "weighted"
    if not args.skip_cv:
        t0 = time.time()
        if args.rows_in:  # a cross-validation's rows, written by --rows-out
            rows = [(m, r, np.array(p)) for m, r, p in json.loads(args.rows_in.read_text())]
        else:
            rows = []
            first = first_run_rules()
            print(f"first-run rules extracted ({time.time() - t0:.0f} s)", flush=True)
            for k, fold in enumerate(FOLDS):
                if args.folds and str(k + 1) not in args.folds.split(","):
                    continue
                train = [m for m in mentions if m["batch"] not in fold]
                held = [m for m in mentions if m["batch"] in fold]
                print(f"fold {k + 1}/{len(FOLDS)}: batches {sorted(fold)}, train "
                      f"{len(train)}, held out {len(held)}", flush=True)
                net = fit([example(m) for m in train] + synth, epochs=args.epochs,
                          progress=say)
                for m, p in zip(held, probabilities(net, [example(m) for m in held]),
                                strict=True):
                    rows.append((m, rule_of(first.get(m["id"], []), m), p))
        if args.rows_out:
            args.rows_out.write_text(json.dumps([(m, r, [float(x) for x in p])
                                                 for m, r, p in rows]))
        both = [(m, r, p) for m, r, p in rows if r is not None]

        def accuracy(w: float | None, subset: list, combination: str = "weighted") -> float:
            """w None: the first-run rules alone; else the model with them (`combine`)."""
            right = 0
            for m, r, p in subset:
                pred = r if w is None else combine(CLASSES, r, p, w, combination)
                right += pred == m["assertion"]
            return right / max(1, len(subset))

        combined = {c: {str(w): round(accuracy(w, both, c), 4) for w in WEIGHTS}
                    for c in COMBINATIONS}
        # the best combination and weight (ties: the larger weight, then "rules_first",
        # which leaves more to the rules)
        best_c, best = max(((c, w) for c in COMBINATIONS for w in WEIGHTS),
                           key=lambda cw: (combined[cw[0]][str(cw[1])], cw[1],
                                           cw[0] == "rules_first"))
        weight = best if weight is None else weight
        combination = best_c if args.combination is None else combination
        by_class = {}
        for c in CLASSES:
            sub = [x for x in both if x[0]["assertion"] == c]
            by_class[c] = {"n": len(sub), "first_run_rules": round(accuracy(None, sub), 3),
                           "model": round(accuracy(0.0, sub), 3),
                           "combined": round(accuracy(weight, sub, combination), 3)}
        report["cross_validation"] = {
            "held_out_mentions": len(rows), "with_a_first_run_rule": len(both),
            "model_alone_all_held_out": round(accuracy(0.0, rows), 4),
            "first_run_rules": round(accuracy(None, both), 4),
            "model_plus_rule_weight": combined, "rule_weight": weight,
            "combination": combination,
            "by_class": by_class, "seconds": round(time.time() - t0)}
        print(json.dumps(report["cross_validation"], indent=1), flush=True)
    if weight is None:
        raise SystemExit("--skip-cv needs --rule-weight")
    if args.no_final:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.report} (no final model: --no-final)")
        return
    print(f"final model: {len(mentions)} mentions", flush=True)
    net = fit([example(m) for m in mentions] + synth, epochs=args.epochs, progress=say)
    trained_on = (f"{len(mentions)} validation mentions of the PriMock57 gold set "
                  "(bench/data/nlu_gold_primock.jsonl)")
    if synth:
        trained_on += (f" and {len(synth)} synthetic mentions of {args.synthetic} sentences "
                       "(clinivox.train.data.assertions, seed 0)")
    export(net, args.out, rule_weight=weight, combination=combination,
           notes={"trained_on": trained_on, "epochs": args.epochs})
    report["rule_weight"] = weight
    report["combination"] = combination
    args.report.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out} and {args.report}")


if __name__ == "__main__":
    main()
