"""Isolated drug names spoken by the validation split's voices: a probe of the regime where
a clinician says a name alone (a medication list read out, a voice UI), with no sentence
around it for the decoder or the domain LM to lean on.

Names: drugs of the lexicon that are not marked rare, single words of 5 letters or more,
sampled with `--seed`. Voices: the clinical corpus's validation-only voices (the voice bank
`clinivox data synth` uses, seed 0), in turn. Each clip has 0.3 s of silence either side.
Writes WAVs and manifest.jsonl (audio, text, terms, drugs, voice) under `--out`; score it
with `clinivox evaluate asr --manifest OUT/manifest.jsonl --medical` or
`bench/bench_adapt.py`'s helpers.

    .venv/bin/python bench/isolated_terms.py --out runs/isolated --n 84 --seed 5
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=84)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--exclude", type=Path, action="append", default=[],
                   help="a manifest whose names must not be drawn (another probe's)")
    args = p.parse_args()
    import soundfile as sf

    from clinivox.medical.vocabulary import load_lexicon
    from clinivox.train.data.voices import VoiceBankSpec, speak, voice_bank

    spec = VoiceBankSpec(per_engine=12, validation_share=0.25, seed=0,
                         validation_only=("flite:slt", "espeak-ng:en-gb-scotland"))
    voices = [v for v in voice_bank(spec) if v.split == "validation"]
    names = sorted({e.canonical for e in load_lexicon(None).entries
                    if e.category == "drug" and not e.rare and e.canonical.isalpha()
                    and len(e.canonical) >= 5})
    taken = {t.lower() for m in args.exclude
             for line in m.read_text(encoding="utf-8").splitlines() if line.strip()
             for t in json.loads(line).get("terms", [])}
    names = [n for n in names if n.lower() not in taken]
    random.seed(args.seed)
    pick = random.sample(names, min(args.n, len(names)))
    args.out.mkdir(parents=True, exist_ok=True)
    pad = np.zeros(4800, np.float32)
    with open(args.out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for i, name in enumerate(pick):
            voice = voices[i % len(voices)]
            text = name.capitalize() + "."
            audio = np.concatenate([pad, speak(voice, text, seed=i), pad])
            sf.write(args.out / f"{i:03d}.wav", audio, 16_000)
            f.write(json.dumps({"audio": f"{i:03d}.wav", "text": text, "language": "en",
                                "terms": [name], "drugs": [name], "voice": voice.id}) + "\n")
    print(f"{len(pick)} names of {len(names)}, {len(voices)} voices -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
