"""What a fresh process pays before the NLU answers: `clinivox extract` from the shell.

    python bench/bench_cold_start.py [--repeats 5]

Every `clinivox extract`, `redact`, `scribe` and server start loads the NLU's tables in a
new process. Until the fourteenth session each such process imported simple-icd-10-cm,
which parses its XML (98,505 items) on import; the NLU now reads what it asks of ICD-10-CM
from a cache file written on first use (`clinivox.medical.icd10cm`). This times, each in
fresh processes, one after another, in the same run:

- the baseline the cache replaced: `import simple_icd_10_cm`;
- reading the cache (`icd10cm.tabular()`, the file written beforehand);
- `clinivox extract SENTENCE` end to end, with the tables alone (CLINIVOX_NLU_SPANS=lexicon)
  and by default (the checked learned spans: the tagger, the check and MiniLM load too);
- the NLU's forms (lexicon, ICD-10-CM leaf titles, everyday words: the term matcher)
  built as before the fifteenth session (`entities._build_matcher()`), against the same
  forms read from their cache (`entities._matcher()`, `clinivox.nlu.matcher_cache`);
- Python's own start (`python -c pass`) for scale.

Medians and minima of --repeats runs. Writes bench/results/cold_start.json and the
`cold-start-cpu` section of docs/benchmarks.md. No data set is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transcribe import RESULTS, ROOT, update_doc

SENTENCE = "He denies chest pain but has had a cough, and takes metformin 500 mg twice daily."
RUNS = {
    "python -c pass": ([sys.executable, "-c", "pass"], {}),
    "import simple_icd_10_cm (before)": ([sys.executable, "-c", "import simple_icd_10_cm"], {}),
    "icd10cm.tabular() from the cache (now)": (
        [sys.executable, "-c", "from clinivox.medical.icd10cm import tabular; "
                               "assert tabular() is not None"], {}),
    "NLU forms built (before)": (
        [sys.executable, "-c", "from clinivox.nlu.entities import _build_matcher; "
                               "assert _build_matcher().forms"], {}),
    "NLU forms from their cache (now)": (
        [sys.executable, "-c", "from clinivox.nlu.entities import _matcher; "
                               "assert _matcher().forms"], {}),
    "clinivox extract, tables alone": (
        [sys.executable, "-m", "clinivox.cli.main", "extract", SENTENCE],
        {"CLINIVOX_NLU_SPANS": "lexicon"}),
    "clinivox extract, default": (
        [sys.executable, "-m", "clinivox.cli.main", "extract", SENTENCE], {}),
}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args()
    from clinivox.eval.asr import machine_description

    for cmd, env in RUNS.values():  # caches written (lexicon, ICD-10-CM), files in the page cache
        timed(cmd, env)
    times: dict[str, list[float]] = {k: [] for k in RUNS}
    for r in range(args.repeats):  # interleaved: a slow moment of the machine hits every row
        for name, (cmd, env) in RUNS.items():
            times[name].append(timed(cmd, env))
        print(f"round {r + 1}/{args.repeats}: " + ", ".join(
            f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    out = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
           "repeats": args.repeats,
           "seconds": {k: {"median": round(statistics.median(v), 3), "min": round(min(v), 3)}
                       for k, v in times.items()}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(out, indent=1) + "\n")
    s = out["seconds"]
    before = s["import simple_icd_10_cm (before)"]["median"]
    now = s["icd10cm.tabular() from the cache (now)"]["median"]
    forms_before = s["NLU forms built (before)"]["median"]
    forms_now = s["NLU forms from their cache (now)"]["median"]
    lines = [f"### A fresh process's NLU start ({out['date']})", "",
             f"Machine: {out['machine']}. `python bench/bench_cold_start.py`: each row a new "
             f"process, {args.repeats} interleaved rounds after one warm-up (caches written). "
             f"ICD-10-CM from the cache: {now:.2f} s against {before:.2f} s for importing "
             f"simple-icd-10-cm ({before / now:.1f}x). The NLU's forms from their cache: "
             f"{forms_now:.2f} s against {forms_before:.2f} s to build them "
             f"({forms_before / forms_now:.1f}x; both rows include Python's start and the "
             f"imports).", "",
             "| process | median (s) | min (s) |", "|---|---|---|"]
    lines += [f"| {k} | {v['median']:.2f} | {v['min']:.2f} |" for k, v in s.items()]
    lines.append("")
    print("\n".join(lines))
    if not args.no_doc:
        update_doc(ROOT / "docs" / "benchmarks.md", "cold-start-cpu", "\n".join(lines))


if __name__ == "__main__":
    main()
