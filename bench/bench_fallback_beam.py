"""The general fallback's beam (#25, docs/models.md "A cheaper second search"), in one run.

`--medical` with the clinical tiny.en decodes a chunk it wrote as plain English again with
the bundled model (`BiasProfile.general_fallback`); that second search is what makes the
clinical build slower than the bundled model on everyday speech. This measures the
profile's `fallback_beam` (0: the caller's beam, 5 here; 2; 1, greedy) against the bundled
tiny.en with `--medical`, on the speech the fallback exists for: the 13 recordings of
../shared/data/diarization (real conversation, not a reported set), int8, beam 5.

- time: each system's decode time over the 13 recordings, after one untimed warm-up
  recording each, systems interleaved recording by recording, `--passes` passes (3),
  relative to the bundled model's in the same pass (the median over passes);
- distance: word error rate against the bundled Whisper base's transcripts of the same
  recordings (beam 5, made in this run), about 600 words: how far a system drifts from
  Whisper on real speech, errors of base included;
- word errors on the 3 recordings that have a human transcript (about 120 words).

    CLINIVOX_BENCH_DATA=../shared/data python bench/bench_fallback_beam.py [--passes 3]

Writes bench/results/fallback_beam.json, docs/bench/fallback_beam.json and the
`fallback-beam-cpu` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transcribe import DATA, publish

BEAMS = (0, 2, 1)  # the fallback's beam: the caller's (5), 2, greedy


def main() -> None:
    from clinivox.asr.clinical import clinical_model
    from clinivox.asr.recognizer import Recognizer
    from clinivox.biasing import load_biaser
    from clinivox.eval.asr import machine_description
    from clinivox.eval.metrics import ErrorCounts, error_counts
    from clinivox.io.manifest import read_manifest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    rows = list(read_manifest(DATA / "diarization" / "manifest.jsonl", require_text=False))
    print(f"{len(rows)} recordings; Whisper base's transcripts as pseudo-references",
          flush=True)
    base = Recognizer("base", compute_type="int8")
    pseudo = [" ".join(s.text for s in base.transcribe(r.audio)[0]) for r in rows]
    del base
    bundled = Recognizer("tiny.en", compute_type="int8")
    clinical = Recognizer(str(clinical_model("tiny.en")), compute_type="int8")
    b_bias = load_biaser(bundled.engine)
    c_bias = load_biaser(clinical.engine)
    systems = {"bundled tiny.en --medical": (bundled, b_bias)}
    for beam in BEAMS:
        name = f"clinical --medical, fallback beam {beam or 'as asked (5)'}"
        systems[name] = (clinical, c_bias.with_profile(replace(c_bias.profile,
                                                               fallback_beam=beam)))
    # warm-up, untimed: lazy tables, the LM and the clinical build load on first use, and
    # the first system of a timed pass would pay for them
    for rec, biaser in systems.values():
        rec.transcribe(rows[0].audio, biaser=biaser)
    seconds = {name: [0.0] * args.passes for name in systems}
    texts: dict[str, list[str]] = {name: [] for name in systems}
    for p in range(args.passes):
        for i, row in enumerate(rows):
            for name, (rec, biaser) in systems.items():
                t0 = time.perf_counter()
                segs, _ = rec.transcribe(row.audio, biaser=biaser)
                text = " ".join(s.text for s in segs)
                seconds[name][p] += time.perf_counter() - t0
                if p == 0:
                    texts[name].append(text)
            print(f"pass {p + 1}/{args.passes}: recording {i + 1}/{len(rows)}", flush=True)
    ref = "bundled tiny.en --medical"
    out: dict = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
                 "recordings": len(rows), "passes": args.passes, "systems": {}}
    for name in systems:
        none = ErrorCounts(0, 0, 0, 0)
        dist = sum((error_counts(b, h) for b, h in zip(pseudo, texts[name], strict=True)),
                   start=none)
        real = sum((error_counts(r.text, h) for r, h in zip(rows, texts[name], strict=True)
                    if r.text), start=none)
        ratio = statistics.median(s / r for s, r in zip(seconds[name], seconds[ref],
                                                        strict=True))
        out["systems"][name] = {
            "seconds": [round(s, 1) for s in seconds[name]], "time_ratio": round(ratio, 3),
            "distance_from_base": round(dist.rate, 4), "base_words": dist.reference_length,
            "word_errors": real.errors,
            "reference_words": real.reference_length}
    lines = [f"### The general fallback's beam ({out['date']})", "",
             f"Machine: {out['machine']}. `python bench/bench_fallback_beam.py`: the 13 "
             "diarization recordings (real conversation), int8, beam 5, a warm-up recording "
             f"each, then systems interleaved recording by recording, {args.passes} passes; "
             "time relative to the bundled model with `--medical` (median over passes); "
             "distance: WER against Whisper base's transcripts; word errors on the 3 "
             "recordings with a human transcript.",
             "", "| system | time | seconds per pass | distance from base | word errors |",
             "|---|---|---|---|---|"]
    for name, r in out["systems"].items():
        lines.append(f"| {name} | {r['time_ratio']:.2f} | "
                     f"{' / '.join(f'{s:.0f}' for s in r['seconds'])} | "
                     f"{100 * r['distance_from_base']:.1f}% of {r['base_words']} | "
                     f"{r['word_errors']} of {r['reference_words']} |")
    lines.append("")
    publish("fallback_beam", out, "fallback-beam-cpu", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
