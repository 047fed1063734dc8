"""The sentences of the PriMock57 gold set, read from ../shared/data at run time (the text
is not copied into the repository: bench/data/nlu_gold_primock.jsonl holds only the
sentence ids and the hand annotations).

    python bench/nlu_gold_source.py --sample 120 --seed 7   # the sample, id<TAB>text

Ids: `n:<note file stem>:<k>` is the k-th sentence of a clinician's note (split at line
breaks and sentence ends), `t:<TextGrid stem>:<k>` the k-th utterance of a transcript
(transcriber tags dropped). Consultations are split in two by a hash: `validation` (for
decisions) and `test` (reported once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
from pathlib import Path

DATA = Path(os.environ.get("CLINIVOX_BENCH_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
ROOT = DATA / "primock57_text"


def split_of(consultation: str) -> str:
    h = int(hashlib.sha256(f"nlu-gold:{consultation}".encode()).hexdigest()[:8], 16)
    return "validation" if h % 2 == 0 else "test"


def note_sentences(path: Path) -> list[str]:
    note = json.loads(path.read_text(encoding="utf-8"))["note"]
    out = []
    for line in note.splitlines():
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line.strip()):
            s = s.strip()
            if len(s.split()) >= 2:
                out.append(s)
    return out


def utterances(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8", errors="replace")
    out = []
    for m in re.finditer(r'^\s*text = "(.*)"\s*$', raw, re.M):
        text = re.sub(r"<[^>]*>|\[[^\]]*\]", " ", m.group(1).replace('""', '"'))
        text = re.sub(r"\s+", " ", text).strip(" ,")
        if text:
            out.append(text)
    return out


def sentence(sid: str) -> str:
    """The text of a sentence id."""
    kind, stem, k = sid.split(":")
    if kind == "n":
        return note_sentences(ROOT / "notes" / f"{stem}.json")[int(k)]
    return utterances(ROOT / "transcripts" / f"{stem}.TextGrid")[int(k)]


def consultation(sid: str) -> str:
    stem = sid.split(":")[1]
    return stem.rsplit("_", 1)[0] if stem.endswith(("_doctor", "_patient")) else stem


# Words that often carry an assertion (negation, uncertainty, time, family, condition),
# written from the ConText categories, not from the NLU's trigger table. The second batch
# draws half its sentences from those that hold one, so that the rarer assertion classes
# get more than a handful of examples.
CUE = re.compile(
    r"\b(no|not|nil|none|never|denies|denied|without|negative|n't|if|whether|any|should|"
    r"might|may|maybe|possible|possibly|probably|likely|suspect\w*|query|\?|think|"
    r"wonder|worried|concern\w*|rule out|history|hx|previous\w*|past|used to|before|"
    r"ago|resolved|had|tried|mum|mother|dad|father|brother|sister|family|fhx|fh)\b|\?",
    re.I)


# Words of time past, for a batch aimed at the historical class (batch 12): written from
# ConText's temporality triggers, not from the NLU's table.
HISTORY_CUE = re.compile(
    r"\b(?:history|hx|previous\w*|past|used\s+to|before|ago|resolved|had|tried|stopped|"
    r"years?|months?|childhood|as\s+a\s+(?:child|kid)|when\s+i\s+was|last\s+(?:year|"
    r"month|time)|once|back\s+then|went\s+away|gone|anymore|any\s+more)\b", re.I)


def sample(n: int, seed: int, note_share: float = 0.4, min_words: int = 5,
           exclude: frozenset[str] = frozenset(), cue_share: float = 0.0,
           split: str | None = None, cue: re.Pattern = CUE) -> list[str]:
    """`n` sentence ids at random (a share `note_share` from the notes), none of
    `exclude`; a share `cue_share` of each kind drawn from the sentences that hold a CUE
    word, the rest from all; `split`: from that half's consultations only."""
    rng = random.Random(seed)
    notes = [(f"n:{p.stem}:{k}", s) for p in sorted((ROOT / "notes").glob("*.json"))
             for k, s in enumerate(note_sentences(p)) if len(s.split()) >= 3]
    talk = [(f"t:{p.stem}:{k}", s)
            for p in sorted((ROOT / "transcripts").glob("*.TextGrid"))
            for k, s in enumerate(utterances(p)) if len(s.split()) >= min_words]
    out: list[str] = []
    for pool, k in ((notes, round(n * note_share)), (talk, n - round(n * note_share))):
        pool = [(sid, s) for sid, s in pool if sid not in exclude
                and (split is None or split_of(consultation(sid)) == split)]
        n_cue = round(k * cue_share)
        cued = rng.sample([sid for sid, s in pool if cue.search(s)], n_cue) if n_cue else []
        rest = [sid for sid, _ in pool if sid not in set(cued)]
        out += cued + rng.sample(rest, k - n_cue)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sample", type=int, default=120)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cue-share", type=float, default=0.0)
    p.add_argument("--history-cues", action="store_true",
                   help="the cue share from sentences with words of time past (HISTORY_CUE)")
    p.add_argument("--note-share", type=float, default=0.4,
                   help="the share drawn from the notes (the rest from the transcripts)")
    p.add_argument("--exclude", type=Path, default=None,
                   help="a gold .jsonl whose ids are not drawn again")
    p.add_argument("--split", choices=("validation", "test"), default=None,
                   help="draw from this half's consultations only")
    a = p.parse_args()
    excl = frozenset(json.loads(x)["id"] for x in a.exclude.read_text().splitlines()) \
        if a.exclude else frozenset()
    for sid in sample(a.sample, a.seed, note_share=a.note_share, exclude=excl,
                      cue_share=a.cue_share, split=a.split,
                      cue=HISTORY_CUE if a.history_cues else CUE):
        print(f"{sid}\t{split_of(consultation(sid))}\t{sentence(sid)}")
