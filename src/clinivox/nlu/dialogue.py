"""Dialogue state for findings asked about: "Any chest pain?" - "No." A consultation states
most of its pertinent negatives (and many positives) as a question and an answer, and
ConText reads each sentence alone: the question's finding is hypothetical, the answer holds
no finding. The answer is what the record needs ("denies chest pain").

The question's entities keep their assertion (the sentence asserts nothing, as the
annotation guidelines and ConText have it); each gets `attributes["answer"]` = "yes" or
"no" when the next turn opens with a plain yes or no, and `answered(e)` gives the finding's
assertion after the answer. Only the question that ends a turn is answered by the next
turn, and only a turn of another speaker (in a transcript with speakers) or the next
sentence (in a text without them: "Chest pain? No.").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import pairwise
from typing import Any

_LEAD = r"^\s*(?:(?:um+|uhm*|uh+|er+|erm+|ah+|oh|well|so|hmm+|mm+)[\s,.]+)*"
YES = re.compile(_LEAD + r"(?:yes|yeah|yep|yup|yea|i\s+do|i\s+have|i\s+did|i've\s+had|it\s+is|"
                 r"it\s+does|it\s+did|a\s+(?:little|bit)|a\s+little\s+bit|sometimes|"
                 r"occasionally|definitely|absolutely|correct|that's\s+right|i\s+am|"
                 r"i'm\s+afraid\s+so)\b(?!\s*[?])", re.IGNORECASE)
NO = re.compile(_LEAD + r"(?:no|nope|nah|none|never|not\s+really|not\s+at\s+all|i\s+don't|"
                r"i\s+haven't|i\s+didn't|i'm\s+not|it\s+isn't|it\s+doesn't|not\s+that\s+i(?:'ve|"
                r"\s+have)?\s+noticed|not\s+that\s+i\s+know(?:\s+of)?|not\s+that\s+i'm\s+aware"
                r"(?:\s+of)?|i\s+don't\s+think\s+so|nothing(?:\s+like\s+that)?)\b(?!\s*[?])",
                re.IGNORECASE)
# an answer that qualifies itself is no plain answer: "No, but ...", "Yes and no",
# "Not sure", "No idea"
_QUALIFIED = re.compile(_LEAD + r"(?:yes\s+and\s+no|no\s+idea|not\s+sure|no\s+no\s+no\s+wait)",
                        re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?:\s+|$)")
# questions whose yes or no says nothing of the patient's finding: about someone else
# ("anyone in your family", "anyone unwell"), a vaccination or a test ("up to date with
# Hepatitis B?", "did they check for diabetes?"), a choice ("is it the palm side, or
# both?", "coughing up anything, or is it dry?") or an open question ("which ...")
_NOT_YES_NO = re.compile(
    r"\b(?:family|anyone|anybody|someone|somebody|people|contacts?|relatives?|parents?|"
    r"mum|mom|mother|dad|father|brothers?|sisters?|siblings?|grand\w+|children|kids?|son|"
    r"daughter|partner|wife|husband|vaccin\w*|immuni[sz]\w*|jabs?|boosters?|"
    r"(?:check|test|screen)(?:ed|ing)?\s+(?:you\s+)?for|which|what|where|when|how|why|who|"
    r"or\s+both|or\s+neither|or\s+not|or\s+(?:is|are|was|were|do|does|did|has|have|would|"
    r"could|can|will)\s+(?:it|you|they|he|she|that|this))\b", re.IGNORECASE)


_YES_WORD = re.compile(r"\b(?:yes|yeah|yep|yup)\b", re.IGNORECASE)
_NO_WORD = re.compile(r"\b(?:no|not|nope|nothing|never)\b", re.IGNORECASE)


def answer_of(reply: str) -> str | None:
    """"yes", "no" or None: how `reply` (the turn after a question) opens. An opening
    that takes itself back is none ("Yep. Uh, no.", "Yeah. No, no, it's a dry cough")."""
    if _QUALIFIED.match(reply):
        return None
    opening = " ".join(reply.split()[:8])
    if NO.match(reply):
        return None if _YES_WORD.search(opening) else "no"
    if YES.match(reply):
        return None if _NO_WORD.search(opening) else "yes"
    return None


def _last_question(text: str) -> tuple[int, int] | None:
    """The span of the question that ends `text`, if it ends with one."""
    body = text.rstrip()
    if not body.endswith("?"):
        return None
    ends = [m.end() for m in _SENTENCE_END.finditer(body[:-1])]
    return (ends[-1] if ends else 0), len(body)


def mark_answers(turns: list[tuple[int, str]], entities: list[Any]) -> None:
    """`turns`: (offset, text) of each turn in order, offsets in the text the entities'
    offsets count; the hypothetical entities of a turn's closing question get the next
    turn's plain yes or no as `attributes["answer"]`."""
    ordered = sorted(entities, key=lambda e: e.start)
    starts = [e.start for e in ordered]
    for (offset, text), (_, reply) in pairwise(turns):
        question = _last_question(text)
        said = answer_of(reply) if question else None
        if said is None or question is None or \
                _NOT_YES_NO.search(text[question[0]:question[1]]):
            continue
        a, b = offset + question[0], offset + question[1]
        asked = [e for e in ordered[bisect_left(starts, a):bisect_left(starts, b)]
                 if e.assertion == "hypothetical" and e.label in ("problem", "drug", "allergy")]
        if said == "yes" and len({e.normalized for e in asked}) > 1:
            continue  # "A or B? Yes": which of them is not said
        heard = reply.lower()
        for e in asked:
            if e.text.lower() in heard or e.normalized.lower() in heard:
                continue  # named again in the reply, with its own assertion there
            e.attributes = {**e.attributes, "answer": said}


# a question about the patient's relatives: "what about your mother?", "any family history
# of heart problems?" (not "your son", "your daughter", "your baby": in a child's
# consultation the child is the patient)
_RELATIVE_ASKED = re.compile(
    r"\b(?:family|mum|mom|mother|dad|father|brothers?|sisters?|siblings?|parents?|"
    r"grand(?:ma|pa|mother|father|parents?|mum|dad)s?|nan|nana|grandad|aunts?|aunties?|"
    r"uncles?|cousins?|relatives?|relations?)\b", re.IGNORECASE)
# a finding the reply says of a third person: "she has diabetes", "he's got high blood
# pressure", "they had strokes"; not when the speaker speaks of themself before it
_THIRD_PERSON = re.compile(r"\b(?:she|he|they)(?:'s|'d|'ve|\s+(?:has|had|have|was|were|got|"
                           r"gets|suffers|suffered|died|passed\s+away|developed))\b",
                           re.IGNORECASE)
_OF_YOU = re.compile(r"\byou(?:'ve|\s+(?:had|have|get|got|were|are|suffer|suffered))\b",
                     re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|myself)\b", re.IGNORECASE)


def mark_relatives(turns: list[tuple[int, str]], entities: list[Any]) -> None:
    """A reply to a question about the patient's relatives: the findings it says of "she",
    "he" or "they" (present, said in no first person before them in their sentence) are
    the relative's, `family` ("What about your mother?" - "She has diabetes."); and a yes to
    "any family history of X?" gives X's hypothetical `attributes["answer"]` = "family".
    ConText reads each sentence alone and has no referent for the pronoun."""
    ordered = sorted(entities, key=lambda e: e.start)
    starts = [e.start for e in ordered]
    for (offset, text), (reply_at, reply) in pairwise(turns):
        question = _last_question(text)
        if question is None or not _RELATIVE_ASKED.search(text[question[0]:question[1]]):
            continue
        # a yes to a relative's finding, unless the question gives it to the patient ("has
        # your mum ever said that you had an allergic reaction?")
        if answer_of(reply) == "yes" and not _OF_YOU.search(text[question[0]:question[1]]):
            a, b = offset + question[0], offset + question[1]
            for e in ordered[bisect_left(starts, a):bisect_left(starts, b)]:
                if e.assertion == "hypothetical" and e.label == "problem" and \
                        e.text.lower() not in reply.lower():
                    e.attributes = {**e.attributes, "answer": "family"}
        end = reply_at + len(reply)
        for e in ordered[bisect_left(starts, reply_at):bisect_left(starts, end)]:
            if e.label != "problem" or e.assertion != "present":
                continue
            at = e.start - reply_at
            opened = max((m.end() for m in _SENTENCE_END.finditer(reply[:at])), default=0)
            before = reply[opened:at]
            if _THIRD_PERSON.search(before) and not _FIRST_PERSON.search(before):
                e.assertion = "family"


def sentence_turns(text: str) -> list[tuple[int, str]]:
    """A text without speakers as turns, each ending with a question: "Any chest pain? |
    No. I have a cough. Any fever? | Yes." (the reply runs to the next question)."""
    out, at = [], 0
    for m in re.finditer(r"\?(?:\s+|$)", text):
        out.append((at, text[at:m.end()]))
        at = m.end()
    if at < len(text):
        out.append((at, text[at:]))
    return out


def answered(entity: Any) -> str:
    """The assertion of a finding once its question was answered: a hypothetical asked and
    answered no is absent, yes present; anything else is its own assertion."""
    said = entity.attributes.get("answer") if entity.assertion == "hypothetical" else None
    return {"no": "absent", "yes": "present", "family": "family"}.get(said or "",
                                                                      entity.assertion)
