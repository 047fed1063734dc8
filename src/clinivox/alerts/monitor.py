"""`AlertMonitor`: critical phrases in streaming hypotheses, negation-aware and deduplicated.

Detection has three layers, all on the clinical NLU (`clinivox.nlu`, the one matcher and
the one ConText implementation that the scribe and the JSON `terms` use too):
- entities: a problem the NLU finds whose ICD-10-CM code falls under a category's codes
  ("cardiac arrest" I46, "haematemesis" K92.0);
- the lexicon: each category's paraphrase patterns and numeric rules, for events said as
  actions or observations rather than named ("no pulse", "start compressions", "seventy
  over forty");
- semantic: each clause compared with the category's example sentences through MiniLM
  embeddings, for wordings neither lists.
Every layer skips a mention whose NLU assertion is absent ("denies chest pain"), historical
("history of seizures"), family ("my father had a stroke") or hypothetical ("watch for
anaphylaxis", "any chest pain"). A possible one alerts ("this could be a stroke").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from clinivox.alerts.categories import Category, builtin_categories
from clinivox.nlu.context import assertion, clause_trigger
from clinivox.nlu.entities import extract_text

log = logging.getLogger(__name__)

CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+|,\s+(?=(?:and |but |so |then )?[a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class AlertOptions:
    semantic: bool = True  # also match clauses to category examples with MiniLM
    semantic_threshold: float = 0.72  # cosine similarity that counts as a match
    dedup_window_s: float = 30.0  # a category does not alert again within this audio time
    fire_on_partials: bool = True  # detect on partial hypotheses, not only finals

    def validate(self) -> None:
        if not 0.0 < self.semantic_threshold < 1.0:
            raise ValueError("semantic_threshold must be in (0, 1)")
        if self.dedup_window_s < 0:
            raise ValueError("dedup_window_s must be >= 0")


@dataclass(frozen=True)
class Detection:
    category: str
    matched_text: str
    method: str  # "lexicon", "rule" or "semantic"
    score: float


@dataclass(frozen=True)
class Alert:
    category: str
    matched_text: str
    method: str
    score: float
    source: str  # "partial" or "final"
    utterance_id: int
    audio_start_s: float  # the utterance's start in audio time
    audio_end_s: float  # audio time up to which the hypothesis covers speech
    emitted_s: float  # stream clock at emission
    latency_s: float  # emitted_s - audio_end_s
    # True when the category already alerted within the dedup window and this detection is
    # stronger (a lexicon or rule hit after a semantic one) or a phrase not heard yet
    escalation: bool = False
    suppressed: int = 0  # this category's detections held back since its previous alert

    def to_dict(self) -> dict:
        return {"type": "alert", "category": self.category, "text": self.matched_text,
                "method": self.method, "score": round(self.score, 3), "source": self.source,
                "utterance_id": self.utterance_id,
                "audio_start_s": round(self.audio_start_s, 3),
                "audio_end_s": round(self.audio_end_s, 3),
                "emitted_s": round(self.emitted_s, 3), "latency_s": round(self.latency_s, 3),
                "escalation": self.escalation, "suppressed": self.suppressed}


# A named entity, a lexicon or a rule hit is firmer evidence than a semantic likeness.
STRENGTH = {"semantic": 0, "lexicon": 1, "rule": 1, "entity": 1}
# NLU assertions that are not an event happening now
NOT_NOW = frozenset({"absent", "historical", "family", "hypothetical"})


def _now(text: str, start: int, end: int) -> bool:
    """The mention text[start:end] is asserted of the patient now (present or possible)."""
    return assertion(text, start, end).value not in NOT_NOW


@dataclass
class _Recent:
    """A category's last alert within the dedup window."""

    end_s: float
    strength: int
    phrases: set[str]
    utterances: set[int]
    suppressed: int = 0

    def covers(self, det: Detection, utterance_id: int) -> bool:
        """True when `det` adds nothing: from an utterance that already alerted (its
        partials and final grow one statement: "he has gone into cardiac" then "cardiac
        arrest, start compressions" is one event), or not stronger and a phrase already
        heard, or a longer or shorter hearing of it (a partial's "70 over 4", its final's
        "70 over 40"). A semantic match's clause grows with every partial, so it is never
        new."""
        if utterance_id in self.utterances:
            return True
        if STRENGTH[det.method] > self.strength:
            return False
        if det.method == "semantic":
            return True
        key = _phrase_key(det.matched_text)
        return any(key in p or p in key for p in self.phrases)


def _phrase_key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9/]+", text.lower()))


def _clean(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")


class AlertMonitor:
    def __init__(self, categories: list[Category] | None = None,
                 options: AlertOptions | None = None, encoder=None) -> None:
        self.options = options or AlertOptions()
        self.options.validate()
        self.categories = categories if categories is not None else builtin_categories()
        names = [c.name for c in self.categories]
        if len(set(names)) != len(names):
            raise ValueError("category names must be unique")
        self._encoder = encoder
        self._examples: np.ndarray | None = None
        self._example_cat: list[str] = []
        if self.options.semantic:
            self._init_semantic()
        self._recent: dict[str, _Recent] = {}
        self.alerts: list[Alert] = []
        self.suppressed: dict[str, int] = {}  # per category, for the whole stream

    def _init_semantic(self) -> None:
        examples = [(c.name, e) for c in self.categories for e in c.examples]
        if not examples:
            return
        try:
            if self._encoder is None:
                from clinivox.nlp.embeddings import default_encoder

                self._encoder = default_encoder()
            self._examples = self._encoder.encode([e for _, e in examples])
            self._example_cat = [c for c, _ in examples]
        except Exception as exc:  # missing model package: lexicon layer still works
            log.warning("semantic alert matching disabled: %s", exc)
            self._examples = None

    # -- detection (stateless) -----------------------------------------------------------
    def detect(self, text: str) -> list[Detection]:
        """Categories mentioned in `text`, best detection per category."""
        text = _clean(text)
        found: dict[str, Detection] = {}
        coded = [c for c in self.categories if c.codes]
        # coded problems only: the learned spans (never coded) are not asked for
        problems = [(e.code, e.text) for e in extract_text(text, learned=False)
                    if e.label == "problem" and e.code and e.assertion not in NOT_NOW
                    ] if coded else []
        for cat in coded:
            hit = next((said for code, said in problems if code.startswith(cat.codes)), None)
            if hit is not None:
                found[cat.name] = Detection(cat.name, hit, "entity", 1.0)
        for cat in self.categories:
            if cat.name in found:
                continue
            det = self._lexical(cat, text)
            if det is not None:
                found[cat.name] = det
        if self._examples is not None:
            for det in self._semantic(text):
                found.setdefault(det.category, det)
        return list(found.values())

    def _lexical(self, cat: Category, text: str) -> Detection | None:
        for pattern in cat.compiled:
            for m in pattern.finditer(text):
                if _now(text, m.start(), m.end()):
                    return Detection(cat.name, m.group(0), "lexicon", 1.0)
        for regex, predicate in cat.rules:
            for m in re.finditer(regex, text, re.IGNORECASE):
                if predicate(m) and _now(text, m.start(), m.end()):
                    return Detection(cat.name, m.group(0), "rule", 1.0)
        return None

    def _semantic(self, text: str) -> list[Detection]:
        clauses = [c.strip(" ,.;!?") for c in CLAUSE_SPLIT.split(text)]
        clauses = [c for c in clauses if len(c.split()) >= 3 and not self._negated_clause(c)]
        if not clauses or self._examples is None or self._encoder is None:
            return []
        sims = self._encoder.encode(clauses) @ self._examples.T  # (clauses, examples)
        out: dict[str, Detection] = {}
        for i, clause in enumerate(clauses):
            j = int(np.argmax(sims[i]))
            score = float(sims[i, j])
            if score >= self.options.semantic_threshold:
                cat = self._example_cat[j]
                if cat not in out or out[cat].score < score:
                    out[cat] = Detection(cat, clause, "semantic", score)
        return list(out.values())

    def _negated_clause(self, clause: str) -> bool:
        """A clause with a trigger of a not-now assertion (the NLU's ConText tables) is not
        matched semantically, unless a lexicon pattern (which may itself contain "not" or
        "no": "not breathing") claims the words and is asserted now."""
        trig = clause_trigger(clause)
        if trig is None or trig.value not in NOT_NOW:
            return False
        for cat in self.categories:
            for pattern in cat.compiled:
                m = pattern.search(clause)
                if m and _now(clause, m.start(), m.end()):
                    return False
        return True

    # -- streaming -----------------------------------------------------------------------
    def process(self, event) -> list[Alert]:
        """Check one StreamEvent; returns new alerts.

        A category alerts once per `dedup_window_s` of audio, except that a stronger or new
        finding within the window alerts again, marked `escalation`: a semantic false
        positive ("I think she is septic" -> shock) must not hide the blood pressure of 70
        over 40 said 13 s later. Held-back detections are counted (`suppressed`, and on the
        next alert of the category)."""
        if event.kind == "partial" and not self.options.fire_on_partials:
            return []
        new = []
        for det in self.detect(event.text):
            last = self._recent.get(det.category)
            held = last.suppressed if last is not None else 0
            recent = last if last is not None and \
                event.end_s - last.end_s < self.options.dedup_window_s else None
            in_window = recent is not None
            if recent is not None and recent.covers(det, event.utterance_id):
                recent.suppressed += 1
                self.suppressed[det.category] = self.suppressed.get(det.category, 0) + 1
                continue
            if recent is not None:
                recent.phrases.add(_phrase_key(det.matched_text))
                recent.utterances.add(event.utterance_id)
                recent.strength = max(recent.strength, STRENGTH[det.method])
                recent.end_s, recent.suppressed = event.end_s, 0
            else:
                self._recent[det.category] = _Recent(
                    event.end_s, STRENGTH[det.method], {_phrase_key(det.matched_text)},
                    {event.utterance_id})
            alert = Alert(det.category, det.matched_text, det.method, det.score, event.kind,
                          event.utterance_id, event.start_s, event.end_s, event.emitted_s,
                          event.latency_s, escalation=in_window, suppressed=held)
            new.append(alert)
        self.alerts.extend(new)
        return new
