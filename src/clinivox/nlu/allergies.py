"""A statement that there are no allergies ("NKDA", "no known drug allergies", "I'm not
allergic to anything"). It is not an entity (the gold set's guidelines annotate none, and a
record's allergy list holds allergens), but a record must tell "no known allergies, stated"
from "allergies not asked": an empty list says neither.
"""

from __future__ import annotations

import re

from clinivox.nlu.context import assertion

NO_KNOWN_ALLERGIES = re.compile(
    r"\b(?:NKDAs?|NKA|NKFA|"
    r"(?:no|nil|not\s+any)\s+known\s+(?:drug\s+|medication\s+|food\s+)?allerg(?:y|ies)|"
    r"allerg(?:y|ies)\s*[:\-]\s*(?:none|nil|no|nkda|nka)\b|"
    r"(?:no|nil)\s+(?:drug\s+|medication\s+)?allergies|"
    r"not\s+allergic\s+to\s+any(?:thing|\s+(?:medications?|medicines?|drugs?|foods?|"
    r"tablets?))|"
    r"(?:do\s+not|don't|does\s+not|doesn't)\s+have\s+any\s+(?:known\s+)?allergies)",
    re.IGNORECASE)


# a question about allergies answered no at once: "Any allergies? No, none."
ASKED = re.compile(r"\ballerg(?:y|ies|ic\s+to\s+anything)\s*\?\s*", re.IGNORECASE)
ANSWER_NO = re.compile(r"^(?:(?:um+|uh+|er+|erm|well|so)[\s,]+)?(?:no|nope|none|nothing|"
                       r"not\s+that\s+I(?:'m|\s+am)\s+aware(?:\s+of)?|not\s+that\s+I\s+know(?:\s+of)?|"
                       r"I\s+don't\s+think\s+so)\b(?![\s,]+(?:but|except|apart|just|only|other))",
                       re.IGNORECASE)


# "no allergies apart from penicillin": an exception is an allergy there is
_EXCEPT = re.compile(r"^[\s,]*(?:apart\s+from|except|other\s+than|besides|bar|but|aside\s+from|"
                     r"save\s+for|only)\b", re.IGNORECASE)


def no_known_allergies(text: str) -> bool:
    """Whether `text` states that the patient has no known allergies (not a question about
    them: "no allergies?" or "if you have no allergies" assert nothing), or answers a
    question about them with a plain no ("Any allergies? No, none.")."""
    for m in ASKED.finditer(text):
        if ANSWER_NO.match(text[m.end():]):
            return True
    for m in NO_KNOWN_ALLERGIES.finditer(text):
        if _EXCEPT.match(text[m.end():]):
            continue
        said = assertion(text, m.start(), m.end()).value
        # the statement is itself negative: ConText reads its own "no" inside the span as
        # nothing, and a question or a condition around it as hypothetical
        if said in ("present", "absent"):
            return True
    return False
