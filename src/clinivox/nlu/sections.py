"""Sections of a note or a dictated consultation, from the headings clinicians say or write
("Presenting complaint: ...", "On examination ...", "Plan: ...")."""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION_CUES: dict[str, tuple[str, ...]] = {
    "presenting_complaint": ("presenting complaint", "chief complaint", "reason for visit",
                             "history of presenting complaint", "hpc", "pc"),
    "history": ("past medical history", "medical history", "pmh", "social history",
                "family history", "past surgical history", "history"),
    "medications": ("current medications", "medications", "medication", "drug history",
                    "meds", "dh"),
    "allergies": ("allergies", "allergy", "drug allergies"),
    "examination": ("on examination", "examination", "exam", "o/e"),
    "assessment": ("assessment", "impression", "diagnosis", "differential diagnosis"),
    "plan": ("plan", "management", "management plan", "follow up", "follow-up"),
}
_HEADING = re.compile(
    r"(?:^|(?<=[.\n]))\s*(?P<head>" + "|".join(
        re.escape(c) for cues in SECTION_CUES.values() for c in sorted(cues, key=len,
                                                                        reverse=True))
    + r")\s*(?::|-|\.|,)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    name: str  # a key of SECTION_CUES
    start: int  # character offsets of the section's text (after its heading)
    end: int

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start, "end": self.end}


def _name(head: str) -> str:
    head = head.lower()
    for name, cues in SECTION_CUES.items():
        if head in cues:
            return name
    return "other"


def find_sections(text: str) -> list[Section]:
    """Sections by their headings (at a line or sentence start, followed by ':' or similar);
    text before the first heading is in no section."""
    heads = list(_HEADING.finditer(text))
    out = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out.append(Section(_name(m.group("head")), m.end(), end))
    return out


def section_at(sections: list[Section], offset: int) -> str | None:
    for s in sections:
        if s.start <= offset < s.end:
            return s.name
    return None
