"""Train the learned span tagger (clinivox.nlu.span_model) on the validation half of the
PriMock57 gold set, and choose its threshold and which labels extract() takes from it.

    CLINIVOX_BENCH_DATA=../shared/data python bench/train_spans.py

1. Cross-validation by batch, with the folds of train_assertion.py: the model is trained on
   the other validation sentences and tags the fold's.
2. What it adds is measured against the lexicon as it was before each batch was read (the
   first-run extraction of train_assertion.py): today's lexicon was written from these very
   misses, so its recall here is not what it does on unseen text; the first-run one's is.
3. A model span counts where it overlaps nothing the lexicon found (what extract() does).
   The model could be the default where, at some threshold, the spans added find at least
   twice as many gold mentions as they add false ones (a wrong term costs twice a missed
   one). The shipped threshold and labels are those of the best net gain at equal cost
   (found - false): what a user who turns the model on asks for is recall.
4. The model is trained on every validation sentence and written to
   src/clinivox/nlu/models/spans.npz; the figures go to docs/bench/span_model.json.
5. With --check: the check on the tagger's spans (clinivox.nlu.span_check). Its training
   spans are the held-out spans of step 1 at a loose threshold, as extract() gives them to
   it (`span_model.candidates`: cut to the pieces that overlap nothing the lexicon found,
   none holding a word the tables decline where it stands), each labelled by whether it
   matches a gold problem; a logistic regression over span_check.features is fitted on four
   folds' spans and scores the fifth's. Its two thresholds (the tagger's, where candidates
   are proposed, and the check's, where one is kept) are chosen for the best net gain when
   a false term costs two found ones, and that choice is itself cross-validated (chosen on
   four folds, counted on the fifth) for the figure the default is decided on: the checked
   spans are the default where they gain at that cost. The check fitted on every fold's
   spans is written to src/clinivox/nlu/models/span_check.npz.

The test half is not read here (bench_nlu reports it).
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from train_assertion import FOLDS, first_run_rules, gold_sentences  # noqa: E402

OUT = REPO / "src" / "clinivox" / "nlu" / "models" / "spans.npz"
CHECK_OUT = OUT.with_name("span_check.npz")
REPORT = REPO / "docs" / "bench" / "span_model.json"
THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5)
CANDIDATES = ("problem", "drug")  # the labels the targets are on
DEFAULT_COST = 2.0  # for the default: a false term added costs two found ones
OPT_IN_COST = 1.0  # for the opt-in model's threshold: one
CHECK_POOL = 0.7  # the tagger's threshold for the check's training spans (loose: many)
CHECK_THRESHOLDS = (0.05, 0.1, 0.2, 0.35, 0.5)  # where the checked tagger may propose
CHECK_KEEP = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.3 .. 0.95
CHECK_C = 1.0  # the logistic regression's inverse regularisation


@dataclass
class _Enc:  # what decode() reads of a tokenizer encoding
    offsets: list
    word_ids: list


def rows(split: str = "validation") -> list[dict]:
    """Each gold sentence: id, batch, text, gold entities, and the training spans (every
    whole-word occurrence of each gold text; the longer where two overlap)."""
    from clinivox.nlu.span_model import LABELS

    out = []
    for r, text in gold_sentences(split):
        cands = []
        for g in r["entities"]:
            if g["label"] not in LABELS:
                continue
            pat = re.compile(r"(?<!\w)" + re.escape(g["text"]) + r"(?!\w)", re.IGNORECASE)
            cands += [(m.start(), m.end(), g["label"]) for m in pat.finditer(text)]
        spans: list[tuple[int, int, str]] = []
        for s, e, lab in sorted(set(cands), key=lambda c: c[0] - c[1]):
            if all(e <= a or b <= s for a, b, _ in spans):
                spans.append((s, e, lab))
        out.append({"id": r["id"], "batch": r.get("batch", 1), "text": text,
                    "gold": r["entities"], "spans": sorted(spans)})
    return out


def score(data: list[tuple[str, list[dict], list[dict]]]) -> dict:
    """Recall and precision by label of (text, gold, found [{label, start, end}]), matched
    as bench_nlu.gold_metrics matches (`bench_nlu.match`)."""
    from bench_nlu import match

    tp, fp, fn = Counter(), Counter(), Counter()
    for text, gold, found in data:
        pairs, extra, _ = match(text, gold, [(e["label"], e["start"], e["end"])
                                             for e in found])
        for g, hit in pairs:
            (fn if hit is None else tp)[g["label"]] += 1
        for i in extra:
            fp[found[i]["label"]] += 1
    return {lab: {"recall": round(tp[lab] / max(1, tp[lab] + fn[lab]), 4),
                  "precision": round(tp[lab] / max(1, tp[lab] + fp[lab]), 4),
                  "tp": tp[lab], "fp": fp[lab], "gold": tp[lab] + fn[lab]}
            for lab in sorted(set(tp) | set(fn) | set(fp))}


def combined(found: list[dict], spans: list, labels: tuple[str, ...]) -> list[dict]:
    """The lexicon's entities and the model's spans of `labels` that overlap none of them
    (or an earlier span)."""
    out = list(found)
    for s in spans:
        if s.label in labels and all(s.end <= e["start"] or e["end"] <= s.start for e in out):
            out.append({"label": s.label, "start": s.start, "end": s.end, "learned": True})
    return out


def check_stage(held_rows: list[dict], first: dict, spans_of: Any) -> dict:
    """Step 5 (see the module's docstring): the report's "check" section; writes
    CHECK_OUT."""
    import numpy as np

    from clinivox.nlp.embeddings import default_encoder
    from clinivox.nlu.span_check import features, stored_references
    from clinivox.nlu.span_model import candidates as span_candidates
    from clinivox.train.finetune.span_check import export, fit

    t0 = time.time()
    enc = default_encoder()
    refs = stored_references(enc)
    fold_of = {b: k for k, f in enumerate(FOLDS) for b in f}

    def candidates(th: float, as_extract: bool = True) -> list[tuple[int, Any, int]]:
        """What the check is asked about at `th`, as extract() asks it
        (`span_model.candidates`): (row, span, matches a gold problem). The training pool
        (`as_extract=False`) also holds the pieces of spans that overlap a problem the
        lexicon found, which extract() does not ask about: more examples of what is no
        problem of its own (the check was fitted on them before extract() left them out)."""
        out = []
        for i, r in enumerate(held_rows):
            taken = [(e["start"], e["end"]) for e in first[r["id"]]]
            problems = [(e["start"], e["end"]) for e in first[r["id"]]
                        if e["label"] == "problem"] if as_extract else []
            for s in span_candidates(r["text"], spans_of(i, th), taken, ("problem",),
                                     problems):
                e = {"label": s.label, "start": s.start, "end": s.end}
                hit = score([(r["text"], r["gold"], [e])]).get("problem", {}).get("tp")
                out.append((i, s, int(bool(hit))))
        return out

    cands = {th: candidates(th, as_extract=th != CHECK_POOL)
             for th in (CHECK_POOL, *CHECK_THRESHOLDS)}
    x = {th: np.vstack([features(enc, refs, held_rows[i]["text"], [s]) for i, s, _ in cs])
         for th, cs in cands.items()}
    y = {th: np.array([hit for _, _, hit in cs]) for th, cs in cands.items()}
    fold = {th: np.array([fold_of[held_rows[i]["batch"]] for i, _, _ in cs])
            for th, cs in cands.items()}
    print(f"check: {len(cands[CHECK_POOL])} training spans at {CHECK_POOL} "
          f"({int(y[CHECK_POOL].sum())} gold)", flush=True)

    def out_of_fold(folds: list[int]) -> dict[float, np.ndarray]:
        """Each candidate's probability from a check fitted on the other folds of `folds`
        (NaN outside `folds`)."""
        p = {th: np.full(len(cands[th]), np.nan) for th in CHECK_THRESHOLDS}
        for k in folds:
            tr = np.isin(fold[CHECK_POOL], [f for f in folds if f != k])
            w, b = fit(x[CHECK_POOL][tr], y[CHECK_POOL][tr], CHECK_C)
            for th in CHECK_THRESHOLDS:
                m = fold[th] == k
                p[th][m] = 1.0 / (1.0 + np.exp(-(x[th][m] @ w + b)))
        return p

    def counts(p: dict, th: float, keep: float, folds: list[int]) -> tuple[int, int]:
        m = np.isin(fold[th], folds) & (p[th] >= keep)
        return int(y[th][m].sum()), int((1 - y[th][m]).sum())

    def choose(p: dict, folds: list[int]) -> tuple[float, float]:
        return max(((th, keep) for th in CHECK_THRESHOLDS for keep in CHECK_KEEP),
                   key=lambda c: (counts(p, *c, folds)[0]
                                  - DEFAULT_COST * counts(p, *c, folds)[1], -c[1]))

    every = list(range(len(FOLDS)))
    p_all = out_of_fold(every)
    nested, kept = [], {}
    for k in every:
        th, keep = choose(out_of_fold([f for f in every if f != k]),
                          [f for f in every if f != k])
        found, false = counts(p_all, th, keep, [k])
        nested.append({"fold": k + 1, "threshold": th, "keep_at": keep, "found": found,
                       "false": false})
        for j, (i, s, _) in enumerate(cands[th]):
            if fold[th][j] == k and p_all[th][j] >= keep:
                kept.setdefault(i, []).append(s)
        print(f"  fold {k + 1}: chosen on the others {th} / {keep}; here +{found} found, "
              f"+{false} false", flush=True)
    found = sum(n["found"] for n in nested)
    false = sum(n["false"] for n in nested)
    base = score([(r["text"], r["gold"], first[r["id"]]) for r in held_rows])
    both = score([(r["text"], r["gold"], first[r["id"]] + [
        {"label": s.label, "start": s.start, "end": s.end} for s in kept.get(i, [])])
        for i, r in enumerate(held_rows)])
    gains = found - DEFAULT_COST * false > 0
    th, keep = choose(p_all, every)
    print(f"check, cross-validated choice: +{found} found, +{false} false; problem recall "
          f"{base['problem']['recall']:.3f} -> {both['problem']['recall']:.3f}, precision "
          f"{base['problem']['precision']:.3f} -> {both['problem']['precision']:.3f}; "
          f"gains at cost {DEFAULT_COST}: {gains}; chosen on all folds {th} / {keep}",
          flush=True)
    w, b = fit(x[CHECK_POOL], y[CHECK_POOL], CHECK_C)
    export(CHECK_OUT, w, b, refs, threshold=th, keep_at=keep, notes={
        "trained_on": f"{len(cands[CHECK_POOL])} out-of-fold spans of the tagger at "
                      f"{CHECK_POOL} on the validation half of the PriMock57 gold set",
        "c": CHECK_C})
    print(f"wrote {CHECK_OUT.relative_to(REPO)}", flush=True)
    return {
        "training_spans": len(cands[CHECK_POOL]), "gold_among_them": int(y[CHECK_POOL].sum()),
        "out_of_fold": {str(t): {str(kp): dict(zip(("found", "false"),
                                                    counts(p_all, t, kp, every), strict=True))
                                 for kp in CHECK_KEEP}
                        for t in CHECK_THRESHOLDS},
        "unchecked": {str(t): {"found": int(y[t].sum()), "false": int((1 - y[t]).sum())}
                      for t in CHECK_THRESHOLDS},
        "nested": nested, "nested_found": found, "nested_false": false,
        "first_run_lexicon_problem": base["problem"],
        "lexicon_plus_checked_problem": both["problem"],
        "gains_with_a_false_term_costing_two": gains,
        "threshold": th, "keep_at": keep, "c": CHECK_C, "seconds": round(time.time() - t0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--first-run-cache", type=Path, default=None,
                    help="a JSON file keeping the first-run extraction between runs")
    ap.add_argument("--probs-cache", type=Path, default=None,
                    help="a pickle keeping the held-out probabilities between runs")
    ap.add_argument("--skip-final", action="store_true", help="cross-validation only")
    ap.add_argument("--skip-cv", action="store_true",
                    help="train the final model only, with --threshold and --labels")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--labels", default=None, help="comma-separated, e.g. problem,drug")
    ap.add_argument("--check", action="store_true",
                    help="fit the check on the held-out spans (step 5); with --skip-final "
                         "the report's other sections are kept as they are")
    ap.add_argument("--show-errors", action="store_true",
                    help="print the spans added at the chosen threshold, right and wrong")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()

    from clinivox.nlu.span_model import chunks, decode
    from clinivox.train.finetune.spans import export, fit, pieces, probabilities

    def say(epoch: int, loss: float) -> None:
        print(f"    epoch {epoch + 1}: loss {loss:.4f}", flush=True)

    def examples(rs: list[dict]) -> list:
        return [p for r in rs for p in pieces(r["text"], r["spans"])]

    data = rows()
    report: dict = {"sentences": len(data), "spans": dict(Counter(
        s[2] for r in data for s in r["spans"]))}
    threshold = args.threshold
    labels = tuple(args.labels.split(",")) if args.labels else None
    if not args.skip_cv:
        t0 = time.time()
        cache = args.first_run_cache
        if cache is not None and cache.is_file():
            first = json.loads(cache.read_text())
        else:
            first = first_run_rules()
            if cache is not None:
                cache.write_text(json.dumps(first))
        print(f"first-run extraction ready ({time.time() - t0:.0f} s)", flush=True)
        held_rows, probs = [], []
        if args.probs_cache is not None and args.probs_cache.is_file():
            with args.probs_cache.open("rb") as f:
                held_rows, probs = pickle.load(f)
        for k, fold in enumerate(FOLDS if not held_rows else ()):
            train = [r for r in data if r["batch"] not in fold]
            held = [r for r in data if r["batch"] in fold and r["id"] in first]
            print(f"fold {k + 1}/{len(FOLDS)}: batches {sorted(fold)}, train {len(train)}, "
                  f"held out {len(held)}", flush=True)
            net = fit(examples(train), epochs=args.epochs, progress=say)
            for r in held:
                pcs = chunks(r["text"])
                probs.append((pcs, probabilities(net, [r["text"][a:b] for a, b in pcs])))
                held_rows.append(r)
        if args.probs_cache is not None and not args.probs_cache.is_file():
            with args.probs_cache.open("wb") as f:  # encodings as plain data
                pickle.dump((held_rows, [(pcs, [(_Enc(e.offsets, e.word_ids), p)
                                                for e, p in pr]) for pcs, pr in probs]), f)

        def spans_of(i: int, th: float) -> list:
            pcs, pr = probs[i]
            return [type(s)(s.start + a, s.end + a, s.label, s.score)
                    for (a, b), (e, p) in zip(pcs, pr, strict=True)
                    for s in decode(held_rows[i]["text"][a:b], e.offsets, e.word_ids, p, th)]

        base = score([(r["text"], r["gold"], first[r["id"]]) for r in held_rows])
        by_threshold = {}
        for th in THRESHOLDS:
            sp = [spans_of(i, th) for i in range(len(held_rows))]
            alone = score([(r["text"], r["gold"], [{"label": s.label, "start": s.start,
                                                     "end": s.end} for s in sp[i]])
                           for i, r in enumerate(held_rows)])
            both = score([(r["text"], r["gold"], combined(first[r["id"]], sp[i], CANDIDATES))
                          for i, r in enumerate(held_rows)])
            gain = {lab: {"found": both[lab]["tp"] - base[lab]["tp"],
                          "false": both[lab]["fp"] - base[lab]["fp"]} for lab in CANDIDATES}
            by_threshold[str(th)] = {"model_alone": alone, "lexicon_plus_model": both,
                                     "added": gain}
            print(f"threshold {th}: " + "; ".join(
                f"{lab} recall {base[lab]['recall']:.3f} -> {both[lab]['recall']:.3f}, "
                f"precision {base[lab]['precision']:.3f} -> {both[lab]['precision']:.3f} "
                f"(+{gain[lab]['found']} found, +{gain[lab]['false']} false)"
                for lab in CANDIDATES), flush=True)

        def net_gain(th: float, lab: str, cost: float) -> float:
            g = by_threshold[str(th)]["added"][lab]
            return g["found"] - cost * g["false"]

        def best(cost: float) -> float:  # the best net gain; the strictest where none gains
            return max(THRESHOLDS, key=lambda th: (sum(max(0.0, net_gain(th, lab, cost))
                                                       for lab in CANDIDATES), -th))

        as_default = {lab: max(net_gain(th, lab, DEFAULT_COST) for th in THRESHOLDS) > 0
                      for lab in CANDIDATES}
        print(f"gains at cost {DEFAULT_COST} (could be the default): {as_default}")
        if threshold is None:
            threshold = best(OPT_IN_COST)
        if labels is None:
            labels = tuple(lab for lab in CANDIDATES
                           if net_gain(threshold, lab, OPT_IN_COST) > 0)
        if args.show_errors:
            for i, r in enumerate(held_rows):
                for e in combined(first[r["id"]], spans_of(i, threshold), CANDIDATES):
                    if e.get("learned"):
                        ok = score([(r["text"], r["gold"], [e])]).get(e["label"], {})
                        print(f"  {'+' if ok.get('tp') else '-'} {e['label']} "
                              f"{r['text'][e['start']:e['end']]!r}: {r['text'][:100]!r}")
        report["cross_validation"] = {
            "held_out_sentences": len(held_rows), "first_run_lexicon": base,
            "by_threshold": by_threshold,
            "gains_with_a_false_term_costing_two": as_default,
            "opt_in_cost_of_a_false_term": OPT_IN_COST,
            "seconds": round(time.time() - t0)}
        if args.check:
            report["check"] = check_stage(held_rows, first, spans_of)
    if args.skip_final:
        if args.check:  # the tagger is unchanged: its figures stay
            kept = json.loads(REPORT.read_text()) if REPORT.is_file() else {}
            REPORT.write_text(json.dumps({**kept, "check": report["check"]}, indent=1)
                              + "\n")
            print(f"wrote the check's figures to {REPORT.relative_to(REPO)}")
        print(json.dumps(report.get("cross_validation", {}).get("first_run_lexicon")))
        return
    if threshold is None or labels is None:
        raise SystemExit("--skip-cv needs --threshold and --labels")
    print(f"chosen: threshold {threshold}, labels {list(labels)}", flush=True)
    print(f"final model: {len(data)} sentences", flush=True)
    net = fit(examples(data), epochs=args.epochs, progress=say)
    export(net, OUT, threshold=threshold, added_labels=labels,
           notes={"trained_on": f"{len(data)} validation sentences of the PriMock57 gold "
                                "set (bench/data/nlu_gold_primock.jsonl)",
                  "epochs": args.epochs})
    report.update({"threshold": threshold, "added_labels": list(labels)})
    REPORT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(REPO)} and {REPORT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
