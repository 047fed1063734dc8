"""Vital signs in transcript text, spoken or written: "one forty over ninety" -> 140/90 mmHg,
"pulse of 88", "sats 94 percent", "temperature 38.5"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clinivox.nlu.numbers import NUM, NUM_DECIMAL, parse_number

_IS = r"(?:\s+(?:is|was|of|at|are|were|now|around|about))*\s*:?\s*"


@dataclass(frozen=True)
class Vital:
    kind: str  # blood_pressure, heart_rate, temperature, oxygen_saturation, respiratory_rate
    value: str  # "140/90", "88", "38.5"
    unit: str  # "mmHg", "/min", "°C", "%"
    start: int
    end: int
    text: str


_BP_LABELLED = re.compile(rf"\b(?:blood pressure|bp|pressure){_IS}(?P<sys>{NUM})\s*(?:over|/)\s*"
                          rf"(?P<dia>{NUM})", re.IGNORECASE)
_BP_BARE = re.compile(rf"\b(?P<sys>{NUM})\s+over\s+(?P<dia>{NUM})\b", re.IGNORECASE)
_SIMPLE = [
    ("heart_rate", "/min", re.compile(
        rf"\b(?:heart rate|pulse(?: rate)?|hr){_IS}(?P<v>{NUM})(?:\s*(?:beats per minute|bpm))?",
        re.IGNORECASE)),
    ("oxygen_saturation", "%", re.compile(
        rf"\b(?:sats|saturations?|sat|oxygen saturations?|o2 sats|spo2){_IS}(?P<v>{NUM})"
        r"\s*(?:%|percent|per cent)?", re.IGNORECASE)),
    ("respiratory_rate", "/min", re.compile(
        rf"\b(?:respiratory rate|resp rate|rr|breathing rate){_IS}(?P<v>{NUM})",
        re.IGNORECASE)),
    ("temperature", "°C", re.compile(
        rf"\b(?:temperature|temp|temp's|febrile at){_IS}(?P<v>{NUM_DECIMAL})"
        r"(?:\s*(?:degrees|°)\s*(?:c|celsius|centigrade|f|fahrenheit)?)?", re.IGNORECASE)),
]
_PLAUSIBLE = {"heart_rate": (20, 250), "oxygen_saturation": (50, 100),
              "respiratory_rate": (4, 70), "temperature": (30, 110)}


def _bp(m: re.Match, labelled: bool) -> Vital | None:
    sys_, dia = parse_number(m.group("sys")), parse_number(m.group("dia"))
    if sys_ is None or dia is None:
        return None
    if not (50 <= sys_ <= 260 and 20 <= dia <= 160 and dia < sys_):
        return None
    if not labelled and sys_ < 70:  # "six over ten" is not a pressure
        return None
    return Vital("blood_pressure", f"{sys_:.0f}/{dia:.0f}", "mmHg", m.start(), m.end(),
                 m.group(0))


def find_vitals(text: str) -> list[Vital]:
    """The vital signs in `text`, by position."""
    out: list[Vital] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or y <= a for x, y in taken)

    for pattern, labelled in ((_BP_LABELLED, True), (_BP_BARE, False)):
        for m in pattern.finditer(text):
            v = _bp(m, labelled)
            if v is not None and free(v.start, v.end):
                out.append(v)
                taken.append((v.start, v.end))
    for kind, unit, pattern in _SIMPLE:
        for m in pattern.finditer(text):
            value = parse_number(m.group("v"))
            lo, hi = _PLAUSIBLE[kind]
            if value is None or not lo <= value <= hi or not free(m.start(), m.end()):
                continue
            shown_unit = "°F" if kind == "temperature" and value > 45 else unit
            out.append(Vital(kind, f"{value:g}", shown_unit, m.start(), m.end(), m.group(0)))
            taken.append((m.start(), m.end()))
    return sorted(out, key=lambda v: v.start)
