"""NegEx-style context: is a mention negated, historical or hypothetical?

A mention is the character span of a matched phrase. Triggers are looked for in the same
clause before the mention (pre-triggers, up to `window` words back) and right after it
(post-triggers). Clause boundaries (".", ";", "but", "however", ...) end a trigger's scope.
Phrases that contain a negation word themselves ("not breathing", "no pulse") are safe:
only text outside the mention is searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEGATION_PRE = (
    "no", "not", "never", "denies", "denied", "denying", "deny", "without", "negative for",
    "no history of", "no evidence of", "no signs of", "no sign of", "absence of", "free of",
    "ruled out", "rule out", "rules out", "not having", "isn't", "isnt", "is not", "wasn't",
    "was not", "doesn't", "does not", "didn't", "did not", "hasn't", "has not", "haven't",
    "have not", "no known", "no prior", "no previous", "nor", "neither", "unremarkable for",
    "nothing", "none",
)
NEGATION_POST = ("ruled out", "was ruled out", "has been ruled out", "is negative",
                 "was negative", "unlikely", "not present", "resolved")
# Non-acute context: a past or family event, a risk, a plan to watch for something.
NON_ACUTE_PRE = (
    "history of", "family history", "in the past", "previous", "previously", "years ago",
    "risk of", "at risk", "watch for", "watch out for", "signs of", "if he", "if she",
    "if you", "if they", "in case", "worried about", "concerned about", "afraid of",
    "any", "ever had", "ever", "information about", "leaflet", "what's a", "what is a",
    "exclude", "symptoms of", "signs and symptoms",
)
NON_ACUTE_POST = ("ago", "last year", "last month", "last week", "as a child", "when i was",
                  "when he was", "when she was", "in the past", "years back", "before")
CLAUSE_BREAK = re.compile(r"[.;:!?]|\b(?:but|however|although|though|except|whereas|yet)\b",
                          re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def _contains(words: list[str], phrase: str) -> bool:
    p = phrase.split()
    return any(words[i:i + len(p)] == p for i in range(len(words) - len(p) + 1))


@dataclass(frozen=True)
class Context:
    negated: bool
    non_acute: bool
    trigger: str | None

    @property
    def suppressed(self) -> bool:
        return self.negated or self.non_acute


def mention_context(text: str, start: int, end: int, window: int = 6) -> Context:
    """Context of the mention `text[start:end]`. A mention in a question is not acute."""
    rest = text[end:]
    stop = re.search(r"[.!?]", rest)
    if stop is not None and stop.group(0) == "?":
        return Context(False, True, "?")
    before = text[:start]
    breaks = list(CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end():]
    pre = _tokens(before)[-window:]
    after = text[end:]
    m = CLAUSE_BREAK.search(after)
    post = _tokens(after[: m.start()] if m else after)[:4]
    for trig in sorted(NEGATION_PRE, key=len, reverse=True):
        if _contains(pre, trig.replace("'", "'")):
            return Context(True, False, trig)
    for trig in NEGATION_POST:
        if _contains(post, trig):
            return Context(True, False, trig)
    for trig in NON_ACUTE_PRE:
        if _contains(pre, trig):
            return Context(False, True, trig)
    post_long = _tokens(after[: m.start()] if m else after)[:8]
    for trig in NON_ACUTE_POST:
        if _contains(post_long, trig):
            return Context(False, True, trig)
    return Context(False, False, None)
