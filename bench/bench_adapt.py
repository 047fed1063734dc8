"""Clinical adaptation benchmark (#25): the clinical tiny.en against the bundled tiny.en with
and without `--medical`, and plain faster-whisper, in one run.

Since the general fallback (docs/models.md), `clinical --medical` is what `--medical` runs
(a chunk the clinical model wrote as plain English is decoded again by the bundled model);
`clinical --medical, no fallback` is the layer without it.

Sets: your held-out-voice validation split (`--validation`, built by `clinivox data synth`:
voices, drug and diagnosis names and consultations training never saw), then, reported
once, drug_dictation, medical_dictation and en_read_speech from ../shared/data, and the ER
streams for inserted terms. Reported per set and system: WER, term recall, drug recall,
inserted lexicon terms per 1,000 words, decode time. Then a 40-term vocabulary on the
validation split: the clinical model with the terms in its prompt (`Terms: ...`, as it
was trained), without, and faster-whisper `hotwords`.

    .venv/bin/python bench/bench_adapt.py --validation RUN/val.jsonl [--clinical DIR]

Systems run interleaved row by row, so a machine that speeds up or slows down moves all of
them alike. Writes bench/results/adapt_cpu.json and the `adapt-cpu` section of
docs/benchmarks.md; hypotheses per row go to bench/results/adapt_cpu_rows.jsonl (not
committed: dev-set transcripts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_transcribe import DATA, RESULTS, publish

REPORTED = ("drug_dictation", "medical_dictation", "en_read_speech")
ROWS: list[dict] = []


def transcriber(rec, biaser=None):
    """row -> (hypothesis, audio seconds) with `rec` (and `biaser`), for `evaluate`."""
    def fn(row):
        segs, info = rec.transcribe(row.audio, biaser=biaser)
        return " ".join(s.text for s in segs), info.duration_s
    return fn


def systems(clinical_dir: str):
    from dataclasses import replace

    from clinivox.asr.recognizer import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.eval.baseline import PlainFasterWhisper

    bundled = Recognizer("tiny.en")
    clinical = Recognizer(clinical_dir)
    b_bias = load_biaser(bundled.engine)
    c_bias = load_biaser(clinical.engine)
    # the medical layer without the general fallback (the clinical profile turns it on):
    # what `--medical` ran before it, measured in the same run
    c_nofb = c_bias.with_profile(replace(c_bias.profile, general_fallback=False))
    plain = PlainFasterWhisper("tiny.en")

    def fw(row):
        from clinivox.audio.decode import load_audio

        return plain.transcribe_text(load_audio(row.audio)), row.duration_s or 0.0

    return {
        "tiny.en": transcriber(bundled, None),
        "tiny.en --medical": transcriber(bundled, b_bias),
        "faster-whisper": fw,
        "clinical": transcriber(clinical, None),
        "clinical --medical": transcriber(clinical, c_bias),
        "clinical --medical, no fallback": transcriber(clinical, c_nofb),
    }, b_bias.matcher, (bundled, clinical, plain)


def drug_recall(rows, reports, manifest: Path) -> float:
    from clinivox.eval.metrics import term_recall

    drugs = {}
    for line in manifest.read_text().splitlines():
        obj = json.loads(line)
        drugs[obj["audio"]] = obj.get("drugs") or []
    found = total = 0
    for row, u in zip(rows, reports, strict=True):
        rel = str(Path(row.audio).relative_to(manifest.parent))
        f, t = term_recall(drugs.get(rel, []), u.hypothesis)
        found, total = found + f, total + t
    return found / total if total else float("nan")


def run_set(name: str, manifest: Path, fns: dict, matcher, limit: int | None) -> dict:
    from clinivox.eval.asr import SystemReport, evaluate, manifest_rows

    rows = manifest_rows(manifest)[:limit]
    labels = list(fns)
    reports = {label: SystemReport(label) for label in labels}
    print(f"  {name}: {len(rows)} rows x {len(labels)} systems", file=sys.stderr)
    for i, row in enumerate(rows):
        k = i % len(labels)
        for label in labels[k:] + labels[:k]:
            reports[label].utterances += evaluate([row], label, fns[label],
                                                  term_matcher=matcher).utterances
    out = {}
    for label, rep in reports.items():
        out[label] = rep.totals()
        if any("drugs" in json.loads(x) for x in manifest.read_text().splitlines()[:3]):
            out[label]["drug_recall"] = drug_recall(rows, rep.utterances, manifest)
        ROWS.extend({"set": name, "system": label, "audio": Path(r.audio).name,
                     "hypothesis": u.hypothesis} for r, u in zip(rows, rep.utterances,
                                                                 strict=True))
    return out


def er_insertions(fns: dict, matcher) -> dict:
    """ER streams have no full reference: lexicon terms a system writes that neither the
    plain bundled model's transcript nor the critical phrases contain, per 1k words (an
    upper bound of insertions: some may be corrections)."""
    from collections import Counter

    from clinivox.io.manifest import ManifestRow

    path = DATA / "er_alert_streams" / "manifest.jsonl"
    meta = [json.loads(x) for x in path.read_text().splitlines()]
    out: dict[str, dict] = {}
    hyps: dict[str, list[str]] = {label: [] for label in fns}
    for k, m in enumerate(meta):
        row = ManifestRow(line=k + 1, audio=path.parent / m["audio"], text="", language="en",
                          terms=(), duration_s=m["duration"])
        for label, fn in fns.items():
            hyps[label].append(fn(row)[0])
    for label in fns:
        new = words = 0
        for k, m in enumerate(meta):
            allowed = Counter(h.entry.canonical.lower() for h in matcher.find(
                hyps["tiny.en"][k] + " " + " ".join(e["text"] for e in m["events"])))
            got = Counter(h.entry.canonical.lower() for h in matcher.find(hyps[label][k]))
            new += sum((got - allowed).values())
            words += len(hyps[label][k].split())
        out[label] = {"new_terms": new, "words": words,
                      "new_terms_per_1k_words": 1000 * new / max(words, 1)}
    return out


def vocab_prompt(recs, manifest: Path, limit: int | None) -> dict:
    """40 drug names of the validation split: in the clinical model's prompt or not, and
    faster-whisper hotwords, on the rows that use only them."""
    from clinivox.asr.types import TranscribeOptions
    from clinivox.audio.decode import load_audio
    from clinivox.eval.metrics import error_counts, term_recall
    from clinivox.train.finetune.data import format_prompt

    bundled, clinical, plain = recs
    rows = [json.loads(x) for x in manifest.read_text().splitlines()][:limit]
    vocab: list[str] = []
    chosen = []
    for r in rows:
        new = [d for d in r.get("drugs", []) if d not in vocab]
        if not r.get("drugs") or len(vocab) + len(new) > 40:
            continue
        vocab += new
        chosen.append(r)
    prompt = format_prompt(vocab)
    res = {}
    for label in ("clinical + prompt", "clinical", "tiny.en + prompt",
                  "faster-whisper hotwords", "faster-whisper"):
        found = total = errors = words = 0
        t0 = time.perf_counter()
        for r in chosen:
            audio = load_audio(manifest.parent / r["audio"])
            if label.startswith(("clinical", "tiny.en")):
                rec = clinical if label.startswith("clinical") else bundled
                opts = TranscribeOptions(initial_prompt=prompt) if "prompt" in label \
                    else TranscribeOptions()
                hyp = " ".join(s.text for s in rec.transcribe(audio, opts)[0])
            else:
                kw = {"hotwords": " ".join(vocab)} if "hotwords" in label else {}
                segs, _ = plain.model.transcribe(audio, beam_size=5, **kw)
                hyp = " ".join(s.text.strip() for s in segs)
            f, t = term_recall(r["drugs"], hyp)
            found, total = found + f, total + t
            c = error_counts(r["text"], hyp)
            errors, words = errors + c.errors, words + c.reference_length
        res[label] = {"drug_recall": found / max(total, 1), "wer": errors / max(words, 1),
                      "seconds": round(time.perf_counter() - t0, 2)}
    return {"terms": len(vocab), "rows": len(chosen), "systems": res}


def render(r: dict) -> str:
    lines = [f"Machine: {r['machine']}; int8 on CPU; clinical model: {r['clinical']}; "
             f"{r['date']}. Validation split: {r['validation']} (voices, consultations and "
             "noise files held out of training; names too if built with --name-share > 0). "
             "Dev sets reported once.", "",
             "| set | system | WER | term recall | drug recall | inserted terms / 1k words | "
             "decode s |", "|---|---|---|---|---|---|---|"]
    for name, systems_ in r["sets"].items():
        for label, t in systems_.items():
            dr, ins, rec = t.get("drug_recall"), t.get("inserted_terms_per_1k_words"), \
                t.get("term_recall")
            lines.append(f"| {name} | {label} | {100 * t['wer']:.2f}% | "
                         f"{'-' if rec is None else f'{rec:.3f}'} | "
                         f"{'-' if dr is None or dr != dr else f'{dr:.3f}'} | "
                         f"{'-' if ins is None else f'{ins:.2f}'} | {t['decode_s']:.1f} |")
    lines.append("")
    for name, s in r["sets"].items():
        ratio = s["clinical"]["decode_s"] / s["tiny.en"]["decode_s"]
        ratio_m = s["clinical --medical"]["decode_s"] / s["tiny.en --medical"]["decode_s"]
        nofb = s.get("clinical --medical, no fallback")
        base_m = s["tiny.en --medical"]["decode_s"]
        extra = "" if nofb is None else \
            f"; without the general fallback {nofb['decode_s'] / base_m:.2f}"
        lines.append(f"- {name}: decode time clinical / bundled = **{ratio:.2f}** plain, "
                     f"**{ratio_m:.2f}** with `--medical` (target <= 1.1){extra}.")
    if r.get("er"):
        lines += ["", "ER streams (no full reference): lexicon terms a system writes that "
                  "neither the plain bundled transcript nor the critical phrases contain:", "",
                  "| system | new terms | words | per 1k words |", "|---|---|---|---|"]
        for label, v in r["er"].items():
            lines.append(f"| {label} | {v['new_terms']} | {v['words']} | "
                         f"{v['new_terms_per_1k_words']:.2f} |")
    v = r.get("vocab")
    if v:
        lines += ["", f"40-term vocabulary on the validation split ({v['terms']} drug names, "
                  f"{v['rows']} rows that use only them):", "",
                  "| system | drug recall | WER | seconds |", "|---|---|---|---|"]
        for label, x in v["systems"].items():
            lines.append(f"| {label} | {x['drug_recall']:.3f} | {100 * x['wer']:.2f}% | "
                         f"{x['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from clinivox.eval.asr import machine_description

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--validation", type=Path, required=True)
    p.add_argument("--clinical", default=None,
                   help="clinical model directory (default: the bundled clinical tiny.en)")
    p.add_argument("--limit", type=int, default=None, help="rows per set (quick runs)")
    p.add_argument("--validation-only", action="store_true",
                   help="the validation split alone (for decisions; no dev sets)")
    ns = p.parse_args()
    if ns.clinical is None:
        from clinivox.asr.clinical import clinical_model

        ns.clinical = str(clinical_model("tiny.en"))
    fns, matcher, recs = systems(ns.clinical)
    results: dict = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
                     "clinical": ns.clinical, "validation": str(ns.validation), "sets": {}}
    results["sets"]["validation (held-out voices)"] = run_set(
        "validation", ns.validation, fns, matcher, ns.limit)
    results["vocab"] = vocab_prompt(recs, ns.validation, ns.limit)
    if not ns.validation_only:
        for name in REPORTED:
            results["sets"][name] = run_set(name, DATA / name / "manifest.jsonl", fns,
                                            matcher, ns.limit)
        results["er"] = er_insertions(fns, matcher)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "adapt_cpu_validation" if ns.validation_only else "adapt_cpu"
    (RESULTS / f"{name}_rows.jsonl").write_text("".join(json.dumps(x) + "\n" for x in ROWS))
    text = render(results)
    print(text)
    if ns.validation_only:
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    else:
        publish(name, results, "adapt-cpu", text)


if __name__ == "__main__":
    main()
