"""Server load benchmark on loopback, against `clinivox serve` in its own process.

    python bench/bench_server.py [--max-streams 6] [--seconds 40]

  * WebSocket: N clients stream ER recordings in real time (100 ms PCM16 frames); p95
    latency of finals, measured by the client from the end of speech in audio time to the
    arrival of the final. Reports the most streams held with p95 <= 2 s.
  * REST: 8 concurrent /v1/audio/transcriptions requests, dynamic batching on vs off
    (two server runs in this invocation); throughput in audio seconds per second.
Results: bench/results/server.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_transcribe import DATA, RESULTS, ROOT, read_manifest, update_doc


def key_for(data_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "keys", "--data-dir",
                          str(data_dir), "create", "bench"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)["key"]


async def one_stream(url: str, audio: np.ndarray) -> list[float]:
    from websockets.asyncio.client import connect

    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    latencies: list[float] = []
    async with connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000, "alerts": True}))
        await ws.recv()
        t0 = time.monotonic()

        async def reader():
            async for m in ws:
                e = json.loads(m)
                if e["type"] == "final":
                    latencies.append(time.monotonic() - t0 - e["end_s"])

        task = asyncio.create_task(reader())
        for k, i in enumerate(range(0, pcm.shape[0], 1600)):
            await ws.send(pcm[i:i + 1600].tobytes())
            delay = t0 + (k + 1) * 0.1 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await ws.send(json.dumps({"type": "end"}))
        await task
    return latencies


async def streams(url: str, audios: list[np.ndarray], n: int) -> list[float]:
    results = await asyncio.gather(*(one_stream(url, audios[i % len(audios)])
                                     for i in range(n)))
    return [x for r in results for x in r]


def rest_run(url: str, key: str, bodies: list[bytes], audio_s: float) -> dict:
    def post(body):
        r = httpx.post(url + "/v1/audio/transcriptions", files={"file": ("a.wav", body)},
                       headers={"Authorization": f"Bearer {key}"}, timeout=600)
        r.raise_for_status()
        return r.json()["text"]

    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        texts = list(pool.map(post, bodies))
    wall = time.perf_counter() - t
    return {"wall_s": wall, "audio_s": audio_s, "throughput_x": audio_s / wall,
            "texts": texts}


def main() -> None:
    import soundfile as sf
    from tests.serve.conftest import free_port, start_server_process

    from clinivox.audio import load_audio
    from clinivox.eval.asr import machine_description

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--max-streams", type=int, default=6)
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--ws-only", action="store_true",
                   help="rerun the WebSocket part, keep the REST figures of the last run")
    p.add_argument("--rest-only", action="store_true",
                   help="rerun the REST part, keep the WebSocket figures of the last run")
    p.add_argument("--compare-src", type=Path, default=None,
                   help="another checkout's src/ (e.g. the commit before a refactor): its "
                        "server runs the REST part too, in this run, for a before/after")
    ns = p.parse_args()
    rows = read_manifest(DATA / "er_alert_streams" / "manifest.jsonl")
    audios = [load_audio(r["path"])[: int(ns.seconds * 16000)] for r in rows]
    results: dict = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
                     "model": "tiny.en", "compute_type": "int8"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "a"
        key = key_for(data)
        port = free_port()
        proc = start_server_process(data, port) if not ns.rest_only else None
        try:
            runs = []
            if ns.rest_only:
                previous = json.loads((RESULTS / "server.json").read_text())
                results["ws"] = previous["ws"]
                results["ws_date"] = previous.get("ws_date", previous.get("date"))
            for n in range(1, 0 if ns.rest_only else ns.max_streams + 1):
                lat = asyncio.run(streams(f"ws://127.0.0.1:{port}/v1/stream?api_key={key}",
                                          audios, n))
                p95 = float(np.percentile(lat, 95)) if lat else float("inf")
                runs.append({"streams": n, "finals": len(lat), "p50_s": float(np.median(lat)),
                             "p95_s": p95})
                print(f"{n} streams: p95 final latency {p95:.2f} s", file=sys.stderr)
                if p95 > 2.0:
                    break
            if not ns.rest_only:
                results["ws"] = {"runs": runs, "max_streams_p95_le_2s": max(
                    (r["streams"] for r in runs if r["p95_s"] <= 2.0), default=0)}
                results["ws_date"] = results["date"]
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
        if ns.ws_only:
            previous = json.loads((RESULTS / "server.json").read_text())
            for k in ("rest_batching", "rest_no_batching", "rest_speedup",
                      "rest_identical_texts", "rest_date"):
                if k in previous:
                    results[k] = previous[k]
            results.setdefault("rest_date", previous.get("date"))
        # REST: 8 concurrent requests, batching on vs off, same files
        bodies, audio_s = [], 0.0
        for i in range(8):
            buf = io.BytesIO()
            sf.write(buf, audios[i % len(audios)], 16000, format="WAV", subtype="PCM_16")
            bodies.append(buf.getvalue())
            audio_s += audios[i % len(audios)].shape[0] / 16000
        plan: list[tuple[str, tuple, dict | None]] = [] if ns.ws_only else [
            ("batching", (), None), ("no_batching", ("--no-batching",), None)]
        if ns.compare_src is not None:
            plan.append(("batching_before", (), {"PYTHONPATH": str(ns.compare_src)}))
        for label, extra, env in plan:
            d = Path(tmp) / label
            k = key_for(d)
            port = free_port()
            proc = start_server_process(d, port, *extra, env=env)
            try:
                rest_run(f"http://127.0.0.1:{port}", k, bodies[:1], 1.0)  # warm-up
                results[f"rest_{label}"] = rest_run(f"http://127.0.0.1:{port}", k, bodies,
                                                    audio_s)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    b, nb = results["rest_batching"], results["rest_no_batching"]
    if not ns.ws_only:
        results["rest_speedup"] = b["throughput_x"] / nb["throughput_x"]
        results["rest_identical_texts"] = sum(
            x == y for x, y in zip(b["texts"], nb["texts"], strict=True))
        results["rest_date"] = results["date"]
        for r in (b, nb):
            r.pop("texts")
    same = results["rest_identical_texts"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "server.json").write_text(json.dumps(results, indent=2))
    lines = [f"### Server on loopback: tiny.en int8 on cpu ({results['date']})", "",
             f"Machine: {results['machine']}. `clinivox serve` in its own process; clients in "
             "another.", "", "| WebSocket streams (real time) | finals | p50 | p95 |",
             "|---|---|---|---|"]
    for r in results["ws"]["runs"]:
        lines.append(f"| {r['streams']} | {r['finals']} | {r['p50_s']:.2f} s | "
                     f"{r['p95_s']:.2f} s |")
    lines += ["", f"Most concurrent real-time streams with p95 final latency <= 2 s: "
                  f"**{results['ws']['max_streams_p95_le_2s']}** (goal: at least 4).", "",
              "| REST, 8 concurrent requests | audio | wall | throughput |", "|---|---|---|---|",
              f"| dynamic batching | {b['audio_s']:.0f} s | {b['wall_s']:.1f} s | "
              f"{b['throughput_x']:.1f}x real time |",
              f"| batching off | {nb['audio_s']:.0f} s | {nb['wall_s']:.1f} s | "
              f"{nb['throughput_x']:.1f}x real time |", "",
              f"Batching on / off throughput: **{results['rest_speedup']:.2f}x**; identical "
              f"transcripts in {same} of 8 requests.", ""]
    before = results.get("rest_batching_before")
    if before is not None:
        before.pop("texts", None)
        lines[-1:-1] = [f"Before/after in this run (`--compare-src {ns.compare_src}`): the "
                        f"same 8 requests on that checkout's server: {before['wall_s']:.1f} s, "
                        f"{before['throughput_x']:.1f}x real time; this one / that one = "
                        f"**{b['throughput_x'] / before['throughput_x']:.2f}**.", ""]
    section = "\n".join(lines)
    update_doc(ROOT / "docs" / "benchmarks.md", "server-cpu", section)
    print(section)


if __name__ == "__main__":
    main()
