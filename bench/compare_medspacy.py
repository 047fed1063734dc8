"""medspaCy's shipped ConText rules against the NLU's, on the same mentions of the PriMock57
gold set: the issue asks to build on medspaCy's rules where they fit; this measures
whether they do. medspaCy pins spaCy 3.7 and numpy<2, so it runs in an environment of its
own, in two steps:

    python bench/compare_medspacy.py export --split validation --out /tmp/spans.json
    python -m venv /tmp/msp && /tmp/msp/bin/pip install "numpy<2" medspacy
    /tmp/msp/bin/python bench/compare_medspacy.py score /tmp/spans.json

`export` writes, for each gold problem, drug or allergy the NLU found, its sentence, span,
gold assertion and the NLU's; `score` runs medspaCy's ConText (its default rules, the
mention given as the only entity, so both judge the same span) and prints accuracy by class
for both.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ASSERTED = ("problem", "drug", "allergy")


def export(split: str, out: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from clinivox.nlu import extract
    from nlu_gold_source import sentence

    gold = Path(__file__).resolve().parent / "data" / "nlu_gold_primock.jsonl"
    rows = []
    for r in map(json.loads, gold.read_text().splitlines()):
        if r["split"] != split:
            continue
        text = sentence(r["id"])
        found, used = extract(text), set()
        for g in r["entities"]:
            if not g.get("assertion") or g["label"] not in ASSERTED:
                continue
            g0 = text.lower().find(g["text"].lower())
            g1 = g0 + len(g["text"])
            i = next((i for i, e in enumerate(found) if i not in used
                      and e.label == g["label"] and e.start < g1 and e.end > g0), None)
            if i is None:
                continue
            used.add(i)
            rows.append({"text": text, "start": found[i].start, "end": found[i].end,
                         "gold": g["assertion"], "ours": found[i].assertion})
    out.write_text(json.dumps(rows))
    return len(rows)


def _medspacy_class(ent) -> str:  # type: ignore[no-untyped-def]
    """medspaCy's flags as one class, in the NLU's order of precedence."""
    if ent._.is_hypothetical:
        return "hypothetical"
    if ent._.is_negated:
        return "absent"
    if ent._.is_family:
        return "family"
    if ent._.is_uncertain:
        return "possible"
    if ent._.is_historical:
        return "historical"
    return "present"


def score(path: Path) -> dict:
    import medspacy
    from loguru import logger

    logger.remove()  # PyRuSH logs every sentence at DEBUG
    nlp = medspacy.load()
    n, theirs, ours = Counter(), Counter(), Counter()
    for r in json.loads(path.read_text()):
        doc = nlp.make_doc(r["text"])
        for name, proc in nlp.pipeline:
            if name == "medspacy_target_matcher":
                continue  # the mention is given
            if name == "medspacy_context":
                doc.ents = [doc.char_span(r["start"], r["end"], label="PROBLEM",
                                          alignment_mode="expand")]
            doc = proc(doc)
        n[r["gold"]] += 1
        theirs[r["gold"]] += _medspacy_class(doc.ents[0]) == r["gold"]
        ours[r["gold"]] += r["ours"] == r["gold"]
    total = sum(n.values())
    return {who: {"accuracy": round(sum(c.values()) / total, 3),
                  "by_class": {k: [round(c[k] / n[k], 2), n[k]] for k in sorted(n)}}
            for who, c in (("medspacy", theirs), ("clinivox", ours))} | {"mentions": total}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--split", default="validation", choices=("validation", "test"))
    e.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("spans", type=Path)
    a = p.parse_args()
    if a.cmd == "export":
        print(export(a.split, a.out), "mentions")
    else:
        print(json.dumps(score(a.spans), indent=1))
