"""Diarization and scribe benchmark (issue 6), on ../shared/data/diarization.

  * DER at collar 0 and 0.25 s (pyannote.metrics, overlap scored) on the pyannote sample and
    the ten AMI debug-train excerpts, speaker-count errors; the stereo file by channel;
  * speed: a 10-minute recording (the set's files one after another, repeated) diarized,
    and transcription + diarization vs transcription alone in the same run;
  * the scribe path on the pyannote sample: cpWER vs plain WER.

    .venv/bin/python bench/bench_diarize.py

Writes bench/results/diarization_cpu.json (copied to docs/bench/), docs/diarization_sample.png
and the `diarization-cpu` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_transcribe import DATA, ROOT, publish

DIAR = DATA / "diarization"


def der_sets() -> dict:
    from clinivox.audio.decode import load_audio
    from clinivox.diarize import Diarizer, diarize_file
    from clinivox.eval.diarization import der_report, read_rttm, read_uem

    d = Diarizer()
    out = {}
    for name, rttm, uem, files in (
        ("pyannote_sample", DIAR / "pyannote_sample/sample.rttm", None,
         [DIAR / "pyannote_sample/sample.wav"]),
        ("ami_debug_train", DIAR / "pyannote_ami_debug/debug.train.rttm",
         DIAR / "pyannote_ami_debug/debug.train.uem",
         sorted((DIAR / "pyannote_ami_debug").glob("trn*.wav"))),
    ):
        refs = read_rttm(rttm)
        hyps, seconds, audio_s = {}, 0.0, 0.0
        for f in files:
            audio = load_audio(f)
            t0 = time.perf_counter()
            hyps[f.stem] = d(audio)
            seconds += time.perf_counter() - t0
            audio_s += audio.shape[0] / 16000
        rep = der_report(refs, hyps, read_uem(uem) if uem else None)
        rep["diarize_s"], rep["audio_s"] = round(seconds, 2), round(audio_s, 1)
        out[name] = rep
    stereo = diarize_file(DIAR / "faster_whisper_stereo/stereo_diarization.wav", by_channel=True)
    out["stereo_by_channel"] = stereo.to_dict()
    return out


def ten_minutes() -> np.ndarray:
    from clinivox.audio.decode import load_audio

    parts = [load_audio(DIAR / "pyannote_sample/sample.wav")]
    parts += [load_audio(f) for f in sorted((DIAR / "pyannote_ami_debug").glob("trn*.wav"))]
    one = np.concatenate([np.concatenate([p, np.zeros(8000, np.float32)]) for p in parts])
    reps = int(np.ceil(600 * 16000 / one.shape[0]))
    return np.tile(one, reps)[:600 * 16000]


def speed(model: str) -> dict:
    from clinivox import Recognizer
    from clinivox.diarize import Diarizer
    from clinivox.diarize.attribution import attribute_words

    audio = ten_minutes()
    rec = Recognizer(model)
    d = Diarizer()
    list(rec.transcribe(audio[:16000 * 20])[0])  # warm-up
    t0 = time.perf_counter()
    plain = list(rec.transcribe(audio)[0])
    t_asr = time.perf_counter() - t0
    t0 = time.perf_counter()
    segments = list(rec.transcribe(audio)[0])
    t_mid = time.perf_counter()
    result = d(audio)
    t_diar = time.perf_counter() - t_mid
    attributed = attribute_words(segments, result)
    t_seq = time.perf_counter() - t0
    # as `clinivox transcribe --diarize` runs them: diarization in a thread beside decoding
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(d, audio)
        segments = list(rec.transcribe(audio)[0])
        attributed = attribute_words(segments, fut.result())
    t_both = time.perf_counter() - t0
    return {"audio_s": audio.shape[0] / 16000, "transcribe_s": round(t_asr, 2),
            "transcribe_plus_diarize_s": round(t_both, 2), "sequential_s": round(t_seq, 2),
            "diarize_s": round(t_diar, 2), "ratio": round(t_both / t_asr, 3),
            "ratio_sequential": round(t_seq / t_asr, 3), "segments": len(plain),
            "attributed_segments": len(attributed), "speakers": len(result.speakers)}


def scribe_sample(model: str) -> dict:
    from clinivox import Recognizer
    from clinivox.audio.decode import load_audio
    from clinivox.diarize import Diarizer
    from clinivox.diarize.attribution import attribute_words, infer_roles
    from clinivox.eval.diarization import cp_wer, read_stm
    from clinivox.scribe.record import build_record
    from clinivox.scribe.report import timeline_png

    wav = DIAR / "pyannote_sample/sample.wav"
    rec = Recognizer(model)
    segments = list(rec.transcribe(wav)[0])
    result = Diarizer()(load_audio(wav))
    attributed = attribute_words(segments, result)
    ref = read_stm(DIAR / "pyannote_sample/sample.stm")["sample"]
    scores = cp_wer(ref, [(s.speaker or "?", s.text) for s in attributed])
    record = build_record(attributed, infer_roles(attributed), duration_s=30.0,
                          diarization=result.to_dict())
    (ROOT / "docs" / "diarization_sample.png").write_bytes(timeline_png(record))
    return {**scores, "speakers": result.speakers}


def render(r: dict) -> str:
    s, a = r["der"]["pyannote_sample"], r["der"]["ami_debug_train"]
    lines = [f"Machine: {r['machine']}; model {r['model']} for the transcription parts; "
             f"{r['date']}.", "",
             "| set | files | DER collar 0 | DER collar 0.25 | target | speaker count exact |"
             " diarize s / audio s |", "|---|---|---|---|---|---|---|"]
    for name, rep, target in (("pyannote sample (2 spk, telephone)", s, "<= 10%"),
                              ("AMI debug train (1-4 spk, far-field)", a, "<= 30%")):
        t = rep["total"]
        lines.append(f"| {name} | {len(rep['files'])} | {100 * t['der_collar_0']:.1f}% | "
                     f"**{100 * t['der_collar_0.25']:.1f}%** | {target} | "
                     f"{t['files_with_exact_count']}/{len(rep['files'])} | "
                     f"{rep['diarize_s']:.1f} / {rep['audio_s']:.0f} |")
    lines += ["", "AMI per file (DER collar 0.25, speakers ref/hyp): " + ", ".join(
        f"{u} {100 * f['der_collar_0.25']:.0f}% ({f['speakers_ref']}/{f['speakers_hyp']})"
        for u, f in a["files"].items()), "",
        "Stereo file by channel: " + ", ".join(
            f"{t['speaker']} {t['start_s']:.2f}-{t['end_s']:.2f} s"
            for t in r["der"]["stereo_by_channel"]["turns"]), ""]
    sp = r["speed"]
    lines += [f"10-minute recording ({sp['audio_s']:.0f} s): diarization "
              f"**{sp['diarize_s']:.1f} s** (target <= 60 s); transcription "
              f"{sp['transcribe_s']:.1f} s, transcription + "
              f"diarization + word attribution as the CLI runs them (diarization in a thread "
              f"beside decoding) {sp['transcribe_plus_diarize_s']:.1f} s: ratio "
              f"**{sp['ratio']:.2f}** (target <= 1.3); one after the other "
              f"{sp['sequential_s']:.1f} s, ratio {sp['ratio_sequential']:.2f}.", ""]
    sc = r["scribe_sample"]
    lines += [f"Scribe path on the pyannote sample: {len(sc['speakers'])} speakers, cpWER "
              f"**{100 * sc['cpwer']:.1f}%** vs plain WER {100 * sc['wer']:.1f}% "
              f"(target: within 5 points). Timeline: docs/diarization_sample.png.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="tiny.en")
    ns = p.parse_args()
    from clinivox.eval.asr import machine_description

    r = {"machine": machine_description(), "model": ns.model, "date": time.strftime("%Y-%m-%d")}
    print("DER ...", file=sys.stderr)
    r["der"] = der_sets()
    print("speed ...", file=sys.stderr)
    r["speed"] = speed(ns.model)
    print("scribe ...", file=sys.stderr)
    r["scribe_sample"] = scribe_sample(ns.model)
    section = render(r)
    publish("diarization_cpu", r, "diarization-cpu", section)
    print(section)


if __name__ == "__main__":
    main()
