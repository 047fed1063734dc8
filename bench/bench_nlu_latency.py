"""What the NLU's learned models cost a live stream.

    CLINIVOX_BENCH_DATA=../shared/data python bench/bench_nlu_latency.py

A stream's alert monitor reads every partial hypothesis (`AlertMonitor.detect`), and the
scribe reads every final (`extract`). This replays medical_dictation's 150 reference
utterances as a recogniser would emit them: a partial every 0.5 s of audio (the words said
so far, in proportion to the time) and the final, one stream after another, and times each
call under five settings, each in the same run: the rules and the lexicon alone
(CLINIVOX_NLU_SPANS=lexicon, the default until the thirteenth session), the default (the
checked learned spans), with the learned assertion model (CLINIVOX_NLU_ASSERTION=model),
with the unchecked span model (CLINIVOX_NLU_SPANS=model), and with both. The monitor reads
coded problems only and never asks for the learned spans (never coded), so they cost the
finals (`extract`), not the partials. Each setting is warmed up on ten
utterances (lazy tables and models loaded), then every cache keyed by text is emptied.
Text only: no audio is decoded, so the figures are the NLU's own cost, on top of the
recogniser's.

Writes bench/results/nlu_latency_cpu.json, docs/nlu_latency_cpu.png and the `nlu-latency-cpu`
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transcribe import DATA, RESULTS, ROOT, read_manifest, update_doc

PARTIAL_S = 0.5
BASE = "rules, lexicon alone"
SETTINGS = {
    BASE: {"CLINIVOX_NLU_SPANS": "lexicon"},
    "default (checked learned spans)": {},
    "+ assertion model": {"CLINIVOX_NLU_ASSERTION": "model"},
    "unchecked span model": {"CLINIVOX_NLU_SPANS": "model"},
    "assertion model + unchecked spans": {"CLINIVOX_NLU_ASSERTION": "model",
                                          "CLINIVOX_NLU_SPANS": "model"},
}
VARS = ("CLINIVOX_NLU_ASSERTION", "CLINIVOX_NLU_SPANS")


def partials(text: str, duration_s: float) -> list[str]:
    """The partial hypotheses of an utterance: the words said by each PARTIAL_S of audio."""
    words = text.split()
    steps = max(1, int(duration_s / PARTIAL_S))
    out = []
    for k in range(1, steps):
        n = round(len(words) * k / steps)
        if n and (not out or out[-1] != " ".join(words[:n])):
            out.append(" ".join(words[:n]))
    return out


def clear_text_caches() -> None:
    """Empty every cache keyed by text, so that no setting reads what an earlier one
    computed: the learned models', the sentence encoder's (the monitor's semantic layer and
    the span check's) and the ConText preparation's. The models of the current settings
    are loaded here if they were not."""
    from clinivox.nlp.embeddings import default_encoder
    from clinivox.nlu import assertion_model, span_model
    from clinivox.nlu.codes import default_code
    from clinivox.nlu.context import _prepared

    for mod in (assertion_model, span_model):
        m = mod.default_model()
        if m is not None:
            m._cache.clear()
    default_encoder()._cache.clear()
    _prepared.cache_clear()
    default_code.cache_clear()


def run_setting(rows: list[dict]) -> dict:
    from clinivox.alerts.monitor import AlertMonitor
    from clinivox.nlu import extract

    monitor = AlertMonitor()
    for r in rows[:10]:  # lazy tables and models loaded before the clock
        monitor.detect(r["text"])
        extract(r["text"])
    clear_text_caches()
    part_ms, final_ms = [], []
    for r in rows:
        for p in partials(r["text"], r["duration"]):
            t0 = time.perf_counter()
            monitor.detect(p)
            part_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        monitor.detect(r["text"])
        extract(r["text"])
        final_ms.append((time.perf_counter() - t0) * 1000)

    def dist(v: list[float]) -> dict:
        a = np.array(v)
        return {"n": len(v), "p50_ms": round(float(np.percentile(a, 50)), 2),
                "p95_ms": round(float(np.percentile(a, 95)), 2),
                "max_ms": round(float(a.max()), 2), "mean_ms": round(float(a.mean()), 2)}

    return {"partial": dist(part_ms), "final": dist(final_ms), "partial_ms": part_ms}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, r in results.items():
        v = np.sort(r["partial_ms"])
        ax.plot(v, np.arange(1, len(v) + 1) / len(v), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("AlertMonitor.detect per partial (ms, log scale)")
    ax.set_ylabel("fraction of partials")
    ax.set_title("NLU cost per partial hypothesis, medical_dictation replayed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from clinivox.eval.asr import machine_description

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="utterances (default: all)")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    rows = [{"text": r["text"], "duration": float(r["duration"])}
            for r in read_manifest(DATA / "medical_dictation" / "manifest.jsonl")]
    rows = rows[:args.limit] if args.limit else rows
    saved = {v: os.environ.get(v) for v in VARS}
    results = {}
    try:
        for name, env in SETTINGS.items():
            for v in VARS:
                os.environ.pop(v, None)
            os.environ.update(env)
            results[name] = run_setting(rows)
            print(f"{name}: {json.dumps({k: results[name][k] for k in ('partial', 'final')})}",
                  flush=True)
    finally:
        for v, val in saved.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val
    base = results[BASE]
    out = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
           "utterances": len(rows), "partial_every_s": PARTIAL_S,
           "settings": {k: {"partial": r["partial"], "final": r["final"]}
                        for k, r in results.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu_latency_cpu.json").write_text(json.dumps(out, indent=1) + "\n")
    if args.no_doc:
        return
    png = ROOT / "docs" / "nlu_latency_cpu.png"
    plot(results, png)
    lines = [f"### NLU cost in a stream ({out['date']})", "",
             f"Machine: {out['machine']}. `python bench/bench_nlu_latency.py`: "
             f"medical_dictation's {len(rows)} reference utterances replayed as partials "
             f"(the words said by each {PARTIAL_S} s of audio) and finals; text only, so "
             "this is the NLU's own cost on top of the recogniser's. Per partial: "
             "`AlertMonitor.detect`; per final: `detect` and `extract`.", "",
             "| setting | partials | partial p50 / p95 / max (ms) | x lexicon alone (p50) | "
             "final p50 / p95 (ms) | x lexicon alone (final p50) |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        p, f = r["partial"], r["final"]
        lines.append(f"| {name} | {p['n']} | {p['p50_ms']:.1f} / {p['p95_ms']:.1f} / "
                     f"{p['max_ms']:.0f} | {p['p50_ms'] / base['partial']['p50_ms']:.2f} | "
                     f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f} | "
                     f"{f['p50_ms'] / base['final']['p50_ms']:.2f} |")
    lines += ["", f"![latency per partial]({png.name})", ""]
    update_doc(ROOT / "docs" / "benchmarks.md", "nlu-latency-cpu", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
