"""NLU and PHI benchmark (issue #26), in one run:

    python bench/bench_nlu.py [--speech 80] [--consultations N]

1. Gold sets: 120 PriMock57 sentences (clinicians' notes and consultation transcripts,
   real clinical text) annotated by hand, reported on their test half (the validation
   half made the decisions), and 40 sentences of the developer's own. Entity recall and
   precision by label (a found entity matches a gold one with the same label whose text
   it overlaps), assertion accuracy by gold class, code accuracy by label.
2. Two synthetic PHI sets (faker values in clinical sentences, seeded): the unit tests'
   (8 templates) and a second one with other wordings (bench/phi_set.py, its test seed):
   recall on text, and the share of medical words kept.
3. The same sentences spoken by the Piper voice and transcribed by tiny.en.
4. The scribe summary before the NLU and now on the dev consultation audio.
Results: bench/results/nlu.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_transcribe import publish

GOLD = Path(__file__).resolve().parent / "data" / "nlu_gold.jsonl"
GOLD_PRIMOCK = Path(__file__).resolve().parent / "data" / "nlu_gold_primock.jsonl"
MEDICAL = ("metformin", "asthma", "diabetes", "warfarin", "stroke", "amoxicillin",
           "heart failure")


ASSERTED = ("problem", "drug", "allergy")  # labels whose assertion is scored
TEST_BATCHES = (1, 2, 3, 7, 8, 9, 22)  # the batches with sentences of the test half


def _code_key(code: str | None) -> str:
    return (code or "").replace(".", "").upper() if code and code[:1].isalpha() and \
        code[1:3].isdigit() else (code or "").lower()


def gold_rows(which: str = "own", split: str | None = None,
              batch: int | None = None) -> list[tuple[str, list[dict]]]:
    """(text, gold entities) of a gold set: `own` (bench/data/nlu_gold.jsonl, text in the
    file) or `primock` (bench/data/nlu_gold_primock.jsonl, text read from ../shared/data
    by id; `split` validation or test, `batch` its number)."""
    if which == "own":
        return [(r["text"], r["entities"]) for r in map(json.loads,
                                                         GOLD.read_text().splitlines())]
    from nlu_gold_source import sentence

    rows = [json.loads(x) for x in GOLD_PRIMOCK.read_text().splitlines()]
    return [(sentence(r["id"]), r["entities"]) for r in rows
            if (split is None or r["split"] == split)
            and (batch is None or r.get("batch", 1) == batch)]


def medspacy_comparison(python: str) -> dict:
    """medspaCy's shipped ConText rules against the NLU's on the gold mentions of each half
    (`compare_medspacy.py`; `python`: an interpreter with medspaCy installed)."""
    import subprocess
    import tempfile

    from compare_medspacy import export

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("test", "validation"):
            spans = Path(tmp) / f"{split}.json"
            export(split, spans)
            run = subprocess.run([python, str(Path(__file__).parent / "compare_medspacy.py"),
                                  "score", str(spans)], capture_output=True, text=True,
                                 check=True)
            out[split] = json.loads(run.stdout)
    return out


def _over_occurrence(text: str, word: str, start: int, end: int) -> bool:
    """Whether text[start:end] overlaps an occurrence of `word` (both lower case)."""
    at = text.find(word)
    while at >= 0 and word:
        if at < end and start < at + len(word):
            return True
        at = text.find(word, at + 1)
    return False


def match(text: str, gold: list[dict], found: list[tuple[str, int, int]]
          ) -> tuple[list[tuple[dict, int | None]], list[int], int]:
    """How found entities, (label, start, end), meet a sentence's gold ones: a found
    entity matches a gold one with the same label whose text (its first occurrence) it
    overlaps, each used once. Returns each gold entity with the index of its match (None:
    missed), the indexes of the found entities that are false positives, and how many
    unmatched ones are repeats: a word the gold annotates once and the sentence says twice
    ("it's itchy ... it does get itchy"), found on its other occurrence, which is not a
    false positive."""
    used: set[int] = set()
    pairs: list[tuple[dict, int | None]] = []
    for g in gold:
        g0 = text.lower().find(g["text"].lower())
        g1 = g0 + len(g["text"])
        hit = next((i for i, (label, s, e) in enumerate(found) if i not in used
                    and label == g["label"] and s < g1 and e > g0), None)
        if hit is not None:
            used.add(hit)
        pairs.append((g, hit))
    lowered = text.lower()
    extra, repeats = [], 0
    for i, (label, s, e) in enumerate(found):
        if i in used:
            continue
        if any(g["label"] == label and _over_occurrence(lowered, g["text"].lower(), s, e)
               for g in gold):
            repeats += 1
        else:
            extra.append(i)
    return pairs, extra, repeats


def gold_metrics(rows: list[tuple[str, list[dict]]] | None = None,
                 show_errors: bool = False) -> dict:
    """Entity recall and precision by label (a found entity matches a gold one with the
    same label whose text it overlaps), assertion accuracy by gold class (problems, drugs
    and allergies), and code accuracy by label where the gold has a code: exact, and by
    ICD-10-CM category (the first three characters)."""
    from clinivox.nlu import extract

    rows = rows if rows is not None else gold_rows("own")
    from bench_nlu_latency import clear_text_caches

    clear_text_caches()  # a run's time is not that of reading an earlier run's results
    t0 = time.perf_counter()
    tp, fp, fn = Counter(), Counter(), Counter()
    asserted, right = Counter(), Counter()
    coded, code_exact, code_cat = Counter(), Counter(), Counter()
    code_ok = code_n = repeats = 0
    for text, gold in rows:
        found = extract(text)
        pairs, extra, repeated = match(text, gold, [(e.label, e.start, e.end) for e in found])
        repeats += repeated
        for g, matched in pairs:
            if matched is None:
                fn[g["label"]] += 1
                if show_errors:
                    print(f"  missed {g['label']} {g['text']!r}: {text[:90]!r}")
                continue
            e = found[matched]
            tp[g["label"]] += 1
            if g.get("assertion") and g["label"] in ASSERTED:
                asserted[g["assertion"]] += 1
                right[g["assertion"]] += e.assertion == g["assertion"]
                if show_errors and e.assertion != g["assertion"]:
                    print(f"  assertion {e.text!r} {e.assertion} (gold {g['assertion']}): "
                          f"{text[:90]!r}")
            if g["label"] in ("problem", "drug", "allergy"):
                code_n += 1
                code_ok += bool(e.code)
            if g.get("code"):
                lab = g["label"]
                coded[lab] += 1
                want, got = _code_key(g["code"]), _code_key(e.code)
                code_exact[lab] += got == want
                code_cat[lab] += bool(got) and got[:3] == want[:3]
                if show_errors and got != want:
                    print(f"  code {e.text!r} {e.code} (gold {g['code']})")
        for i in extra:
            e = found[i]
            fp[e.label] += 1
            if show_errors:
                print(f"  extra {e.label} {e.text!r} {e.code}: {text[:90]!r}")
    labels = sorted(set(tp) | set(fn) | set(fp))
    return {
        "sentences": len(rows),
        "seconds": round(time.perf_counter() - t0, 2),
        "repeats": repeats,
        "by_label": {lab: {"recall": tp[lab] / max(1, tp[lab] + fn[lab]),
                           "precision": tp[lab] / max(1, tp[lab] + fp[lab]),
                           "gold": tp[lab] + fn[lab], "false_positives": fp[lab]}
                     for lab in labels},
        "assertion_accuracy": sum(right.values()) / max(1, sum(asserted.values())),
        "assertion_by_class": {c: {"accuracy": right[c] / asserted[c], "n": asserted[c]}
                               for c in sorted(asserted)},
        "coded": code_ok / max(1, code_n),
        "code_by_label": {lab: {"n": coded[lab], "exact": code_exact[lab] / coded[lab],
                                "category": code_cat[lab] / coded[lab]}
                          for lab in sorted(coded)},
    }


IDS = {"PHONE", "NHS", "MRN", "SSN", "INSURANCE", "ZIP"}  # identifier kinds


def phi_rows(which: str) -> list[tuple[str, list[tuple[str, str]], list[str]]]:
    """(sentence, [(category, value)], medical words) of a synthetic PHI set: `unit` (the
    unit tests' 8 templates, 400 sentences) or `v2-test` (bench/phi_set.py, seed 12, 160
    sentences; its seed-11 half was the validation set)."""
    if which == "unit":
        from tests.unit.test_privacy import _phi_set

        cues = {"my name is": "NAME", "Doctor": "NAME", "Mrs": "NAME", "born on": "DATE",
                "call me on": "PHONE", "live at": "ADDRESS", "Email": "EMAIL",
                "years old": "AGE"}
        return [(text, [(next(k for c, k in cues.items() if c in text), v)
                         for v in values], [m for m in MEDICAL if m in text])
                for text, values in _phi_set(400)]
    from phi_set import phi_rows as v2

    return v2("test", 160)


def _pieces(s: str) -> Counter:
    return Counter(t.lower() for t in re.findall(r"[A-Za-z0-9]+", s) if len(t) >= 3)


def leaked(text: str, out: str, value: str) -> list[str]:
    """The pieces of `value` (words and digit groups of 3+ characters) that the redacted
    `out` still holds, beyond those the rest of the sentence has: "Mr [NAME]Brien" leaks
    "brien" of "O'Brien", "[DATE]-six" the "six" of a birth year. A first version counted a
    value caught whenever it was not left whole, which hid both."""
    left, rest = _pieces(out), _pieces(text.replace(value, " "))
    return sorted(t for t in _pieces(value) if left[t] > rest[t])


def phi_text(which: str) -> dict:
    """PHI recall on text (a value is caught when no piece of it is left in the redacted
    text, `leaked`; `phi_recall_whole` the lenient count: caught unless left whole) and the
    share of medical words kept."""
    from clinivox.privacy import redact

    caught, total, whole = Counter(), Counter(), 0
    kept = medical = 0
    rows = phi_rows(which)
    for text, values, meds in rows:
        out, _ = redact(text)
        for cat, v in values:
            total[cat] += 1
            caught[cat] += v not in out and not leaked(text, out, v)
            whole += v not in out
        medical += len(meds)
        kept += sum(m in out for m in meds)
    return {"sentences": len(rows), "phi_recall": sum(caught.values()) / sum(total.values()),
            "phi_recall_whole": whole / sum(total.values()),
            "by_category": {k: {"recall": caught[k] / total[k], "n": total[k]}
                            for k in sorted(total)},
            "medical_kept": kept / max(1, medical)}


def covered(reference: str, heard: str, value: str, spans: list) -> bool:
    """Whether redaction covers what the recogniser wrote for `value`: every word of 3+
    characters of the transcript's words aligned with it (`eval.metrics.heard_span`) that
    the rest of the reference does not also say lies inside a PHI span. A value the
    recogniser dropped is covered (nothing of it is left to leak)."""
    from clinivox.eval.metrics import heard_span

    at = reference.find(value)
    span = heard_span(reference, heard, at, at + len(value)) if at >= 0 else None
    if span is None:
        return True
    rest = _pieces(reference.replace(value, " "))
    for m in re.finditer(r"[A-Za-z0-9]+", heard[span[0]:span[1]]):
        a, b = span[0] + m.start(), span[0] + m.end()
        if len(m.group(0)) < 3 or rest[m.group(0).lower()]:
            continue
        if not any(s.start <= a and b <= s.end for s in spans):
            return False
    return True


def phi_speech(which: str, n: int) -> dict:
    """The sentences spoken by the Piper voice and transcribed by tiny.en. A value counts
    as caught when redaction covers what the recogniser wrote for it, however it was
    misheard (`covered`: "Mary O'Connor" written "married Oconor" must be redacted as
    written) and no piece of it as said is left (`leaked`). `phi_recall_category` is the
    earlier, lenient count: caught when the transcript's PHI holds the value's category
    anywhere (an identifier: any identifier kind) and no piece is left, which a misheard
    second name of a sentence passed."""
    import numpy as np

    from clinivox import Recognizer
    from clinivox.privacy import find_phi, redact
    from clinivox.testing.synth import silence, synthesize

    rec = Recognizer("tiny.en", device="cpu", compute_type="int8")
    caught, total, by_cat = Counter(), Counter(), Counter()
    kept = medical = 0
    t0 = time.perf_counter()
    for text, values, meds in phi_rows(which)[:n]:
        audio = np.concatenate([silence(0.3), synthesize(text), silence(0.5)])
        heard = " ".join(s.text for s in rec.transcribe(audio)[0])
        spans = find_phi(heard)
        cats = {s.category for s in spans}
        redacted = redact(heard)[0]
        for cat, value in values:
            total[cat] += 1
            clean = not leaked(text, redacted, value)
            caught[cat] += clean and covered(text, heard, value, spans)
            by_cat[cat] += (cat in cats or (cat in IDS and bool(cats & IDS))) and clean
        out = redacted.lower()
        for m in meds:
            if m in heard.lower():  # a medical word the recogniser wrote stays
                medical += 1
                kept += m in out
    return {"sentences": sum(total.values()),
            "phi_recall": sum(caught.values()) / sum(total.values()),
            "phi_recall_category": sum(by_cat.values()) / sum(total.values()),
            "by_category": {k: {"recall": caught[k] / total[k], "n": total[k]}
                            for k in sorted(total)},
            "medical_kept": kept / max(1, medical), "seconds": time.perf_counter() - t0}


DATA = Path(os.environ.get("CLINIVOX_BENCH_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
_ORDER_WORDS = re.compile(r"^\s*(?:[^,.]*,\s*)?(?:give|start|get|prepare|call|apply|activate|"
                          r"begin|charge|draw up)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _lexicon_matcher():
    """The full lexicon's matcher, built once (the scribe's matcher before the NLU)."""
    from clinivox.medical.terms import TermMatcher
    from clinivox.medical.vocabulary import load_lexicon

    return TermMatcher(load_lexicon())


def _legacy_summary(segments: list, labels: list[int]) -> dict:
    """The scribe summary before the NLU (commit af715cb^), for the before/after table:
    every lexicon symptom or diagnosis the transcript names is a problem, every drug a
    medication; the plan is the plan chapter's planning sentences."""
    from clinivox.scribe.record import _PLAN_SENTENCE, CHAPTERS

    matcher = _lexicon_matcher()
    hits = [h for s in segments for h in matcher.find(s.text)]
    plan = [x.strip() for s, lab in zip(segments, labels, strict=True)
            if CHAPTERS[lab] == "plan" for x in re.split(r"(?<=[.?!])\s+", s.text)
            if _PLAN_SENTENCE.search(x) and len(x.split()) >= 3]
    return {"problems": sorted({h.entry.canonical.lower() for h in hits
                                if h.entry.category in ("symptom", "diagnosis")}),
            "medications": sorted({(h.entry.code or h.entry.canonical).lower() for h in hits
                                   if h.entry.category == "drug"}),
            "plan": plan}


def _nlu_summary(segments: list) -> dict:
    from clinivox.scribe.record import build_record

    summary = build_record(segments, {}, duration_s=0.0).summary
    return {"problems": sorted({p.lower() for p in summary["symptoms"] + summary["diagnoses"]}),
            "medications": summary["medications"], "plan": summary["plan"],
            "denied": summary["denied"]}


def _problem_names(text: str) -> set[str]:
    """The lexicon's names of the problems a text mentions (for the negated ER mentions)."""
    return {h.entry.canonical.lower() for h in _lexicon_matcher().find(text)
            if h.entry.category in ("symptom", "diagnosis")}


def scribe_before_after(limit: int | None = None) -> dict:
    """The scribe's summary before the NLU and now, on the dev consultation audio
    (tiny.en int8, no diarization), scored against the sets' own labels:
    - ER streams: the negated mentions (`negated_mention_no_alert`) a summary lists as a
      present problem, and the critical events said as orders ("give adrenaline now") that
      reach the plan;
    - medical_dictation, the utterances of each consultation joined: the summary's
      problems that the rows' reference `terms` support (precision), and the reference
      terms the problems cover (recall)."""
    from clinivox import Recognizer
    from clinivox.asr.types import Segment
    from clinivox.scribe.record import chapter_scores, segment_chapters

    rec = Recognizer("tiny.en", device="cpu", compute_type="int8")
    out: dict = {}
    t0 = time.perf_counter()

    def segs_of(path: Path, offset: float = 0.0, first_id: int = 0) -> list:
        got = list(rec.transcribe(str(path))[0])
        return [Segment(first_id + i, s.start_s + offset, s.end_s + offset, s.text.strip(),
                        words=s.words) for i, s in enumerate(got)]

    er = [json.loads(x) for x in (DATA / "er_alert_streams" / "manifest.jsonl").read_text()
          .splitlines()]
    counts = {k: Counter() for k in ("before", "after")}
    for row in er:
        segs = segs_of(DATA / "er_alert_streams" / row["audio"])
        labels = segment_chapters(chapter_scores([s.text for s in segs]))
        summaries = {"before": _legacy_summary(segs, labels), "after": _nlu_summary(segs)}
        for ev in row["events"]:
            for k, summ in summaries.items():
                if ev["category"] == "negated_mention_no_alert":
                    names = _problem_names(ev["text"])
                    counts[k]["negated"] += 1
                    counts[k]["negated_listed"] += bool(names & set(summ["problems"]))
                elif _ORDER_WORDS.search(ev["text"]):
                    words = set(re.findall(r"[a-z]+", ev["text"].lower()))
                    counts[k]["orders"] += 1
                    counts[k]["orders_in_plan"] += any(
                        len(words & set(re.findall(r"[a-z]+", p.lower()))) >= len(words) / 2
                        for p in summ["plan"])
    out["er_streams"] = {k: dict(v) for k, v in counts.items()}
    md = [json.loads(x) for x in (DATA / "medical_dictation" / "manifest.jsonl").read_text()
          .splitlines()]
    by_consultation: dict[str, list[dict]] = {}
    for row in md:
        key = " ".join(row.get("source", "").split()[:3])  # PriMock57 day3 consultation10
        by_consultation.setdefault(key, []).append(row)
    groups = list(by_consultation.values())[:limit]
    pr = {k: Counter() for k in ("before", "after")}
    for rows in groups:
        segs: list = []
        for row in rows:
            segs += segs_of(DATA / "medical_dictation" / row["audio"],
                            offset=(segs[-1].end_s + 1.0) if segs else 0.0,
                            first_id=len(segs))
        labels = segment_chapters(chapter_scores([s.text for s in segs]))
        ref_terms = {t.lower() for row in rows for t in row.get("terms", [])}
        for k, summ in (("before", _legacy_summary(segs, labels)),
                        ("after", _nlu_summary(segs))):
            for prob in summ["problems"]:
                pr[k]["listed"] += 1
                pr[k]["supported"] += any(t in prob or prob in t for t in ref_terms)
            pr[k]["reference_terms"] += len(ref_terms)
            pr[k]["covered"] += sum(any(t in p or p in t for p in summ["problems"])
                                    for t in ref_terms)
    out["medical_dictation"] = {
        k: {**dict(v), "precision": v["supported"] / max(1, v["listed"]),
            "recall": v["covered"] / max(1, v["reference_terms"])} for k, v in pr.items()}
    out["consultations"] = len(groups)
    out["seconds"] = time.perf_counter() - t0
    return out


def with_env(rows: list[tuple[str, list[dict]]], name: str, value: str) -> dict:
    """gold_metrics with environment variable `name` set to `value` for the run."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        return gold_metrics(rows)
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def halves_with_env(name: str, value: str) -> dict:
    """with_env on the PriMock57 test half, each of its batches and the validation half
    (an opt-in model turned on: what it adds is the difference from the default's)."""
    return {"test": with_env(gold_rows("primock", "test"), name, value),
            "test_by_batch": {b: with_env(gold_rows("primock", "test", b), name, value)
                              for b in TEST_BATCHES},
            "validation": with_env(gold_rows("primock", "validation"), name, value)}


def _beside(t: dict, by_batch: dict, v: dict, w: dict) -> list[tuple[str, dict, dict]]:
    """(set, default's metrics, with the model's) of the test half, its batches and the
    validation half, for a table of an opt-in model (`w`: halves_with_env's)."""
    return [("test half", t, w["test"]),
            *[(f"test batch {b}", by_batch[b], w["test_by_batch"][b]) for b in TEST_BATCHES],
            ("validation half (the model was trained on it)", v, w["validation"])]


def _gold_lines(title: str, g: dict) -> list[str]:
    lines = [title, "", "| label | gold | recall | precision | false positives |",
             "|---|---|---|---|---|"]
    for lab, m in g["by_label"].items():
        lines.append(f"| {lab} | {m['gold']} | {m['recall']:.3f} | {m['precision']:.3f} | "
                     f"{m['false_positives']} |")
    lines += ["", f"Assertion accuracy (problems, drugs, allergies): "
              f"**{g['assertion_accuracy']:.3f}**; " + ", ".join(
                  f"{c} {m['accuracy']:.2f} (n={m['n']})"
                  for c, m in g["assertion_by_class"].items())
              + f". Problems, drugs and allergies given a code: {g['coded']:.3f}."
              + (f" Not counted as false positives: {g['repeats']} repeats of an annotated "
                 "word in its sentence (the gold gives each text once)."
                 if g.get("repeats") else "")]
    if g["code_by_label"]:
        lines += ["", "| label | gold codes | exact | ICD-10-CM category (3 characters) |",
                  "|---|---|---|---|"]
        lines += [f"| {lab} | {m['n']} | {m['exact']:.3f} | {m['category']:.3f} |"
                  for lab, m in g["code_by_label"].items()]
    return [*lines, ""]


def _phi_line(name: str, r: dict) -> str:
    return (f"| {name} | {r['sentences']} | **{r['phi_recall']:.3f}** | "
            f"{r['medical_kept']:.3f} | " + ", ".join(
                f"{k} {m['recall']:.2f} ({m['n']})" for k, m in r["by_category"].items())
            + " |")


def main() -> None:
    from clinivox.eval.asr import machine_description

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--speech", type=int, default=80, help="spoken PHI sentences per set")
    p.add_argument("--consultations", type=int, default=None,
                   help="medical_dictation consultations for the scribe (default: all)")
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--medspacy", metavar="PYTHON", default=None,
                   help="an interpreter with medspaCy installed: compare its ConText rules")
    args = p.parse_args()
    results = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
               "gold_own": gold_metrics(gold_rows("own")),
               "gold_primock_test": gold_metrics(gold_rows("primock", "test")),
               "gold_primock_test_by_batch": {
                   b: gold_metrics(gold_rows("primock", "test", b)) for b in TEST_BATCHES},
               "gold_primock_validation": gold_metrics(gold_rows("primock", "validation")),
               "with_model": halves_with_env("CLINIVOX_NLU_ASSERTION", "model"),
               "with_span_model": halves_with_env("CLINIVOX_NLU_SPANS", "model"),
               "lexicon_alone": halves_with_env("CLINIVOX_NLU_SPANS", "lexicon"),
               "medspacy": medspacy_comparison(args.medspacy) if args.medspacy else None,
               "phi_text_unit": phi_text("unit"), "phi_text_v2": phi_text("v2-test"),
               "phi_speech_unit": phi_speech("unit", args.speech),
               "phi_speech_v2": phi_speech("v2-test", args.speech),
               "scribe": scribe_before_after(args.consultations)}
    r = results
    lines = [f"### Clinical NLU and PHI ({r['date']})", "",
             f"Machine: {r['machine']}. `python bench/bench_nlu.py`.", ""]
    t, v = r["gold_primock_test"], r["gold_primock_validation"]
    lines += _gold_lines(
        f"**PriMock57 gold set, test half** ({t['sentences']} sentences of real clinicians' "
        "notes and consultation transcripts in seven batches, each annotated by hand before "
        "the NLU was run on it; `bench/data/nlu_gold_primock.jsonl`, text read from "
        "../shared/data; docs/nlu.md). Small, one annotator. Every decision was made on "
        f"the other half ({v['sentences']} sentences, below).", t)
    by_batch = r["gold_primock_test_by_batch"]
    lines += ["Test half by batch (batch 1: drawn at random; batches 2 and 3: half drawn "
              "from sentences holding an assertion cue word, so harder on assertions; batches"
              " 7, 8 and 9: drawn like 2 and 3 from test consultations only, each annotated "
              "before the NLU ran on it, 7 and 9 before a round of changes made on the "
              "validation half, 8 after one; batch 22: drawn at random from test "
              "consultations after the ninth session's last change, scored once; "
              "docs/nlu.md):", "",
              "| batch | sentences | problem recall | problem precision | assertion accuracy "
              "(n) |", "|---|---|---|---|---|"]
    for b, g in by_batch.items():
        pr = g["by_label"].get("problem", {"recall": 0.0, "precision": 0.0})
        n = sum(m["n"] for m in g["assertion_by_class"].values())
        lines.append(f"| {b} | {g['sentences']} | {pr['recall']:.3f} | {pr['precision']:.3f}"
                     f" | {g['assertion_accuracy']:.3f} ({n}) |")
    lines.append("")
    wm = r["with_model"]
    lines += ["**Assertions: the ConText rules alone (the default), and with the learned "
              "model** (`CLINIVOX_NLU_ASSERTION=model`, opt-in: `nlu.assertion_model`, "
              "trained on the validation half's mentions; docs/nlu.md). Accuracy over the "
              "mentions each matched:", "",
              "| set | mentions | rules alone | rules + model | by class, rules / with model "
              "(n) |", "|---|---|---|---|---|"]
    for name, alone, both in _beside(t, by_batch, v, wm):
        n = sum(m["n"] for m in both["assertion_by_class"].values())
        lines.append(
            f"| {name} | {n} | {alone['assertion_accuracy']:.3f} | "
            f"{both['assertion_accuracy']:.3f} | " + ", ".join(
                f"{c} {alone['assertion_by_class'][c]['accuracy']:.2f} / "
                f"{m['accuracy']:.2f} ({m['n']})" for c, m in both["assertion_by_class"].items()
                if c in alone["assertion_by_class"]) + " |")
    ratio = wm["test"]["seconds"] / max(t["seconds"], 1e-9)
    lines += ["", f"Time to extract the test half's {t['sentences']} sentences (one at a "
              f"time): rules alone {t['seconds']:.1f} s, with the model "
              f"{wm['test']['seconds']:.1f} s ({ratio:.2f}x), the models loaded beforehand, "
              "their caches emptied before each run.", ""]
    ws, lx = r["with_span_model"], r["lexicon_alone"]
    lines += ["**Entities: the lexicon alone, with the checked learned spans (the default: "
              "`nlu.span_check`), and with the tagger's spans unchecked** "
              "(`CLINIVOX_NLU_SPANS=lexicon|checked|model`; the tagger and the check were "
              "trained on the validation half; docs/nlu.md). Problem recall / precision, "
              "and what each adds to the lexicon alone:", "",
              "| set | problems (gold) | lexicon alone | checked (default) | unchecked "
              "(opt-in) | added, checked: found / false | added, unchecked |",
              "|---|---|---|---|---|---|---|"]
    sets = [("test half", lx["test"], t, ws["test"]),
            *[(f"test batch {b}", lx["test_by_batch"][b], by_batch[b],
               ws["test_by_batch"][b]) for b in TEST_BATCHES],
            ("validation half (both were trained on it)", lx["validation"], v,
             ws["validation"])]
    for name, alone, checked, unchecked in sets:
        a = alone["by_label"].get("problem", {"recall": 0.0, "precision": 0.0, "gold": 0,
                                              "false_positives": 0})
        row = [f"| {name} | {a['gold']} | {a['recall']:.3f} / {a['precision']:.3f}"]
        added = []
        for g in (checked, unchecked):
            m = g["by_label"].get("problem", a)
            row.append(f"{m['recall']:.3f} / {m['precision']:.3f}")
            added.append(f"{round((m['recall'] - a['recall']) * a['gold'])} / "
                         f"{m['false_positives'] - a['false_positives']}")
        lines.append(" | ".join(row + added) + " |")
    lines += ["", f"Drug recall on the test half: {lx['test']['by_label']['drug']['recall']:.3f}"
              f" alone, {t['by_label']['drug']['recall']:.3f} checked, "
              f"{ws['test']['by_label']['drug']['recall']:.3f} unchecked (the learned spans "
              f"add problems only). Time for the {t['sentences']} sentences, one at a time: "
              f"{lx['test']['seconds']:.1f} s alone, {t['seconds']:.1f} s checked, "
              f"{ws['test']['seconds']:.1f} s unchecked, the models loaded beforehand, "
              "their caches emptied.", ""]
    lines += _gold_lines("Validation half (the decisions were made here, so optimistic):", v)
    if r["medspacy"]:
        lines += ["**medspaCy's shipped ConText rules** on the same gold mentions (the "
                  "span the NLU found given to medspaCy as its only entity; "
                  "`bench/compare_medspacy.py`):", "",
                  "| half | mentions | medspaCy 1.3 | clinivox | by class, medspaCy / "
                  "clinivox (n) |", "|---|---|---|---|---|"]
        for half, m in r["medspacy"].items():
            ms, cv = m["medspacy"], m["clinivox"]
            lines.append(
                f"| {half} | {m['mentions']} | {ms['accuracy']:.3f} | {cv['accuracy']:.3f} | "
                + ", ".join(f"{c} {ms['by_class'][c][0]:.2f} / {cv['by_class'][c][0]:.2f} "
                            f"({ms['by_class'][c][1]})" for c in ms["by_class"]) + " |")
        lines.append("")
    lines += _gold_lines("Own 40 sentences (`bench/data/nlu_gold.jsonl`, written by the "
                         "developer who wrote the rules: optimistic):", r["gold_own"])
    lines += ["**PHI** (a value is caught when redaction leaves no piece of it: no word or "
              "digit group of 3+ characters beyond what the rest of the sentence says; on "
              "speech, also only when redaction covers the words the recogniser wrote for "
              "it, however misheard: `eval.metrics.heard_span` aligns transcript and "
              "reference). Text, whole-value count (the lenient one of earlier runs): unit "
              f"set {r['phi_text_unit'].get('phi_recall_whole', float('nan')):.3f}, second "
              f"set {r['phi_text_v2'].get('phi_recall_whole', float('nan')):.3f}. Speech, "
              "the earlier count (caught when the transcript's PHI holds the value's "
              "category anywhere): unit set "
              f"{r['phi_speech_unit'].get('phi_recall_category', float('nan')):.3f}, second "
              f"set {r['phi_speech_v2'].get('phi_recall_category', float('nan')):.3f}.", "",
              "| set | sentences | recall | medical words kept | by category (n) |",
              "|---|---|---|---|---|",
              _phi_line("text, unit tests' set (8 templates; rules written against it)",
                        r["phi_text_unit"]),
              _phi_line("text, second set, test seed (18 templates)", r["phi_text_v2"]),
              _phi_line("speech (Piper, tiny.en), unit tests' set", r["phi_speech_unit"]),
              _phi_line("speech (Piper, tiny.en), second set, test seed",
                        r["phi_speech_v2"]), ""]
    sc = r["scribe"]
    er_b, er_a = sc["er_streams"]["before"], sc["er_streams"]["after"]
    md_b, md_a = sc["medical_dictation"]["before"], sc["medical_dictation"]["after"]
    lines += [f"**Scribe summary before the NLU (lexicon matches, no assertions) and now**, "
              f"tiny.en on the dev audio (4 ER streams; {sc['consultations']} "
              "medical_dictation consultations, their utterances joined), scored against "
              "the sets' own labels:", "",
              "| measure | before | now |", "|---|---|---|",
              f"| ER: negated mentions listed as present problems | "
              f"{er_b.get('negated_listed', 0)} of {er_b.get('negated', 0)} | "
              f"{er_a.get('negated_listed', 0)} of {er_a.get('negated', 0)} |",
              f"| ER: orders in the events that reach the plan | "
              f"{er_b.get('orders_in_plan', 0)} of {er_b.get('orders', 0)} | "
              f"{er_a.get('orders_in_plan', 0)} of {er_a.get('orders', 0)} |",
              f"| medical_dictation: listed problems supported by the reference terms "
              f"(precision) | {md_b['precision']:.3f} ({md_b.get('listed', 0)}) | "
              f"{md_a['precision']:.3f} ({md_a.get('listed', 0)}) |",
              f"| medical_dictation: reference terms covered by the problems (recall) | "
              f"{md_b['recall']:.3f} | {md_a['recall']:.3f} |", ""]
    print("\n".join(lines))
    if not args.no_doc:
        publish("nlu", results, "nlu-cpu", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
