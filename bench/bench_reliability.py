"""Reliability probes against a real `clinivox serve` on loopback (issue #23's acceptance).

    python bench/bench_reliability.py [--minutes 60] [--upload-gb 1] [--webm-hours 6]

Each probe reruns one defect a security and reliability review found, against the server
in its own process, and reports what it expected and what it observed; peak RSS of the
server process is sampled during the large inputs (<= 1.5 GB required). Two servers run:
a keyed one (the probes of tenants, limits and data loss) and a keyless `--insecure-local`
one (cross-origin and the duration-less WebM, with --max-audio-s 1200 so the probe does not
decode hours of audio). Everything is generated here: Piper speech, noise, a live WebM.
Results: bench/results/reliability.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_transcribe import publish

MARKERS = ("thornbury", "crushing", "radiating")  # words of the probe's "patient"
PATIENT = "Margaret Thornbury reports crushing chest pain radiating to her left arm."


@dataclass
class Row:
    probe: str
    expected: str
    observed: str = ""
    passed: bool = False
    seconds: float = 0.0
    peak_rss_mb: float | None = None


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    data: Path
    log: Path
    key: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def headers(self, key: str | None = None) -> dict:
        k = key or self.key
        return {"Authorization": f"Bearer {k}"} if k else {}

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def new_key(data: Path, name: str, *flags: str) -> str:
    out = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "keys", "--data-dir",
                          str(data), "create", name, *flags], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)["key"]


def start(root: Path, name: str, *args: str) -> Server:
    from tests.serve.conftest import free_port

    data, log = root / name, root / f"{name}.stderr"
    data.mkdir()
    port = free_port()
    key = None if "--insecure-local" in args else new_key(data, "probe")
    proc = subprocess.Popen([sys.executable, "-m", "clinivox.cli.main", "serve", "--port",
                             str(port), "--data-dir", str(data), "--device", "cpu", *args],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Server(proc, port, data, log, key)
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"{name} server did not start: {log.read_text()[-2000:]}")


class PeakRss:
    """Samples a process's RSS every 0.1 s while the block runs."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        def run() -> None:
            while not self._stop.is_set():
                with contextlib.suppress(Exception):
                    self.peak = max(self.peak, self.proc.memory_info().rss)
                time.sleep(0.1)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20

    @property
    def growth_mb(self) -> float:
        """Peak over the RSS the process had when the block began."""
        return (self.peak - self.start) / 2**20


def pcm_frames(audio: np.ndarray, frame_ms: int = 100) -> list[bytes]:
    n = 16 * frame_ms
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return [pcm[i:i + n].tobytes() for i in range(0, pcm.shape[0], n)]


async def stream(url: str, frames: list[bytes], *, end: bool = True, pace_s: float = 0.0,
                 origin: str | None = None, on_final: Callable | None = None) -> dict:
    """One WebSocket session: its events, session id and close code."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    events: list[dict] = []
    kw = {"origin": origin} if origin else {}
    async with connect(url, max_size=2**24, **kw) as ws:
        await ws.send(json.dumps({"type": "config", "sample_rate_hz": 16000}))
        ready = json.loads(await ws.recv())
        events.append(ready)

        async def reader() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for m in ws:
                    e = json.loads(m)
                    events.append(e)
                    if e["type"] == "final" and on_final is not None:
                        on_final(e)

        task = asyncio.create_task(reader())
        with contextlib.suppress(ConnectionClosed):
            for frame in frames:
                await ws.send(frame)
                if pace_s:
                    await asyncio.sleep(pace_s)
            if end:
                await ws.send(json.dumps({"type": "end"}))
        if end:
            await asyncio.wait_for(task, 600)
        else:
            task.cancel()
        return {"events": events, "session_id": ready.get("session_id"),
                "close_code": ws.close_code}


def run_probe(rows: list[Row], row: Row, fn: Callable[[Row], None]) -> None:
    t0 = time.perf_counter()
    try:
        fn(row)
    except Exception as exc:  # a probe that crashes is a failed probe, with its reason
        row.observed = f"probe failed: {type(exc).__name__}: {str(exc)[:160]}"
        row.passed = False
    row.seconds = time.perf_counter() - t0
    rows.append(row)
    mark = "PASS" if row.passed else "FAIL"
    rss = f"  peak RSS {row.peak_rss_mb:.0f} MB" if row.peak_rss_mb else ""
    print(f"[{mark}] {row.probe}: {row.observed} ({row.seconds:.1f} s){rss}", flush=True)


# -- inputs ------------------------------------------------------------------------------
def long_speech_flac(minutes: float) -> tuple[bytes, str]:
    """`minutes` of Piper dictation with pauses, as FLAC, and its reference text. Sixty
    different sentences repeat: repeating a few would make every chunk's text repetitive
    enough to trip the compression-ratio guard (temperature fallback on every chunk),
    which is not what a long consultation looks like."""
    import soundfile as sf

    from clinivox.testing.synth import silence, synthesize

    rng = np.random.default_rng(7)
    who = ["The patient", "She", "He", "My mother", "The little boy", "Her husband"]
    what = ["a mild headache", "a sore throat", "pain in the lower back", "a dry cough",
            "shortness of breath on the stairs", "swelling in both ankles",
            "a rash on the arms", "trouble sleeping", "dizziness when standing up",
            "nausea after meals"]
    when = ["since Tuesday", "for three days", "for about two weeks", "since last month",
            "on and off for a year"]
    plan = ["We will check the bloods.", "Take paracetamol when you need it.",
            "Come back if it gets any worse.", "I will refer you to the clinic.",
            "Drink plenty of fluids.", "Stop the ibuprofen for now."]
    texts = [f"{who[rng.integers(len(who))]} has had {what[i % len(what)]} "
             f"{when[rng.integers(len(when))]}. {plan[rng.integers(len(plan))]}"
             for i in range(60)]
    piece = np.concatenate([np.concatenate([synthesize(t), silence(1.2)]) for t in texts])
    n = int(minutes * 60 * 16000)
    reps = int(np.ceil(n / piece.shape[0]))
    audio = np.tile(piece, reps)[:n]
    covered = reps * len(texts) * min(1.0, n / (reps * piece.shape[0]))
    reference = " ".join((texts * reps)[: int(covered)])
    buf = io.BytesIO()
    sf.write(buf, audio, 16000, format="FLAC", subtype="PCM_16")
    return buf.getvalue(), reference


def live_webm(hours: float) -> bytes:
    """Quiet noise as Opus in a live WebM (no duration in the header), `hours` long: one
    minute is encoded and its packets repeated with shifted timestamps."""
    import av

    src = io.BytesIO()
    with av.open(src, "w", format="webm") as out:
        st = out.add_stream("libopus", rate=16000)
        st.layout = "mono"
        st.bit_rate = 8000
        noise = (np.random.default_rng(0).standard_normal(16000) * 30).astype(np.int16)
        for _ in range(60):
            frame = av.AudioFrame.from_ndarray(noise[None], format="s16", layout="mono")
            frame.sample_rate = 16000
            for p in st.encode(frame):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    src.seek(0)
    inp = av.open(src)
    ist = inp.streams.audio[0]
    packets = [p for p in inp.demux(ist) if p.size]
    span = packets[-1].pts + packets[-1].duration - packets[0].pts
    base = [p.pts for p in packets]
    dst = io.BytesIO()
    with av.open(dst, "w", format="webm", options={"live": "1"}) as out:
        ost = out.add_stream_from_template(ist)
        for r in range(round(hours * 60)):
            for p, b in zip(packets, base, strict=True):
                p.pts = p.dts = b + r * span
                p.stream = ost
                out.mux(p)
    return dst.getvalue()


# -- probes ------------------------------------------------------------------------------
def probes(keyed: Server, local: Server, args, speech: dict) -> list[Row]:
    from clinivox.testing.synth import silence

    rows: list[Row] = []
    fox = np.concatenate([silence(0.3), speech["fox"], silence(1.0)])

    def tenant(row: Row) -> None:
        other = new_key(keyed.data, "other-tenant")
        admin = new_key(keyed.data, "ops", "--admin")
        sid = asyncio.run(stream(f"{keyed.ws}?api_key={keyed.key}",
                                 pcm_frames(fox)))["session_id"]
        read = httpx.get(f"{keyed.url}/v1/sessions/{sid}", headers=keyed.headers(other))
        listed = httpx.get(f"{keyed.url}/v1/sessions", headers=keyed.headers(other)).json()
        deleted = httpx.delete(f"{keyed.url}/v1/sessions/{sid}", headers=keyed.headers(other))
        owner = httpx.get(f"{keyed.url}/v1/sessions/{sid}", headers=keyed.headers())
        root = httpx.get(f"{keyed.url}/v1/sessions/{sid}", headers=keyed.headers(admin))
        row.observed = (f"other key: read {read.status_code}, listed "
                        f"{sum(s['id'] == sid for s in listed['data'])}, delete "
                        f"{deleted.status_code}; owner {owner.status_code}; admin "
                        f"{root.status_code}")
        row.passed = (read.status_code, deleted.status_code, owner.status_code,
                      root.status_code) == (404, 404, 200, 200) and \
            not any(s["id"] == sid for s in listed["data"])

    def db_lock(row: Row) -> None:
        from clinivox.testing.synth import synthesize

        sentence = synthesize(PATIENT)
        audio = np.concatenate([silence(0.3), sentence, silence(1.2)] * 3)
        finals: list[dict] = []
        locked = threading.Event()

        def locker() -> None:
            while not finals:
                time.sleep(0.02)
            conn = sqlite3.connect(keyed.data / "clinivox.db", isolation_level=None,
                                   timeout=30)
            conn.execute("BEGIN EXCLUSIVE")
            locked.set()
            time.sleep(4.0)  # shorter than the retry budget: a delay, no loss
            conn.execute("ROLLBACK")
            conn.close()

        t = threading.Thread(target=locker, daemon=True)
        t.start()
        out = asyncio.run(stream(f"{keyed.ws}?api_key={keyed.key}", pcm_frames(audio),
                                 pace_s=0.01, on_final=finals.append))
        t.join(30)
        stored = httpx.get(f"{keyed.url}/v1/sessions/{out['session_id']}",
                           headers=keyed.headers()).json()
        sent = [e["text"] for e in out["events"] if e["type"] == "final"]
        leaked = [m for m in MARKERS if m in keyed.log_text().lower()]
        row.observed = (f"lock held 4 s: {len(sent)} finals sent, "
                        f"{len(stored['segments'])} stored, status {stored['status']}; "
                        f"patient words in server log: {len(leaked)}")
        row.passed = locked.is_set() and len(sent) >= 3 and \
            [s["text"] for s in stored["segments"]] == sent and not leaked

    def long_rest(row: Row) -> None:
        from clinivox.eval.metrics import wer

        body, reference = long_speech_flac(args.minutes)
        with PeakRss(keyed.proc.pid) as rss:
            r = httpx.post(f"{keyed.url}/v1/audio/transcriptions", headers=keyed.headers(),
                           files={"file": ("long.flac", body)},
                           data={"response_format": "verbose_json"}, timeout=3600)
        row.peak_rss_mb = rss.mb
        if r.status_code != 200:
            row.observed = f"{r.status_code}: {r.text[:120]}"
            return
        out = r.json()
        err = wer(reference, out["text"])
        row.observed = (f"200, {out['duration']:.0f} s of audio, {len(out['segments'])} "
                        f"segments, WER {err:.1%} against the script, baseline RSS "
                        f"{keyed.extra['baseline_mb']:.0f} MB")
        row.passed = out["duration"] >= args.minutes * 60 - 1 and err <= 0.15 and \
            rss.mb <= 1536

    def chunked_upload(row: Row) -> None:
        sent = 0
        total = int(args.upload_gb * 2**30)

        def body():
            nonlocal sent
            head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; "
                    b"filename=\"huge.wav\"\r\n\r\n")
            yield head
            block = b"\0" * 2**20
            while sent < total:
                sent += len(block)
                yield block
            yield b"\r\n--b--\r\n"

        with PeakRss(keyed.proc.pid) as rss:
            try:
                r = httpx.post(f"{keyed.url}/v1/audio/transcriptions", content=body(),
                               headers={**keyed.headers(),
                                        "Content-Type": "multipart/form-data; boundary=b"},
                               timeout=600)
                status = str(r.status_code)
            except httpx.HTTPError as exc:  # the server answered and closed mid-upload
                status = f"closed ({type(exc).__name__})"
        row.peak_rss_mb = rss.mb
        alive = httpx.get(f"{keyed.url}/healthz").status_code == 200
        grew = rss.growth_mb
        # the client sends its whole body before it reads the answer; what matters is that
        # the server refused at the limit and discarded the rest instead of spooling it
        row.observed = (f"{status} (client sent {sent / 2**20:.0f} MiB); server RSS "
                        f"+{grew:.0f} MB during the upload; server up: {alive}")
        row.passed = (status == "413" or status.startswith("closed")) and alive and \
            grew < 200 and rss.mb <= 1536

    def webm(row: Row) -> None:
        data = live_webm(args.webm_hours)
        with PeakRss(local.proc.pid) as rss:
            r = httpx.post(f"{local.url}/v1/audio/transcriptions",
                           files={"file": ("live.webm", data)}, timeout=3600)
        row.peak_rss_mb = rss.mb
        kind = r.json().get("error", {}).get("type") if r.status_code != 200 else ""
        row.observed = (f"{len(data) / 2**20:.0f} MiB, no duration header: {r.status_code} "
                        f"{kind}")
        row.passed = r.status_code == 413 and kind == "AudioTooLongError" and rss.mb <= 1536

    def prompt(row: Row) -> None:
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, fox, 16000, format="WAV", subtype="PCM_16")
        t0 = time.perf_counter()
        r = httpx.post(f"{keyed.url}/v1/audio/transcriptions", headers=keyed.headers(),
                       files={"file": ("f.wav", buf.getvalue())},
                       data={"prompt": "aspirin " * (2**20 // 8)}, timeout=120)
        dt = time.perf_counter() - t0
        row.observed = f"{r.status_code} in {dt:.2f} s"
        row.passed = r.status_code in (400, 413) and dt < 5

    def disconnect(row: Row) -> None:
        audio = np.concatenate([silence(0.3), speech["clinic"]])  # no pause at the end
        out = asyncio.run(stream(f"{keyed.ws}?api_key={keyed.key}", pcm_frames(audio),
                                 end=False))
        stored = {}
        for _ in range(300):
            stored = httpx.get(f"{keyed.url}/v1/sessions/{out['session_id']}",
                               headers=keyed.headers()).json()
            if stored["status"] != "open":
                break
            time.sleep(0.1)
        row.observed = (f"status {stored['status']}, stored text has 'headache': "
                        f"{'headache' in stored.get('text', '').lower()}")
        row.passed = stored["status"] == "disconnected" and \
            "headache" in stored["text"].lower()

    def cross_origin(row: Row) -> None:
        from websockets.exceptions import InvalidStatus

        try:
            asyncio.run(stream(local.ws, pcm_frames(fox), origin="http://attacker.example"))
            refused = "opened"
        except InvalidStatus as exc:
            refused = str(exc.response.status_code)
        rebind = httpx.get(f"{local.url}/v1/sessions",
                           headers={"Host": f"attacker.example:{local.port}"}).status_code
        same = asyncio.run(stream(local.ws, pcm_frames(fox),
                                  origin=f"http://127.0.0.1:{local.port}"))
        ok = same["events"][-1]["type"] == "done"
        row.observed = (f"cross-origin WebSocket: {refused}; rebound Host: {rebind}; "
                        f"same-origin stream done: {ok}")
        row.passed = refused == "403" and rebind == 403 and ok

    def storm(row: Row) -> None:
        from websockets.asyncio.client import connect

        before = keyed.log_text().count("Traceback")

        async def go() -> None:
            for _ in range(args.storm):
                async with connect(keyed.ws):
                    pass

        asyncio.run(go())
        time.sleep(0.5)
        tracebacks = keyed.log_text().count("Traceback") - before
        alive = httpx.get(f"{keyed.url}/healthz").status_code == 200
        row.observed = (f"{args.storm} connections closed before config: {tracebacks} "
                        f"tracebacks logged, server up: {alive}")
        row.passed = tracebacks == 0 and alive

    def languages(row: Row) -> None:
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, fox, 16000, format="WAV", subtype="PCM_16")
        codes = []
        for lang in ("zh", "xx-klingon"):
            r = httpx.post(f"{keyed.url}/v1/audio/transcriptions", headers=keyed.headers(),
                           files={"file": ("f.wav", buf.getvalue())}, data={"language": lang})
            codes.append(r.status_code)

        async def ws_config(language) -> str:
            from websockets.asyncio.client import connect

            async with connect(f"{keyed.ws}?api_key={keyed.key}") as ws:
                await ws.send(json.dumps({"type": "config", "language": language}))
                return json.loads(await ws.recv()).get("code", "?")

        ws_codes = [asyncio.run(ws_config(v)) for v in ("zh", ["en"], {"x": 1})]
        row.observed = f"REST {codes}; WebSocket {ws_codes}"
        row.passed = codes == [400, 400] and ws_codes == ["bad_config"] * 3

    def frames(row: Row) -> None:
        out = asyncio.run(stream(f"{keyed.ws}?api_key={keyed.key}",
                                 [b"\0" * (3 * 2**20), *pcm_frames(fox)]))
        errors = [e["code"] for e in out["events"] if e["type"] == "error"]
        last = out["events"][-1]["type"]
        row.observed = f"3 MiB frame: errors {errors}, session ended with '{last}'"
        row.passed = errors == ["frame_too_large"] and last == "done"

    def fast_client(row: Row) -> None:
        audio = np.concatenate([np.concatenate([s, silence(0.8)]) for s in speech.values()]
                               * 4)
        out = asyncio.run(stream(f"{keyed.ws}?api_key={keyed.key}",
                                 pcm_frames(audio, frame_ms=500)))
        finals = " ".join(e["text"] for e in out["events"] if e["type"] == "final").lower()
        row.observed = (f"{audio.shape[0] / 16000:.0f} s sent at once: ended "
                        f"'{out['events'][-1]['type']}', 'fox' {finals.count('fox')}/4")
        row.passed = out["events"][-1]["type"] == "done" and finals.count("fox") >= 4

    import psutil

    keyed.extra["baseline_mb"] = psutil.Process(keyed.proc.pid).memory_info().rss / 2**20
    plan = [
        ("tenant read", "another key: 404, not listed, no delete; owner and admin 200",
         tenant),
        ("database lock + log grep", "every sent final stored; no patient words in the log",
         db_lock),
        (f"{args.minutes:.0f}-minute REST file", "200, whole file, peak RSS <= 1.5 GB",
         long_rest),
        (f"chunked {args.upload_gb:g} GB upload", "413 near --max-upload-mb, RSS flat",
         chunked_upload),
        (f"{args.webm_hours:g} h WebM without duration", "413 AudioTooLongError at "
         "--max-audio-s", webm),
        ("1 MB prompt", "400 at once", prompt),
        ("disconnect mid-utterance", "open utterance stored, status disconnected",
         disconnect),
        ("cross-origin WebSocket, local mode", "403; rebound Host 403; same origin works",
         cross_origin),
        (f"{args.storm}-connection close-before-config storm", "no traceback, server up",
         storm),
        ("bad languages", "REST 400; WebSocket bad_config (str, list, dict)", languages),
        ("frame over the limit", "frame_too_large event, session goes on", frames),
        ("client faster than real time", "served to the end", fast_client),
    ]
    for name, expected, fn in plan:
        run_probe(rows, Row(name, expected), fn)
    return rows


def main() -> None:
    from tests.conftest import SENTENCES

    from clinivox.eval.asr import machine_description

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=60.0, help="the long REST file")
    p.add_argument("--upload-gb", type=float, default=1.0, help="the chunked upload")
    p.add_argument("--webm-hours", type=float, default=6.0, help="the duration-less WebM")
    p.add_argument("--storm", type=int, default=1000, help="close-before-config connections")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args()

    from clinivox.testing.synth import synthesize

    speech = {k: synthesize(v) for k, v in SENTENCES.items()}
    with tempfile.TemporaryDirectory(prefix="clinivox-reliability-") as tmp:
        root = Path(tmp)
        keyed = start(root, "keyed", "--db-retry-s", "30")
        local = start(root, "local", "--insecure-local", "--max-audio-s", "1200")
        try:
            rows = probes(keyed, local, args, speech)
        finally:
            for s in (keyed, local):
                s.proc.terminate()
                s.proc.wait(timeout=30)
    passed = sum(r.passed for r in rows)
    print(f"\n{passed}/{len(rows)} probes passed")
    results = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
               "rows": [r.__dict__ for r in rows], "passed": passed, "total": len(rows)}
    lines = [f"### Reliability probes: `clinivox serve` on loopback ({results['date']})\n",
             f"Machine: {results['machine']}. `python bench/bench_reliability.py` (issue "
             "#23): each row reruns a defect a security and reliability review found, "
             "against the server in its own process. Peak RSS is the server process's.\n",
             "| probe | expected | observed | pass | s | peak RSS |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        rss = f"{r.peak_rss_mb:.0f} MB" if r.peak_rss_mb else ""
        lines.append(f"| {r.probe} | {r.expected} | {r.observed} | "
                     f"{'yes' if r.passed else '**no**'} | {r.seconds:.1f} | {rss} |")
    lines.append(f"\n{passed} of {len(rows)} probes pass.\n")
    if not args.no_doc:
        publish("reliability", results, "reliability-cpu", "\n".join(lines) + "\n")
    sys.exit(0 if passed == len(rows) else 1)


if __name__ == "__main__":
    main()
