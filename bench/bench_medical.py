"""Medical vocabulary benchmark (issue 3), on ../shared/data.

For drug_dictation, medical_dictation and en_read_speech, in one run each: clinivox with
`--medical` (full lexicon, domain LM, tuned profile, the acoustic screen on), the same with
`--bias-profile fast` (no screen) and with `--bias-profile primed` (the LM's domain prompt),
the same clinivox pipeline without any, and plain faster-whisper (beam 5), interleaved row
by row. Reported: WER, term recall, term
precision (lexicon terms the reference does not have, per 1,000 reference words) and
decoding time.

Then a 40-term user vocabulary: 40 drug names from drug_dictation, the rows that use only
those drugs, clinivox `--vocab` (user terms only) vs faster-whisper `hotwords` with the same
40 terms.

    .venv/bin/clinivox lm build --corpus ../shared/data/primock57_text \
        --exclude-manifest ../shared/data/medical_dictation/manifest.jsonl \
        --exclude-manifest ../shared/data/drug_dictation/manifest.jsonl
    .venv/bin/python bench/bench_medical.py

Writes bench/results/medical_cpu.json (copied to docs/bench/), each system's hypothesis per
row to bench/results/medical_cpu_rows.jsonl (not copied: dev-set transcripts), and the
`medical-cpu` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_transcribe import DATA, RESULTS, publish

SETS = ("drug_dictation", "medical_dictation", "en_read_speech")
FAST = "clinivox --medical --bias-profile fast"
PRIMED = "clinivox --medical --bias-profile primed"
# Every system's hypothesis per row, kept beside the totals (bench/results, not committed:
# dev-set transcripts), so that two runs, on two machines say, can be compared row by row.
ROWS: list[dict] = []


def run_set(name: str, rec, biaser, fast, primed, plain, limit: int | None) -> dict:
    from clinivox.audio.decode import load_audio
    from clinivox.eval.asr import SystemReport, evaluate, manifest_rows

    rows = manifest_rows(DATA / name / "manifest.jsonl")[:limit]

    def ours(row, with_biaser=None):
        segments, info = rec.transcribe(row.audio, biaser=with_biaser)
        return " ".join(s.text for s in segments), info.duration_s

    def medical(row):
        return ours(row, biaser)

    def medical_fast(row):
        return ours(row, fast)

    def medical_primed(row):
        return ours(row, primed)

    def baseline(row):
        return plain.transcribe_text(load_audio(row.audio)), row.duration_s or 0.0

    # The systems run interleaved, row by row in rotating order: a machine that speeds up or
    # slows down during the run (this shared one does, by 20% between runs) then moves all
    # of them alike, and the time ratio compares the same rows under the same conditions.
    systems = [("clinivox --medical", medical), ("clinivox", ours), ("faster-whisper", baseline),
               (FAST, medical_fast), (PRIMED, medical_primed)]
    reports = {label: SystemReport(label) for label, _ in systems}
    print(f"  {name}: {len(rows)} rows x {len(systems)} systems", file=sys.stderr)
    for i, row in enumerate(rows):
        k = i % len(systems)
        for label, fn in systems[k:] + systems[:k]:
            one = evaluate([row], label, fn, term_matcher=biaser.matcher)
            reports[label].utterances.extend(one.utterances)
    out = {}
    for label, rep in reports.items():
        ROWS.extend({"set": name, "system": label, "audio": row.audio.name,
                     "hypothesis": u.hypothesis, "decode_s": round(u.decode_s, 3)}
                    for row, u in zip(rows, rep.utterances, strict=True))
        out[label] = rep.totals()
        if name == "drug_dictation":
            out[label]["drug_recall"] = _drug_recall(rows, rep)
    return out


def _drug_recall(rows, rep) -> float:
    from clinivox.eval.metrics import term_recall

    found = total = 0
    manifest = {}
    for line in (DATA / "drug_dictation" / "manifest.jsonl").read_text().splitlines():
        obj = json.loads(line)
        manifest[obj["audio"]] = obj.get("drugs") or []
    for row, u in zip(rows, rep.utterances, strict=True):
        drugs = manifest.get(str(row.audio.relative_to(DATA / "drug_dictation")), [])
        f, t = term_recall(drugs, u.hypothesis)
        found, total = found + f, total + t
    return found / total if total else 0.0


def hotwords_comparison(rec, plain) -> dict:
    """40 drug names as a user vocabulary: clinivox --vocab vs faster-whisper hotwords."""
    from clinivox.audio.decode import load_audio
    from clinivox.biasing import load_biaser
    from clinivox.eval.metrics import error_counts, term_recall

    rows = [json.loads(x) for x in (DATA / "drug_dictation" / "manifest.jsonl").read_text()
            .splitlines()]
    vocab: list[str] = []
    chosen = []
    for r in rows:
        new = [d for d in r["drugs"] if d not in vocab]
        if len(vocab) + len(new) > 40:
            continue
        vocab += new
        chosen.append(r)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.txt"
        path.write_text("\n".join(vocab) + "\n")
        user = load_biaser(rec.engine, vocab_files=[path], user_only=True)
    hot = " ".join(vocab)
    res: dict[str, dict] = {}
    for label in ("clinivox --vocab", "clinivox", "faster-whisper hotwords", "faster-whisper"):
        found = total = errors = words = 0
        t0 = time.perf_counter()
        for r in chosen:
            audio = load_audio(DATA / "drug_dictation" / r["audio"])
            if label.startswith("clinivox"):
                segs, _ = rec.transcribe(audio, biaser=user if label == "clinivox --vocab"
                                         else None)
                hyp = " ".join(s.text for s in segs)
            else:
                kw = {"hotwords": hot} if label.endswith("hotwords") else {}
                segs, _ = plain.model.transcribe(audio, beam_size=5, **kw)
                hyp = " ".join(s.text.strip() for s in segs)
            f, t = term_recall(r["drugs"], hyp)
            found, total = found + f, total + t
            c = error_counts(r["text"], hyp)
            errors += c.substitutions + c.deletions + c.insertions
            words += c.reference_length
        res[label] = {"drug_recall": found / max(total, 1), "wer": errors / max(words, 1),
                      "seconds": round(time.perf_counter() - t0, 2)}
    return {"terms": len(vocab), "rows": len(chosen), "hotwords_tokens":
            len(rec.engine.hf_tokenizer.encode(" " + hot).ids), "systems": res}


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")


def render(r: dict) -> str:
    lines = [f"Machine: {r['machine']}; {r['model']} int8 on CPU; lexicon {r['lexicon_size']} "
             f"entries ({r['index_size']} forms indexed for biasing); LM: {r['lm']}; "
             f"profile: {r['profile']}; rescoring: {r.get('rescoring', 'CTranslate2 align')}; "
             f"{r['date']}.", "",
             f"Domain prompt (`primed`): {r.get('domain_prompt') or 'none (no lm.prompt.txt)'}",
             "",
             "| set | system | WER | term recall | drug recall | inserted lexicon terms / 1k "
             "words | term precision | decode s |", "|---|---|---|---|---|---|---|---|"]
    for name in SETS:
        for label, t in r["sets"].get(name, {}).items():
            dr = t.get("drug_recall")
            ins = t.get("inserted_terms_per_1k_words")
            tp = t.get("term_precision")
            rec = t.get("term_recall")
            lines.append(
                f"| {name} | {label} | {100 * t['wer']:.2f}% | "
                f"{'-' if rec is None else f'{rec:.3f}'} | "
                f"{'-' if dr is None else f'{dr:.3f}'} | "
                f"{'-' if ins is None else f'{ins:.2f}'} | "
                f"{'-' if tp is None else f'{tp:.3f}'} | {t['decode_s']:.1f} |")
    lines.append("")
    for name in SETS:
        s = r["sets"].get(name)
        if s:
            ratio = s["clinivox --medical"]["decode_s"] / s["clinivox"]["decode_s"]
            lines.append(f"- {name}: decoding time with `--medical` / without = "
                         f"**{ratio:.2f}** (target <= 1.5).")
            fast = s.get(FAST)
            if fast:
                lines.append(f"  With `--bias-profile fast` (no acoustic screen): "
                             f"{fast['decode_s'] / s['clinivox']['decode_s']:.2f}.")
            primed = s.get(PRIMED)
            if primed:
                lines.append(f"  With `--bias-profile primed` (domain prompt): "
                             f"{primed['decode_s'] / s['clinivox']['decode_s']:.2f}.")
    h = r["hotwords"]
    lines += ["", f"40-term user vocabulary ({h['terms']} drug names, {h['rows']} drug_dictation "
              f"rows that use only them; the hotwords prompt is {h['hotwords_tokens']} tokens):",
              "", "| system | drug recall | WER | seconds |", "|---|---|---|---|"]
    for label, v in h["systems"].items():
        lines.append(f"| {label} | {v['drug_recall']:.3f} | {100 * v['wer']:.2f}% | "
                     f"{v['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--sets", default=",".join(SETS))
    ns = p.parse_args()
    from clinivox import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.biasing.profile import default_profile_path
    from clinivox.eval.asr import machine_description
    from clinivox.eval.baseline import PlainFasterWhisper
    from clinivox.medical.vocabulary import default_lm_path

    rec = Recognizer(ns.model, device="cpu", compute_type="int8")
    plain = PlainFasterWhisper(ns.model, device="cpu", compute_type="int8")
    biaser = load_biaser(rec.engine)
    fast = load_biaser(rec.engine, profile="fast")
    primed = load_biaser(rec.engine, profile="primed")
    r = {"machine": machine_description(), "model": ns.model, "date": time.strftime("%Y-%m-%d"),
         "lexicon_size": len(biaser.lexicon), "index_size": len(biaser.index),
         "lm": str(default_lm_path()) if biaser.lm is not None else "none",
         "profile": "cache" if default_profile_path().is_file() else "built-in (tuned)",
         "weights": biaser.profile.__dict__, "fast_weights": fast.profile.__dict__,
         "domain_prompt": primed.prompt,
         "rescoring": "numpy decoder (whisper_ct2.scorer)" if rec.engine.scorer() is not None
         else "CTranslate2 align",
         "sets": {}}
    for name in ns.sets.split(","):
        r["sets"][name] = run_set(name, rec, biaser, fast, primed, plain, ns.limit)
    print("hotwords ...", file=sys.stderr)
    r["hotwords"] = hotwords_comparison(rec, plain)
    section = render(r)
    write_rows(RESULTS / "medical_cpu_rows.jsonl", ROWS)
    publish("medical_cpu", r, "medical-cpu", section)
    print(section)


if __name__ == "__main__":
    main()
