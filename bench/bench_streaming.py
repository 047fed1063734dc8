"""Streaming and alert benchmark.

    python bench/bench_streaming.py [--device cpu|cuda] [--compute-type int8|float16]

In one run:
  * er_alert_streams fed in real time (simulated clock; --realtime paces by the wall clock):
    detection per event with category, negated mentions, false alarms, alert latency from
    the phrase's end;
  * en_read_speech fed in real time: final latency after the end of speech, partial update
    interval during speech, streaming WER against batch WER of the same recogniser;
  * capacity: the most simultaneous real-time streams one process keeps up with
    (p95 final latency <= 2 s and no growing lag): a thread per stream, wall-clock paced,
    sharing one DecodeScheduler (finals first).
Writes bench/results/streaming_<device>.json, docs/streaming_latency_<device>.png and a
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transcribe import DATA, RESULTS, ROOT, read_manifest, update_doc

CHUNK_S = 0.1


def score_alert_stream(row: dict, alerts: list) -> dict:
    hits, latencies, wrong = [], [], []
    used = set()
    for ev in row["events"]:
        match = None
        for i, a in enumerate(alerts):
            if i in used:
                continue
            if ev["start_s"] - 1.0 <= a.audio_end_s <= ev["end_s"] + 5.0 and \
                    a.audio_start_s <= ev["end_s"] + 0.5:
                match = i
                break
        if ev["category"] == "negated_mention_no_alert":
            if match is not None:
                used.add(match)
                wrong.append({"negated": ev["text"], "alert": alerts[match].category})
            continue
        ok = match is not None and alerts[match].category == ev["category"]
        if match is not None:
            used.add(match)
        hits.append({"category": ev["category"], "detected": ok,
                     "alert": alerts[match].category if match is not None else None})
        if ok:
            latencies.append(alerts[match].emitted_s - ev["end_s"])
    false_alarms = [a.category for i, a in enumerate(alerts) if i not in used]
    return {"events": hits, "negated_alerts": wrong, "false_alarms": false_alarms,
            "latencies_s": latencies}


def run_alerts(rec, realtime: bool) -> dict:
    from clinivox.alerts import AlertMonitor
    from clinivox.asr.streaming import StreamingRecognizer, feed_file

    rows = read_manifest(DATA / "er_alert_streams" / "manifest.jsonl")
    out = {"streams": []}
    all_lat, events = [], []
    for row in rows:
        monitor = AlertMonitor()
        stream = StreamingRecognizer(rec, clock=time.monotonic if realtime else None)
        feed_file(stream, row["path"], chunk_ms=int(CHUNK_S * 1000), realtime=realtime,
                  on_event=monitor.process)
        s = score_alert_stream(row, monitor.alerts)
        s["audio"] = row["audio"]
        out["streams"].append(s)
        all_lat += s["latencies_s"]
        events += stream.events
    ev = [e for s in out["streams"] for e in s["events"]]
    out["detected"] = sum(e["detected"] for e in ev)
    out["events_total"] = len(ev)
    out["negated_alerts"] = sum(len(s["negated_alerts"]) for s in out["streams"])
    out["false_alarms"] = sum(len(s["false_alarms"]) for s in out["streams"])
    out["alert_latency_p50_s"] = float(np.median(all_lat)) if all_lat else None
    out["alert_latency_p95_s"] = float(np.percentile(all_lat, 95)) if all_lat else None
    out["alert_latencies_s"] = all_lat
    return out


def run_read_speech(rec, realtime: bool) -> dict:
    from clinivox.asr.streaming import StreamingRecognizer, feed_file
    from clinivox.eval.metrics import error_counts

    rows = read_manifest(DATA / "en_read_speech" / "manifest.jsonl")
    stream_err = batch_err = None
    final_lat, partial_lat, gaps = [], [], []
    for row in rows:
        stream = StreamingRecognizer(rec, clock=time.monotonic if realtime else None)
        events = feed_file(stream, row["path"], chunk_ms=int(CHUNK_S * 1000),
                           realtime=realtime)
        finals = [e for e in events if e.kind == "final"]
        final_lat += [e.latency_s for e in finals if e.end_s < stream.audio_s - 0.3]
        partial_lat += [e.latency_s for e in events if e.kind == "partial"]
        for f in finals:  # update interval during each utterance, first update included
            updates = sorted(e.emitted_s for e in events
                             if e.kind == "partial" and e.utterance_id == f.utterance_id)
            times = [f.start_s, *updates, f.emitted_s]
            gaps += list(np.diff(times))
        hyp = " ".join(e.text for e in finals)
        segments, _ = rec.transcribe(row["path"])
        batch = " ".join(s.text for s in segments)
        c1, c2 = error_counts(row["text"], hyp), error_counts(row["text"], batch)
        stream_err = c1 if stream_err is None else stream_err + c1
        batch_err = c2 if batch_err is None else batch_err + c2
    return {"streaming_wer": stream_err.rate, "batch_wer": batch_err.rate,
            "final_latency_p50_s": float(np.median(final_lat)),
            "final_latency_p95_s": float(np.percentile(final_lat, 95)),
            "partial_latency_p50_s": float(np.median(partial_lat)),
            "update_interval_p50_s": float(np.median(gaps)),
            "update_interval_p95_s": float(np.percentile(gaps, 95)),
            "final_latencies_s": final_lat, "partial_latencies_s": partial_lat}


def run_capacity(rec, max_streams: int, seconds: float) -> dict:
    """N streams, one thread each, fed in real time by the wall clock and sharing one
    `DecodeScheduler` (finals first, partials batched across streams), as a process
    serving several streams runs them."""
    import threading

    from clinivox.asr.scheduler import DecodeScheduler
    from clinivox.asr.streaming import StreamingRecognizer
    from clinivox.audio import load_audio

    rows = read_manifest(DATA / "er_alert_streams" / "manifest.jsonl")
    audios = [load_audio(r["path"])[: int(seconds * 16_000)] for r in rows]
    step = int(CHUNK_S * 16_000)
    results = []
    for n in range(1, max_streams + 1):
        gate = DecodeScheduler(rec.engine)
        latencies: list[float] = []
        lags: list[float] = []

        def feed(audio: np.ndarray, gate=gate, latencies=latencies, lags=lags) -> None:
            stream = StreamingRecognizer(rec, clock=time.monotonic, scheduler=gate)
            t0 = time.monotonic()
            for k, i in enumerate(range(0, audio.shape[0], step)):
                delay = t0 + k * CHUNK_S - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                stream.feed(audio[i:i + step])
            lags.append(time.monotonic() - t0 - audio.shape[0] / 16_000)
            stream.finish()
            latencies.extend(e.latency_s for e in stream.events if e.kind == "final")

        threads = [threading.Thread(target=feed, args=(audios[j % len(audios)],))
                   for j in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        gate.close()
        p95 = float(np.percentile(latencies, 95)) if latencies else float("inf")
        lag = max(lags)
        ok = p95 <= 2.0 and lag <= 1.0
        results.append({"streams": n, "final_latency_p95_s": p95, "end_lag_s": lag, "ok": ok})
        print(f"capacity: {n} streams: p95 final {p95:.2f} s, lag {lag:.2f} s", file=sys.stderr)
        if not ok:
            break
    best = max((r["streams"] for r in results if r["ok"]), default=0)
    return {"max_realtime_streams": best, "runs": results, "seconds_per_stream": seconds,
            "model": "one thread per stream, shared DecodeScheduler, wall clock"}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    series = [("partials", results["read_speech"]["partial_latencies_s"]),
              ("finals", results["read_speech"]["final_latencies_s"]),
              ("alerts (from phrase end)", results["alerts"]["alert_latencies_s"])]
    for label, values in series:
        if values:
            v = np.sort(values)
            ax.plot(v, np.arange(1, v.size + 1) / v.size, label=f"{label} (n={v.size})")
    ax.set_xlabel("latency (s)")
    ax.set_ylabel("fraction of events")
    ax.set_title(f"Streaming latency CDF ({results['device']}, {results['model']})")
    ax.grid(alpha=0.3)
    ax.legend()
    ax = axes[1]
    runs = results["capacity"]["runs"]
    ax.plot([r["streams"] for r in runs], [r["final_latency_p95_s"] for r in runs], "o-")
    ax.axhline(2.0, color="red", ls="--", label="2 s budget")
    ax.set_xlabel("simultaneous real-time streams")
    ax.set_ylabel("p95 final latency (s)")
    ax.set_title("Capacity (one process)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def render(r: dict) -> str:
    a, s, c = r["alerts"], r["read_speech"], r["capacity"]
    return "\n".join([
        f"### Streaming and alerts: {r['model']} {r['compute_type']} on {r['device']} "
        f"({r['date']})", "",
        f"Machine: {r['machine']}. Chunks of {int(CHUNK_S * 1000)} ms fed in real time "
        f"({'wall clock' if r['realtime'] else 'simulated clock: audio plus processing time'}).",
        "", "| measure | value | target |", "|---|---|---|",
        f"| ER events detected, right category | {a['detected']}/{a['events_total']} | all |",
        f"| alerts on negated mentions | {a['negated_alerts']} | 0 |",
        f"| false alarms elsewhere | {a['false_alarms']} | 0 |",
        f"| alert latency from phrase end, p50 / p95 | {a['alert_latency_p50_s']:.2f} s / "
        f"{a['alert_latency_p95_s']:.2f} s | p50 <= 1.5 s |",
        f"| final latency after end of speech (en_read_speech), p50 / p95 | "
        f"{s['final_latency_p50_s']:.2f} s / {s['final_latency_p95_s']:.2f} s | p50 <= 1.0 s |",
        f"| update interval during speech, p50 / p95 | {s['update_interval_p50_s']:.2f} s / "
        f"{s['update_interval_p95_s']:.2f} s | <= 1 s |",
        f"| streaming WER / batch WER (en_read_speech) | {100 * s['streaming_wer']:.2f}% / "
        f"{100 * s['batch_wer']:.2f}% | within 2 points |",
        "| simultaneous real-time streams in one process (a thread each, shared decode "
        f"gate; p95 final <= 2 s) | {c['max_realtime_streams']} | - |",
        "", f"![latency](streaming_latency_{r['device']}.png)", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--realtime", action="store_true")
    p.add_argument("--max-streams", type=int, default=6)
    p.add_argument("--capacity-seconds", type=float, default=40.0)
    ns = p.parse_args()
    from clinivox import Recognizer
    from clinivox.eval.asr import machine_description

    rec = Recognizer(ns.model, device=ns.device, compute_type=ns.compute_type)
    results = {"machine": machine_description(), "device": ns.device, "model": ns.model,
               "compute_type": ns.compute_type, "realtime": ns.realtime,
               "date": time.strftime("%Y-%m-%d")}
    print("alerts ...", file=sys.stderr)
    results["alerts"] = run_alerts(rec, ns.realtime)
    print("read speech ...", file=sys.stderr)
    results["read_speech"] = run_read_speech(rec, ns.realtime)
    print("capacity ...", file=sys.stderr)
    results["capacity"] = run_capacity(rec, ns.max_streams, ns.capacity_seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"streaming_{ns.device}.json").write_text(json.dumps(results, indent=2))
    plot(results, ROOT / "docs" / f"streaming_latency_{ns.device}.png")
    section = render(results)
    update_doc(ROOT / "docs" / "benchmarks.md", f"streaming-{ns.device}", section)
    print(section)
    print(json.dumps({k: v for k, v in results["alerts"].items() if k != "streams"}, indent=1))
    for s in results["alerts"]["streams"]:
        print(s["audio"], s["events"], s["negated_alerts"], s["false_alarms"])


if __name__ == "__main__":
    main()
