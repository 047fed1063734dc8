"""Transcription benchmark: clinivox vs plain faster-whisper, same files, model and compute type.

    python bench/bench_transcribe.py [--device cpu|cuda] [--compute-type int8|float16]

Runs, in one invocation, each system in its own subprocess (clean peak-RSS figures):
  * en_read_speech (../shared/data): WER and RTF of both systems;
  * a 10-minute long-form file built from the shared sets with pauses: RTF ratio and WER;
  * a 1-hour file (the long-form file six times): clinivox peak RSS and RTF.
Results: bench/results/transcribe_<device>.json and a section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CLINIVOX_BENCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(os.environ.get("CLINIVOX_BENCH_RESULTS", ROOT / "bench" / "results"))
SR = 16_000


# -- workers (run in a subprocess) ---------------------------------------------------------

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> None:
    files = [Path(f) for f in args.files]
    t0 = time.perf_counter()
    if args.system == "clinivox":
        from clinivox import Recognizer, TranscribeOptions

        rec = Recognizer(args.model, device=args.device, compute_type=args.compute_type)
        opts = TranscribeOptions(beam_size=5, batch_size=args.batch_size)
        load_s = time.perf_counter() - t0

        def run(f: Path) -> str:
            segments, _ = rec.transcribe(f, opts)
            return " ".join(s.text for s in segments)
    else:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from clinivox.asr.models import resolve_model

        model = WhisperModel(str(resolve_model(args.model).path), device=args.device,
                             compute_type=args.compute_type, cpu_threads=os.cpu_count() or 1)
        load_s = time.perf_counter() - t0
        if args.system == "faster-whisper-batched":
            pipe = BatchedInferencePipeline(model)

            def run(f: Path) -> str:
                segments, _ = pipe.transcribe(str(f), beam_size=5, batch_size=args.batch_size)
                return " ".join(s.text.strip() for s in segments)
        else:
            def run(f: Path) -> str:
                segments, _ = model.transcribe(str(f), beam_size=5)
                return " ".join(s.text.strip() for s in segments)
    texts, seconds = [], []
    for f in files:
        t = time.perf_counter()
        texts.append(run(f))
        seconds.append(time.perf_counter() - t)
    print(json.dumps({"texts": texts, "seconds": seconds, "load_s": load_s,
                      "peak_rss_mb": _peak_rss_mb()}))


def run_worker(system: str, files: list[Path], ns: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", system, "--device", ns.device,
           "--compute-type", ns.compute_type, "--model", ns.model,
           "--batch-size", str(ns.batch_size), *map(str, files)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{system} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- data ----------------------------------------------------------------------------------

def read_manifest(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for r in rows:
        r["path"] = path.parent / r["audio"]
    return rows


def build_longform(target_s: float = 600.0) -> tuple[Path, str, float]:
    """en_read_speech then medical_dictation, 0.3-2.5 s pauses (seeded), until target_s."""
    import soundfile as sf

    from clinivox.audio import load_audio

    out = RESULTS / "longform_10min.flac"
    ref = RESULTS / "longform_10min.txt"
    if out.is_file() and ref.is_file():
        return out, ref.read_text(), sf.info(out).duration
    rng = np.random.default_rng(2026)
    rows = read_manifest(DATA / "en_read_speech" / "manifest.jsonl") + \
        read_manifest(DATA / "medical_dictation" / "manifest.jsonl")
    parts, texts, total = [], [], 0.0
    for r in rows:
        if total >= target_s:
            break
        audio = load_audio(r["path"])
        pause = np.zeros(int(rng.uniform(0.3, 2.5) * SR), np.float32)
        parts += [audio, pause]
        texts.append(r["text"])
        total += (audio.shape[0] + pause.shape[0]) / SR
    RESULTS.mkdir(parents=True, exist_ok=True)
    sf.write(out, np.concatenate(parts), SR)
    ref.write_text(" ".join(texts))
    return out, " ".join(texts), total


def build_hour(longform: Path) -> tuple[Path, float]:
    import soundfile as sf

    out = RESULTS / "longform_1hour.flac"
    if not out.is_file():
        x, _ = sf.read(longform, dtype="float32")
        with sf.SoundFile(out, "w", SR, 1, format="FLAC") as f:
            for _ in range(6):
                f.write(x)
    return out, sf.info(out).duration


# -- main ----------------------------------------------------------------------------------

def wer_of(refs: list[str], hyps: list[str]) -> float:
    from clinivox.eval.metrics import error_counts

    total = None
    for r, h in zip(refs, hyps, strict=True):
        c = error_counts(r, h, "en")
        total = c if total is None else total + c
    return total.rate if total else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--skip-hour", action="store_true")
    p.add_argument("--render", type=Path, default=None,
                   help="only render a results JSON into docs/benchmarks.md")
    p.add_argument("--with-fw-batched", action="store_true",
                   help="also run faster-whisper's own BatchedInferencePipeline (reference)")
    ns = p.parse_args()
    if ns.worker:
        worker(argparse.Namespace(**{**vars(ns), "system": ns.worker}))
        return
    if ns.render:
        r = json.loads(ns.render.read_text())
        update_doc(ROOT / "docs" / "benchmarks.md", f"transcribe-{r['device']}_{r['compute_type']}",
                   render(r))
        return

    from rich.console import Console
    from rich.progress import Progress

    from clinivox.eval.asr import machine_description

    console = Console(stderr=True)
    machine = machine_description()
    if ns.device == "cuda":
        import ctranslate2

        machine += f"; GPU: {os.environ.get('CLINIVOX_GPU_NAME', 'CUDA device')}"
        machine += f", CTranslate2 {ctranslate2.__version__}"
    results: dict = {"machine": machine, "device": ns.device,
                     "compute_type": ns.compute_type, "model": ns.model,
                     "batch_size": ns.batch_size, "date": time.strftime("%Y-%m-%d")}
    systems = ["clinivox", "faster-whisper"] + (["faster-whisper-batched"]
                                               if ns.with_fw_batched else [])
    with Progress(console=console) as progress:
        steps = progress.add_task("benchmark", total=2 * len(systems) + (0 if ns.skip_hour else 1))
        en = read_manifest(DATA / "en_read_speech" / "manifest.jsonl")
        en_audio_s = sum(r["duration"] for r in en)
        results["en_read_speech"] = {"audio_s": en_audio_s}
        for system in systems:
            progress.update(steps, description=f"en_read_speech: {system}")
            out = run_worker(system, [r["path"] for r in en], ns)
            results["en_read_speech"][system] = {
                "wer": wer_of([r["text"] for r in en], out["texts"]),
                "rtf": sum(out["seconds"]) / en_audio_s, "decode_s": sum(out["seconds"])}
            progress.advance(steps)
        longform, ref, dur = build_longform()
        results["longform_10min"] = {"audio_s": dur}
        for system in systems:
            progress.update(steps, description=f"10-minute file: {system}")
            out = run_worker(system, [longform], ns)
            results["longform_10min"][system] = {
                "wer": wer_of([ref], out["texts"]), "rtf": out["seconds"][0] / dur,
                "decode_s": out["seconds"][0], "peak_rss_mb": out["peak_rss_mb"],
                "text": out["texts"][0]}
            progress.advance(steps)
        if not ns.skip_hour:
            hour, hdur = build_hour(longform)
            progress.update(steps, description="1-hour file: clinivox")
            out = run_worker("clinivox", [hour], ns)
            results["longform_1hour"] = {"audio_s": hdur, "clinivox": {
                "wer": wer_of([" ".join([ref] * 6)], out["texts"]),
                "rtf": out["seconds"][0] / hdur, "decode_s": out["seconds"][0],
                "peak_rss_mb": out["peak_rss_mb"]}}
            progress.advance(steps)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = f"{ns.device}_{ns.compute_type}"
    (RESULTS / f"transcribe_{tag}.json").write_text(json.dumps(results, indent=2))
    section = render(results)
    update_doc(ROOT / "docs" / "benchmarks.md", f"transcribe-{tag}", section)
    print(section)


def render(r: dict) -> str:
    lf = r["longform_10min"]
    c, f = lf["clinivox"], lf["faster-whisper"]
    lines = [
        f"### Transcription: {r['model']} {r['compute_type']} on {r['device']} ({r['date']})", "",
        f"Machine: {r['machine']}. Batch size {r['batch_size']}, beam 5 for every system; "
        "clinivox with VAD and word timestamps on; faster-whisper with its defaults "
        "(sequential, no VAD). Each system runs in its own process; times exclude model loading.",
        "", "| set | system | WER | RTF | peak RSS |", "|---|---|---|---|---|"]
    for key, label in (("en_read_speech", "en_read_speech"), ("longform_10min", "10-min file"),
                       ("longform_1hour", "1-hour file")):
        if key not in r:
            continue
        for system, v in r[key].items():
            if not isinstance(v, dict):
                continue
            rss = f"{v['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in v else "-"
            lines.append(f"| {label} ({r[key]['audio_s']:.0f} s) | {system} | "
                         f"{100 * v['wer']:.2f}% | {v['rtf']:.4f} | {rss} |")
    target = " (target <= 0.5 on 2 CPU cores)" if r["device"] == "cpu" else ""
    lines += ["", f"10-min file: clinivox RTF / plain faster-whisper RTF = "
                  f"**{c['rtf'] / f['rtf']:.3f}**{target}; WER difference "
                  f"{100 * (c['wer'] - f['wer']):+.2f} points."]
    if "longform_1hour" in r:
        rss = r["longform_1hour"]["clinivox"]["peak_rss_mb"]
        lines.append(f"1-hour file: clinivox peak RSS **{rss:.0f} MB** (target <= 1500 MB).")
    return "\n".join(lines) + "\n"


def publish(name: str, results: dict, doc_key: str, section: str) -> None:
    """Raw results to bench/results/<name>.json and docs/bench/, the rendered section into
    docs/benchmarks.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / f"{name}.json").write_text(text)
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "bench" / f"{name}.json").write_text(text)
    update_doc(ROOT / "docs" / "benchmarks.md", doc_key, section)


def update_doc(path: Path, key: str, section: str) -> None:
    begin, end = f"<!-- BEGIN {key} -->", f"<!-- END {key} -->"
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    block = f"{begin}\n{section}{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    main()
