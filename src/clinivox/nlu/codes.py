"""ICD-10-CM codes at the level a record uses: a category ("E11", "J45") names a family of
codes, not one a coder may assign. Where the text says nothing more specific, ICD-10-CM's
own default is the unspecified or uncomplicated code under it ("E11" -> E11.9 "without
complications", "J45" -> J45.909 "Unspecified asthma, uncomplicated"); a category with no
such child is left as it is (choosing a side, an encounter or a complication would be a
guess).
"""

from __future__ import annotations

import re
from functools import lru_cache

# the default of an axis: no complication, not intractable, without status migrainosus
# (not any "without": "Migraine without aura" is a type of its own)
_DEFAULT_AXIS = re.compile(r"\b(?:uncomplicated|not intractable|without (?:complications?|"
                           r"status migrainosus|hematuria|bleeding|hemorrhage|perforation|"
                           r"obstruction|exacerbation|coma|mention of))\b", re.IGNORECASE)
_UNSPECIFIED = re.compile(r"(?:^unspecified\b|,\s*unspecified(?:\s+\w+)?$|"
                          r"\bsite not specified$)", re.IGNORECASE)
_AND_UNSPECIFIED = re.compile(r"\bother and unspecified\b", re.IGNORECASE)


def _score(description: str, parent: str, name: str) -> tuple[int, int, int]:
    """How plainly a child code is its parent's default, judged on what the child adds to
    its parent's name ("Unspecified asthma" -> "Unspecified asthma, uncomplicated"), then
    by the words it shares with the name said ("cellulitis": "Cellulitis, unspecified"
    before "Acute lymphangitis, unspecified"), then by the fewest words ("Gastritis,
    unspecified" before "Unspecified chronic gastritis")."""
    added = description[len(parent):] if description.lower().startswith(parent.lower()) \
        else description
    if not added.strip(" ,") or _UNSPECIFIED.search(added.strip(" ,")) or \
            _UNSPECIFIED.search(added):  # the parent's own name again, or "unspecified"
        rank = 3
    elif _DEFAULT_AXIS.search(added):
        rank = 2
    else:
        rank = 1 if _AND_UNSPECIFIED.search(added) else 0
    words = set(re.findall(r"[a-z]+", (name or parent).lower())) - {"unspecified", "other",
                                                                        "and"}
    own = re.findall(r"[a-z]+", description.lower())
    return rank, len(words & set(own)), -len(own)


@lru_cache(maxsize=4096)
def default_code(code: str, name: str = "") -> str:
    """The code a record would carry for `code` when nothing more is known: itself when it
    is a leaf (or unknown, or simple-icd-10-cm is not installed), else its unspecified or
    uncomplicated descendant where ICD-10-CM has one. `name`: the words said or the
    lexicon's name for it, to choose between two unspecified children."""
    try:
        import simple_icd_10_cm as cm
    except ImportError:
        return code
    if not cm.is_valid_item(code):
        return code
    current = code
    while not cm.is_leaf(current):
        children = [c for c in cm.get_children(current) if "-" not in c]
        parent = cm.get_description(current)
        scored = [(*_score(cm.get_description(c), parent, name), -i, c)
                  for i, c in enumerate(children)]
        best = max(scored, default=None)
        if best is None or best[0] == 0:
            return code if current == code else current
        current = best[4]
    return current
