"""A second opinion on the learned tagger's spans: a span is kept only where a classifier
reading the whole span says it is a finding.

The tagger (`nlu.span_model`) decides word by word. Alone, on validation batches the
lexicon had not been written on, it adds one false problem for each 1.4 it finds:
fragments and function words ("with" of "problems with your arms"), body parts and tests
labelled as problems, a word the gold set leaves out in that sense ("headache" of
"headache diary"). The check reads each span the tagger proposes (at a looser threshold
than the tagger alone uses) as a whole: a logistic regression over

- the sentence embedding of the span's words (the bundled all-MiniLM-L6-v2, as
  `nlp.embeddings.SentenceEncoder` gives it; not the tagger's adapted copy),
- the tagger's score for the span, its length in words, whether it is only function
  words and what share of it is,
- how close its embedding comes to the nearest problem name of the NLU's tables
  (symptoms and conditions with their lay forms), the nearest body part and the nearest
  test (`reference_phrases`; the embeddings are stored in the model file as they were at
  training, so the features do not move when the tables grow).

It was trained on the tagger's out-of-fold spans on the validation half of the PriMock57
gold set, labelled by whether they match a gold problem (`bench/train_spans.py --check`;
`train.finetune.span_check`), and its thresholds chosen where a false term costs two found
ones (docs/nlu.md). It looks at problems only: the tagger's drugs lose at every threshold.

With the check the learned spans are the default (`CLINIVOX_NLU_SPANS=checked`);
`lexicon` turns them off, `model` takes the tagger's spans unchecked at its own threshold
(more found, more false). `CLINIVOX_NLU_SPANS_CHECK` names a user's check file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import ModelNotFoundError
from clinivox.nlp.embeddings import SentenceEncoder, default_encoder

CHECK_FILE = Path(__file__).resolve().parent / "models" / "span_check.npz"
FEATURES = ("score", "words", "all_function_words", "function_word_share",
            "near_problem", "near_anatomy", "near_test")
REFERENCES = ("problem", "anatomy", "test")
FUNCTION_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "with", "of", "in", "on", "at", "to", "for",
    "from", "by", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that",
    "these", "those", "my", "your", "his", "her", "their", "our", "i", "you", "he", "she",
    "we", "they", "me", "him", "them", "any", "some", "no", "not", "very", "bit", "quite",
    "so", "just", "like", "um", "uh", "yeah", "ok", "okay", "well", "also", "as", "if",
    "then", "than", "there", "here", "what", "which", "who", "how", "when", "where", "do",
    "does", "did", "have", "has", "had", "get", "got", "can", "could", "would", "should",
    "will"})
_WORD = re.compile(r"\w+")


def reference_phrases() -> dict[str, list[str]]:
    """The tables' names a span's embedding is compared with: problems (symptoms and
    conditions with their other forms), body parts, tests (with their other forms)."""
    from clinivox.nlu.concepts import ANATOMY, CONDITIONS, SYMPTOMS, TESTS

    def names(rows: Sequence[tuple[Any, ...]]) -> list[str]:
        return [f for row in rows for f in (row[0], *row[-1].split("|")) if f]

    return {"problem": names(SYMPTOMS + CONDITIONS), "anatomy": list(ANATOMY),
            "test": names(TESTS)}


def features(encoder: SentenceEncoder, references: dict[str, np.ndarray], text: str,
             spans: Sequence[Any]) -> np.ndarray:
    """One row per span (anything with start, end and score): the embedding of its words,
    then FEATURES."""
    if not spans:
        return np.zeros((0, encoder.bert.dim + len(FEATURES)), np.float32)
    written = [text[s.start:s.end] for s in spans]
    emb = encoder.encode(written)
    rows = []
    for s, w, e in zip(spans, written, emb, strict=True):
        words = _WORD.findall(w.lower())
        function = [x in FUNCTION_WORDS for x in words]
        rows.append([float(s.score), float(len(words)), float(all(function)),
                     float(np.mean(function)) if words else 1.0,
                     *(float(np.max(references[k] @ e)) for k in REFERENCES)])
    return np.hstack([emb, np.asarray(rows, np.float32)]).astype(np.float32)


class SpanCheck:
    """`keep(text, spans)`: the spans (of `labels`) the check keeps; `threshold` is the
    tagger's p(outside) threshold its candidates are proposed at."""

    def __init__(self, path: str | os.PathLike | None = None,
                 minilm: str | os.PathLike | None = None) -> None:
        f = Path(path) if path is not None else CHECK_FILE
        if not f.is_file():
            raise ModelNotFoundError(f"span check missing: {f}")
        try:
            data = np.load(f)
            self.meta: dict[str, Any] = json.loads(str(data["meta"]))
            self.w = data["weight"].astype(np.float32)
            self.b = float(data["bias"])
            refs = {k: data[f"ref.{k}"].astype(np.float32) for k in REFERENCES}
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(f"{f.name} is not a valid span check export "
                                     f"({type(exc).__name__})") from exc
        lacking = [k for k in ("features", "threshold", "keep_at", "labels")
                   if k not in self.meta]
        if lacking or tuple(self.meta.get("features", ())) != FEATURES:
            raise ModelNotFoundError(f"{f.name} is not a valid span check: its settings lack "
                                     f"{', '.join(lacking) or 'these features'}")
        # the process's encoder (the alert monitor's too) unless another MiniLM is named
        self.encoder = default_encoder() if minilm is None else SentenceEncoder(minilm)
        if self.w.shape != (self.encoder.bert.dim + len(FEATURES),):
            raise ModelNotFoundError(f"{f.name}: {self.w.shape[0]} weights for "
                                     f"{self.encoder.bert.dim + len(FEATURES)} features")
        self.references = refs
        self.threshold = float(self.meta["threshold"])
        self.keep_at = float(self.meta["keep_at"])
        self.labels = tuple(self.meta["labels"])

    def probabilities(self, text: str, spans: Sequence[Any]) -> np.ndarray:
        """Each span's probability of being a gold problem."""
        x = features(self.encoder, self.references, text, spans)
        return (1.0 / (1.0 + np.exp(-(x @ self.w + self.b)))).astype(np.float32)

    def keep(self, text: str, spans: Sequence[Any]) -> list[Any]:
        mine = [s for s in spans if s.label in self.labels]
        p = self.probabilities(text, mine)
        return [s for s, q in zip(mine, p, strict=True) if q >= self.keep_at]


def stored_references(encoder: SentenceEncoder) -> dict[str, np.ndarray]:
    """The reference embeddings as a check file stores them (float16), back in float32."""
    return {k: encoder.encode(v).astype(np.float16).astype(np.float32)
            for k, v in reference_phrases().items()}
