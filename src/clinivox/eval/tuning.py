"""`clinivox tune`: grid-search the rescoring weights on dev manifests.

Decoding and candidate scoring run once per utterance (the biaser's collecting hook records
every candidate with its AM, LM and length deltas); each grid point then only replays the
decisions, so a grid of hundreds of points costs seconds after one pass over the audio.

The objective is the word errors plus `insertion_cost` per lexicon term the hypothesis
holds that the reference does not (a wrong drug written into a record costs more than the
one word error WER sees); ties go to the higher term recall, then the smaller bias.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clinivox.biasing import BiasProfile, ChunkRewrites, MedicalBiaser
from clinivox.biasing.verifier import Verifier, examples, fit
from clinivox.errors import InputError
from clinivox.eval.asr import inserted_terms, term_bag
from clinivox.eval.metrics import error_counts, term_recall
from clinivox.io.manifest import ManifestRow

# The weights a replay can change: they enter `Rewrite.gain` or `ChunkRewrites.decide` only.
# The others (retrieval, glossary, screen, proposals) decide which candidates exist and need
# a new pass over the audio.
REPLAYABLE = ("am_weight", "lm_weight", "length_weight", "bias", "gate_logprob", "min_score",
              "rare_penalty", "screen_penalty")

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
    # what the live hook does after the decision (`MedicalBiaser.rewrite`): variant spellings
    # written as the ingredient's name, given the sound key
    respell: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    sound_key: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    # hypothesis -> (word errors, reference words, terms found, terms, inserted terms):
    # most grid points write one of a few hypotheses per utterance
    _scores: dict[str, tuple[int, int, int, int, int]] = field(
        default_factory=dict, repr=False, compare=False)
    _respelt: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def hypothesis(self, profile: BiasProfile, check: Verifier | None = None) -> str:
        """The transcript the live hook writes under `profile` (with `check` as its
        verifier)."""
        if not self.chunks:
            return self.plain
        out: list[str] = []
        for cr in self.chunks:
            out.extend(self._finish(t) for t in cr.texts(cr.decide(profile, check),
                                                         self.sound_key))
        return " ".join(t for t in out if t)

    def _finish(self, text: str) -> str:
        if self.respell is None:
            return text
        got = self._respelt.get(text)
        if got is None:
            got = self._respelt[text] = self.respell(text)
        return got


def collect(recognizer, biaser: MedicalBiaser, rows: Iterable[ManifestRow], options,
            progress: Callable[[], None] | None = None) -> list[UttRecord]:
    """Decode each row once with the biaser's collecting hook (records, rewrites nothing)."""
    hook = biaser.collecting()
    records = []

    def respell(text: str) -> str:
        return biaser.respell(text)[0]

    sound_key = biaser.knowledge.sound_key
    for row in rows:
        segments, _ = recognizer.transcribe(str(row.audio), options, biaser=hook)
        plain = " ".join(s.text for s in segments)
        records.append(UttRecord(row.text or "", list(row.terms or []), row.language,
                                 hook.take(), plain, respell, sound_key))
        if progress is not None:
            progress()
    return records


@dataclass(frozen=True)
class TuneScore:
    wer: float
    term_recall: float
    errors: int
    words: int
    inserted_terms: int = 0  # counted only when `score` is given a term matcher

    @property
    def inserted_per_1k_words(self) -> float:
        return 1000.0 * self.inserted_terms / max(self.words, 1)

    def cost(self, insertion_cost: float = 0.0) -> float:
        return self.errors + insertion_cost * self.inserted_terms

    def to_dict(self) -> dict[str, float]:
        return {"wer": round(self.wer, 4), "term_recall": round(self.term_recall, 4),
                "inserted_terms_per_1k_words": round(self.inserted_per_1k_words, 2),
                "errors": self.errors, "words": self.words,
                "inserted_terms": self.inserted_terms}


def _utterance(r: UttRecord, hyp: str, matcher) -> tuple[int, int, int, int, int]:
    got = r._scores.get(hyp)
    if got is None:
        c = error_counts(r.reference, hyp, r.language)
        f, t = term_recall(r.terms, hyp, r.language)
        ins = inserted_terms(r.reference, hyp, matcher)[1] if matcher is not None else 0
        got = r._scores[hyp] = (c.substitutions + c.deletions + c.insertions,
                                c.reference_length, f, t, ins)
    return got


def score(records: Sequence[UttRecord], profile: BiasProfile, matcher=None,
          check: Verifier | None = None) -> TuneScore:
    """WER and term recall of the replayed hypotheses; with `matcher` (the biaser's
    `TermMatcher`) also the lexicon terms they insert."""
    errors = words = found = total = inserted = 0
    for r in records:
        e, w, f, t, i = _utterance(r, r.hypothesis(profile, check), matcher)
        errors, words, found, total, inserted = \
            errors + e, words + w, found + f, total + t, inserted + i
    return TuneScore(errors / max(words, 1), found / total if total else 1.0, errors, words,
                     inserted)


def grid_search(records: Sequence[UttRecord], base: BiasProfile,
                grid: dict[str, Sequence[float]] | None = None, *, matcher=None,
                insertion_cost: float = 0.0
                ) -> tuple[BiasProfile, TuneScore, list[tuple[BiasProfile, TuneScore]]]:
    """The profile with the lowest cost on `records`: word errors plus `insertion_cost` per
    inserted lexicon term (counted with `matcher`). Ties: higher term recall, then the
    smaller bias, which inserts less on speech unlike the dev set."""
    grid = grid or DEFAULT_GRID
    unknown = sorted(set(grid) - set(REPLAYABLE))
    if unknown:
        raise InputError(f"cannot tune {', '.join(unknown)} by replay (tunable: "
                         f"{', '.join(REPLAYABLE)})")
    if insertion_cost and matcher is None:
        raise ValueError("an insertion cost needs a term matcher to count insertions")
    names = list(grid)
    table = []
    for values in itertools.product(*(grid[n] for n in names)):
        changes: dict[str, Any] = dict(zip(names, values, strict=True))
        prof = dataclasses.replace(base, **changes)
        table.append((prof, score(records, prof, matcher)))
    best = min(table, key=lambda ps: (ps[1].cost(insertion_cost), -ps[1].term_recall,
                                      ps[0].bias))
    return best[0], best[1], table


def parse_grid(specs: Sequence[str]) -> dict[str, Sequence[float]]:
    """`NAME=V1,V2,...` options -> a grid: the default one with these axes replaced or added."""
    grid: dict[str, Sequence[float]] = dict(DEFAULT_GRID)
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or name not in REPLAYABLE:
            raise InputError(f"--grid {spec!r}: give NAME=V1,V2,... with NAME one of "
                             f"{', '.join(REPLAYABLE)}")
        try:
            grid[name] = tuple(float(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise InputError(f"--grid {spec!r}: the values must be numbers") from None
        if not grid[name]:
            raise InputError(f"--grid {spec!r}: no values")
    return grid


VERIFIER_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def fit_verifier(records: Sequence[UttRecord], profile: BiasProfile, matcher,
                 insertion_cost: float = 3.0, folds: int = 5, l2: float = 1.0
                 ) -> tuple[Verifier, dict[str, Any]]:
    """A rewrite verifier for `profile` trained on `records`, its threshold chosen by
    cross-validation: the records in `folds` contiguous blocks (neighbouring rows often
    share a speaker or a consultation), each block scored by a verifier fit on the others,
    and the threshold with the lowest pooled cost (word errors + `insertion_cost` per
    inserted term) kept. Returns the verifier fit on all records and the fold figures."""
    def rows_of(rs: Sequence[UttRecord]) -> tuple[list[list[float]], list[float]]:
        xs: list[list[float]] = []
        ys: list[float] = []
        for r in rs:
            x, y = examples(r.chunks, profile, set(term_bag(r.reference, matcher)))
            xs += x
            ys += y
        return xs, ys

    n = len(records)
    folds = max(2, min(folds, n))
    blocks = [list(range(i * n // folds, (i + 1) * n // folds)) for i in range(folds)]
    pooled = {t: [0, 0] for t in VERIFIER_THRESHOLDS}  # threshold -> [errors, inserted]
    for block in blocks:
        held = set(block)
        train = [records[i] for i in range(n) if i not in held]
        x, y = rows_of(train)
        v = fit(np.asarray(x), np.asarray(y), l2)
        test = [records[i] for i in block]
        for t in VERIFIER_THRESHOLDS:
            sc = score(test, profile, matcher, dataclasses.replace(v, threshold=t))
            pooled[t][0] += sc.errors
            pooled[t][1] += sc.inserted_terms
    best_t = min(VERIFIER_THRESHOLDS,
                 key=lambda t: (pooled[t][0] + insertion_cost * pooled[t][1], -t))
    x, y = rows_of(records)
    v = fit(np.asarray(x), np.asarray(y), l2, best_t, rewrites=len(y), right=int(sum(y)),
            insertion_cost=insertion_cost, folds=folds, l2_penalty=l2)
    report = {"rewrites": len(y), "right": int(sum(y)), "threshold": best_t,
              "cross_validated": {str(t): {"errors": e, "inserted_terms": i}
                                  for t, (e, i) in pooled.items()}}
    return v, report
