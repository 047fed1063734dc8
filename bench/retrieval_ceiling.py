"""How far candidate retrieval limits the medical layer: for each lexicon term a model
misheard, how close what it wrote sounds to the term, and where the sound index
(`medical.terms.TermIndex.lookup`) ranks the term among its candidates. Also the recall a
learned re-ranking of those candidates would reach (a logistic regression over sound,
spelling, prefix and suffix agreement, rarity and category, scored by 5-fold
cross-validation grouped by utterance).

Decodes `--manifest` with `--model` (plain, no medical layer), aligns each reference term
with the words written for it, and keeps the spans that differ. Use a manifest the model
was not trained on and that no reported figure uses (here: new sentences spoken by the
training voices, `clinivox data synth --seed 7 --train 600 --validation 0`).

    .venv/bin/python bench/retrieval_ceiling.py --manifest runs/mine/train.jsonl \\
        --out docs/bench/retrieval_ceiling.json
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

FEATURES = ("index score", "skeleton", "sound key", "spelling", "Jaro-Winkler spelling",
            "Jaro-Winkler sound key", "sound prefix", "sound suffix", "spelling prefix",
            "spelling suffix", "key length ratio", "rare", "drug", "diagnosis", "span words",
            "form words", "same word count")


def align(ref: list[str], hyp: list[str]) -> list[tuple[str, int, int | None]]:
    """Word alignment (Levenshtein): ("s", i, j) substitution or match, ("d", i, None)
    deletion, ("i", i, j) hypothesis word j inserted after reference word i."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1,
                          d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    i, j, ops = n, m, []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("s", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            ops.append(("d", i - 1, None))
            i -= 1
        else:
            ops.append(("i", i - 1, j - 1))
            j -= 1
    return ops[::-1]


def misheard(text: str, hyp: str, terms: list[str]) -> list[tuple[str, str]]:
    """(what was written, term) for each reference term the hypothesis wrote otherwise."""
    from clinivox.medical.phonetics import words_of

    ref, hw = words_of(text), words_of(hyp)
    ops = align(ref, hw)
    out = []
    for term in terms:
        t = words_of(term)
        a = next((k for k in range(len(ref) - len(t) + 1) if ref[k:k + len(t)] == t), None)
        if a is None:
            continue
        b = a + len(t)
        js = sorted({j for op, i, j in ops if j is not None and a <= i < b
                     and (op == "s" or i < b - 1)})
        span = [hw[j] for j in js]
        if span != t:
            out.append((" ".join(span), term))
    return out


def _common_prefix(a: str, b: str) -> float:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n / max(1, min(len(a), len(b)))


def candidate_features(key, span: str, form: str, entry, similarity: float) -> list[float]:
    from rapidfuzz.distance import JaroWinkler, Levenshtein

    from clinivox.medical.phonetics import words_of
    from clinivox.medical.terms import skeleton

    sk, fk = key(span), key(form)
    sl, fl = "".join(words_of(span)), "".join(words_of(form))
    return [similarity, Levenshtein.normalized_similarity(skeleton(sk), skeleton(fk)),
            Levenshtein.normalized_similarity(sk, fk), Levenshtein.normalized_similarity(sl, fl),
            JaroWinkler.similarity(sl, fl), JaroWinkler.similarity(sk, fk),
            _common_prefix(sk, fk), _common_prefix(sk[::-1], fk[::-1]),
            _common_prefix(sl, fl), _common_prefix(sl[::-1], fl[::-1]),
            min(len(sk), len(fk)) / max(1, len(sk), len(fk)), float(entry.rare),
            float(entry.category == "drug"), float(entry.category == "diagnosis"),
            len(words_of(span)), len(words_of(form)),
            float(len(words_of(span)) == len(words_of(form)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny.en-clinical")
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--floor", type=float, default=0.4, help="loosest index similarity asked")
    p.add_argument("--per-span", type=int, default=60)
    p.add_argument("--profile-floor", type=float, default=0.68,
                   help="the clinical profile's min_similarity")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    from clinivox.asr.recognizer import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.biasing.verifier import logistic_newton

    rec = Recognizer(args.model)
    index = load_biaser(rec.engine).index
    key = index.phonemizer.key
    rows = [json.loads(x) for x in args.manifest.read_text().splitlines() if x.strip()]
    rows = rows[:args.limit]
    pairs, n_terms = [], 0
    for k, r in enumerate(rows):
        audio = Path(r["audio"])
        audio = audio if audio.is_absolute() else args.manifest.parent / audio
        segs, _ = rec.transcribe(str(audio))
        hyp = " ".join(s.text for s in segs)
        n_terms += len(r.get("terms", []))
        pairs += [(k, span, term) for span, term in misheard(r["text"], hyp, r.get("terms", []))]
        if k % 100 == 0:
            print(f"{k}/{len(rows)} decoded", file=sys.stderr, flush=True)
    from rapidfuzz.distance import Levenshtein

    items = []
    for utt, span, term in pairs:
        cands = index.lookup([span], min_similarity=args.floor, per_span=args.per_span)[0] \
            if span else []
        rank = next((i for i, c in enumerate(cands) if term.lower() in
                     (c.form.lower(), c.entry.canonical.lower())), None)
        items.append({"utt": utt, "span": span, "term": term, "rank": rank,
                      "sound": Levenshtein.normalized_similarity(key(span), key(term))
                      if span else 0.0,
                      "cands": [(candidate_features(key, span, c.form, c.entry, c.similarity),
                                 int(term.lower() in (c.form.lower(),
                                                      c.entry.canonical.lower())))
                                for c in cands]})
    n = len(items)

    def recall(k: int, ranks: list[int | None]) -> float:
        return sum(1 for r in ranks if r is not None and r < k) / max(1, n)

    bins = []
    for tenth in range(10):
        sel = [it for it in items if min(int(it["sound"] * 10), 9) == tenth]
        bins.append({"sound_similarity": f"{tenth / 10:.1f}-{(tenth + 1) / 10:.1f}",
                     "pairs": len(sel),
                     "top4": sum(1 for it in sel if it["rank"] is not None and it["rank"] < 4),
                     "retrieved": sum(1 for it in sel if it["rank"] is not None)})
    # learned re-ranking, out of fold (folds by utterance); within the profile's floor too:
    # the rank of the term among the candidates kept, in the index's order and in the model's
    ranks: dict[float, dict[str, list[int | None]]] = {}
    for floor in (args.floor, args.profile_floor):
        rows_x, rows_y, owner = [], [], []
        for t, it in enumerate(items):
            for f, ok in it["cands"]:
                if f[0] >= floor:
                    rows_x.append(f)
                    rows_y.append(ok)
                    owner.append(t)
        x, y, own = np.array(rows_x), np.array(rows_y, dtype=float), np.array(owner)
        fold = np.array([zlib.crc32(str(items[t]["utt"]).encode()) % 5 for t in own])
        score = np.zeros(len(y))
        for f in range(5):
            tr = fold != f
            mean, sd = x[tr].mean(0), x[tr].std(0) + 1e-9
            pos = max(1.0, y[tr].sum())  # classes balanced
            w = logistic_newton((x[tr] - mean) / sd, y[tr],
                                weight=np.where(y[tr] == 1, (tr.sum() - pos) / pos, 1.0))
            score[~tr] = np.hstack([(x[~tr] - mean) / sd, np.ones(((~tr).sum(), 1))]) @ w
        ranks[floor] = {"index": [], "learned re-ranking": []}
        for t in range(n):
            right = y[own == t] == 1  # the candidates kept, in the index's order
            order = np.argsort(-score[own == t], kind="stable")
            for name, hits in (("index", right), ("learned re-ranking", right[order])):
                ranks[floor][name].append(int(np.argmax(hits)) if hits.any() else None)

    result = {
        "model": args.model, "manifest": str(args.manifest), "utterances": len(rows),
        "reference_terms": n_terms, "misheard": n,
        "sound_bins": bins,
        "recall_at": {f"floor {floor}": {name: {k: recall(k, r) for k in (1, 4, 10)}
                                          for name, r in by_name.items()}
                      for floor, by_name in ranks.items()},
        "examples": [{"written": it["span"], "term": it["term"], "rank": it["rank"],
                      "sound": round(it["sound"], 2)} for it in items],
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "examples"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
