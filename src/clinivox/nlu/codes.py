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
                           r"obstruction|exacerbation|coma|mention of|dyskinesia))\b",
                           re.IGNORECASE)
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
    from clinivox.medical.icd10cm import tabular

    icd = tabular()
    if icd is None or not icd.is_valid(code):
        return code
    current = code
    while not icd.is_leaf(current):
        children = [c for c in icd.children(current) if "-" not in c]
        parent = icd.description(current)
        scored = [(*_score(icd.description(c), parent, name), -i, c)
                  for i, c in enumerate(children)]
        # where ICD-10-CM refines the parent by its own name and an axis ("Parkinson's
        # disease without dyskinesia"), an "unspecified" child named otherwise is a
        # neighbouring concept ("Parkinsonism, unspecified", G20.C), not the default
        refined = [sc for sc in scored if sc[0] == 2 and
                   icd.description(sc[4]).lower().startswith(parent.lower())]
        if refined:
            scored = [sc for sc in scored if sc[0] != 3 or
                      icd.description(sc[4]).lower().startswith(parent.lower())] or scored
        best = max(scored, default=None)
        if best is None or best[0] == 0:
            return code if current == code else current
        current = best[4]
    return current


# A swelling's code follows its site, as ICD-10-CM's index reads: "Swelling (of) - see also
# Mass, localized" (R22.-: head, neck, trunk, upper limb, lower limb), "- joint - see
# Effusion, joint" (M25.4-), "Edema, localized" (R60.0) for oedema with a site, and the
# project's ankle swelling (R60.0, as `concepts` codes "swollen ankles"). Lymph nodes and
# glands keep their own concept (R59.9). Body part words -> code; the side is not coded
# (the unspecified-side code), as the gold set's guideline says.
_SWELLING_SITES: dict[str, str] = {
    **dict.fromkeys(("head", "face", "forehead", "eye", "eyes", "eyelid", "eyelids", "ear",
                     "ears", "nose", "mouth", "lip", "lips", "tongue", "jaw", "cheek",
                     "cheeks", "scalp", "gum", "gums"), "R22.0"),
    **dict.fromkeys(("neck", "throat"), "R22.1"),
    **dict.fromkeys(("chest", "breast", "breasts", "back", "tummy", "belly", "abdomen",
                     "stomach", "groin", "navel", "trunk", "ribs"), "R22.2"),
    **dict.fromkeys(("arm", "arms", "hand", "hands", "finger", "fingers", "thumb",
                     "thumbs", "forearm", "forearms"), "R22.30"),
    **dict.fromkeys(("leg", "legs", "thigh", "thighs", "calf", "calves", "shin", "shins",
                     "foot", "feet", "toe", "toes", "heel", "heels"), "R22.40"),
    **dict.fromkeys(("joint", "joints"), "M25.40"),
    **dict.fromkeys(("shoulder", "shoulders"), "M25.419"),
    **dict.fromkeys(("elbow", "elbows"), "M25.429"),
    **dict.fromkeys(("wrist", "wrists"), "M25.439"),
    **dict.fromkeys(("hip", "hips"), "M25.459"),
    **dict.fromkeys(("knee", "knees"), "M25.469"),
    **dict.fromkeys(("ankle", "ankles"), "R60.0"),
}
_SIDE = r"(?:(?:left|right|both|lower|upper)\s+)?"
_DET = r"(?:(?:the|my|your|his|her|their|its|both|a|an|one|of)\s+)?"
# "lip swelling", "right knee swelling", "swelling of the lips", "swelling in her left
# ankle", "swollen lips", "my lips are swollen", "her knee has been very swollen"
_SITE_BEFORE = re.compile(r"\b(\w+)\s+$")
_SITE_AFTER = re.compile(rf"^\s+(?:of|in|on|around|at|to|over|under|behind|across)\s+{_DET}"
                         rf"{_DET}{_SIDE}(\w+)\b", re.IGNORECASE)
_SITE_NEXT = re.compile(rf"^\s+{_SIDE}(\w+)\b", re.IGNORECASE)
_SITE_SAID = re.compile(r"\b(\w+)\s+(?:is|are|was|were|has been|have been|had been|got|gets|"
                        r"getting|went|goes|looks?|looked|looking|feels?|felt|seems?|seemed)"
                        r"\s+(?:(?:very|quite|really|so|a bit|a little|slightly|all|more|"
                        r"still|also)\s+)?$", re.IGNORECASE)


def swelling_site_code(text: str, start: int, end: int, site: str | None = None
                       ) -> tuple[str, str] | None:
    """(code, body part) for a swelling at text[start:end], from its `site` (a body part
    said just before it) or the words around it; None when no site is said (the concept's
    own code stands: R60.9, "Edema, unspecified")."""
    written = text[start:end].lower()
    oedema = written in ("oedema", "edema")
    candidates = [site.lower()] if site else []
    before, after = text[max(0, start - 40):start], text[end:end + 50]
    if m := _SITE_BEFORE.search(before):
        candidates.append(m.group(1).lower())
    if m := _SITE_AFTER.match(after):
        candidates.append(m.group(1).lower())
    if written == "swollen":
        if m := _SITE_NEXT.match(after):
            candidates.append(m.group(1).lower())
        if m := _SITE_SAID.search(before):
            candidates.append(m.group(1).lower())
    for part in candidates:
        code = _SWELLING_SITES.get(part.split()[-1])  # "lower back" -> back
        if code:
            return ("R60.0" if oedema else code), part
    return None
