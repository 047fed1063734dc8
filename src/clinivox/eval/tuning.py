"""`clinivox tune`: grid-search the rescoring weights on dev manifests.

Decoding and candidate scoring run once per utterance (the biaser's collecting hook records
every candidate with its AM, LM and length deltas); each grid point then only replays the
decisions, so a grid of hundreds of points costs seconds after one pass over the audio.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clinivox.biasing import BiasProfile, ChunkRewrites, MedicalBiaser
from clinivox.eval.metrics import error_counts, term_recall
from clinivox.io.manifest import ManifestRow

DEFAULT_GRID: dict[str, Sequence[float]] = {
    "am_weight": (0.5, 1.0),
    "lm_weight": (0.1, 0.3, 0.5, 0.7),
    "length_weight": (0.0, 0.5, 1.0, 1.5),
    "bias": (1.0, 2.0, 3.0, 4.0, 6.0),
    "gate_logprob": (-0.5, -0.3, -0.15, 0.0),
}


@dataclass
class UttRecord:
    reference: str
    terms: list[str]
    language: str | None
    chunks: list[ChunkRewrites] = field(default_factory=list)
    plain: str = ""

    def hypothesis(self, profile: BiasProfile) -> str:
        if not self.chunks:
            return self.plain
        out: list[str] = []
        for cr in self.chunks:
            out.extend(cr.texts(cr.decide(profile)))
        return " ".join(t for t in out if t)


def collect(recognizer, biaser: MedicalBiaser, rows: Iterable[ManifestRow], options,
            progress: Callable[[], None] | None = None) -> list[UttRecord]:
    """Decode each row once with the biaser's collecting hook (records, rewrites nothing)."""
    hook = biaser.collecting()
    records = []
    for row in rows:
        segments, _ = recognizer.transcribe(str(row.audio), options, biaser=hook)
        plain = " ".join(s.text for s in segments)
        records.append(UttRecord(row.text or "", list(row.terms or []), row.language,
                                 hook.take(), plain))
        if progress is not None:
            progress()
    return records


@dataclass(frozen=True)
class TuneScore:
    wer: float
    term_recall: float
    errors: int
    words: int


def score(records: Sequence[UttRecord], profile: BiasProfile) -> TuneScore:
    errors = words = found = total = 0
    for r in records:
        hyp = r.hypothesis(profile)
        c = error_counts(r.reference, hyp, r.language)
        errors += c.substitutions + c.deletions + c.insertions
        words += c.reference_length
        f, t = term_recall(r.terms, hyp, r.language)
        found, total = found + f, total + t
    return TuneScore(errors / max(words, 1), found / total if total else 1.0, errors, words)


def grid_search(records: Sequence[UttRecord], base: BiasProfile,
                grid: dict[str, Sequence[float]] | None = None
                ) -> tuple[BiasProfile, TuneScore, list[tuple[BiasProfile, TuneScore]]]:
    """The profile with the lowest WER on `records` (ties: higher term recall, then the
    smaller bias, which inserts less on speech unlike the dev set)."""
    grid = grid or DEFAULT_GRID
    names = list(grid)
    table = []
    for values in itertools.product(*(grid[n] for n in names)):
        changes: dict[str, Any] = dict(zip(names, values, strict=True))
        prof = dataclasses.replace(base, **changes)
        table.append((prof, score(records, prof)))
    best = min(table, key=lambda ps: (ps[1].errors, -ps[1].term_recall, ps[0].bias))
    return best[0], best[1], table
