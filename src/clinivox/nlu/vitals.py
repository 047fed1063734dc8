"""Vital signs and bedside measurements in transcript text, spoken or written: "one forty
over ninety" -> 140/90 mmHg, "pulse of 88", "sats 94 percent", "temperature 38.5", "weighs
fourteen stone" -> 88.9 kg, "five foot ten" -> 177.8 cm, "BMI 26.8", "blood sugar 12.4"
-> 12.4 mmol/L, "pain eight out of ten" -> 8 /10.

Weight and height are given in the units a record keeps (kg, cm) whatever units were said.
A measurement needs its name ("weight 82 kg", "weighs 82 kilos", "BMI 26"), or for a height
feet and inches ("she is five foot four"); never a bare number or a unit alone ("lost 3
kilos" is a change, "a 45 cm wound" a size)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clinivox.nlu.numbers import NUM, NUM_DECIMAL, parse_number

_IS = (r"(?:\s+(?:is|was|of|at|are|were|now|around|about|roughly|approximately|has been|"
       r"have been|been|running|reading|read))*\s*:?\s*")


@dataclass(frozen=True)
class Vital:
    kind: str  # blood_pressure, heart_rate, temperature, oxygen_saturation, respiratory_rate,
    # weight, height, bmi, blood_glucose, pain_score
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

_D = NUM_DECIMAL
_KG = r"(?:kg|kgs|kilos?|kilograms?|kilogrammes?)"
_LB = r"(?:lbs?|pounds?)"
_STONE = r"(?:st|stone)"
_WEIGHT_NAME = r"(?:weight|weigh|weighs|weighing|weighed|wt)"
# "weight 82 kg", "weighs fourteen stone six", "weighing 180 pounds", "82 kilos"
_WEIGHT = re.compile(
    rf"(?:\b{_WEIGHT_NAME}{_IS})?\b(?:(?P<kg>{_D})\s*{_KG}|"
    rf"(?P<st>{NUM})\s*{_STONE}(?:\s+(?:and\s+)?(?P<st_lb>{NUM})(?:\s*{_LB})?)?|"
    rf"(?P<lb>{NUM})\s*{_LB})\b", re.IGNORECASE)
_WEIGHT_NAMED = re.compile(rf"\b{_WEIGHT_NAME}\b", re.IGNORECASE)
_CM = r"(?:cm|centimet(?:er|re)s?)"
_M = r"(?:m|met(?:er|re)s?)"
_FOOT = r"(?:foot|feet|ft)"
_INCH = r"(?:inch|inches|in)"
_HEIGHT_NAME = r"(?:height|tall|stands)"
# "height 175 cm", "1.75 metres tall", "five foot ten", "6 ft 1 in"
_HEIGHT = re.compile(
    rf"(?:\b{_HEIGHT_NAME}{_IS})?\b(?:(?P<cm>{_D})\s*{_CM}|(?P<m>{_D})\s*{_M}|"
    rf"(?P<ft>{NUM})\s*{_FOOT}(?:\s+(?:and\s+)?(?P<inch>{NUM})(?:\s*{_INCH})?)?)"
    rf"(?:\s+tall)?\b", re.IGNORECASE)
_HEIGHT_NAMED = re.compile(rf"\b{_HEIGHT_NAME}\b", re.IGNORECASE)
_BMI = re.compile(rf"\b(?:bmi|body mass index){_IS}(?P<v>{_D})\b", re.IGNORECASE)
# capillary or blood glucose; a value over 35 is mg/dL (a glucose of 35 mmol/L is
# extreme but reported, 36 mg/dL is a hypo and says so in its unit)
_GLUCOSE = re.compile(
    rf"\b(?:blood sugars?|blood glucose|sugars?|glucose|cbg|capillary (?:blood )?glucose|"
    rf"glucose level|sugar levels?){_IS}(?P<v>{_D})\b\s*(?P<unit>mmol(?:/l| per litre)?|"
    rf"millimoles?(?: per litre)?|mg/dl|milligrams? per decilitre)?", re.IGNORECASE)
# "pain eight out of ten", "pain score of 7/10", "it's a nine out of ten pain"
_PAIN = re.compile(
    rf"\bpain\b(?:\s+(?:score|scale|scores))?[^.?!\d]{{0,30}}?\b(?P<v>{NUM})\s*"
    rf"(?:out of|/)\s*(?:ten|10)\b|\b(?P<v2>{NUM})\s*(?:out of|/)\s*(?:ten|10)"
    rf"(?:\s+(?:for\s+)?(?:the\s+)?pain\b)", re.IGNORECASE)


def _said(s: str | None) -> float | None:
    """A number said or written; never "a" or "and" alone (the number pattern's words)."""
    if not s or not re.search(r"\d|[a-z]{3,}", s.lower().replace("and", "")):
        return None
    return parse_number(re.sub(r"^an?\s+", "", s.strip(), flags=re.IGNORECASE))


def _fmt(value: float) -> str:
    return f"{round(value, 1):g}"


def _weight(m: re.Match) -> float | None:
    if m.group("kg"):
        kg = _said(m.group("kg"))
    elif m.group("st"):
        st = _said(m.group("st"))
        lb = _said(m.group("st_lb")) if m.group("st_lb") else 0.0
        kg = None if st is None or lb is None or lb >= 14 else (st * 14 + lb) * 0.45359237
    else:
        lb = _said(m.group("lb"))
        kg = None if lb is None else lb * 0.45359237
    return kg if kg is not None and 1 <= kg <= 350 else None


def _height(m: re.Match) -> float | None:
    if m.group("cm"):
        cm = _said(m.group("cm"))
    elif m.group("m"):
        metres = _said(m.group("m"))
        cm = None if metres is None or metres > 2.5 else metres * 100
    else:
        ft = _said(m.group("ft"))
        inch = _said(m.group("inch")) if m.group("inch") else 0.0
        cm = None if ft is None or inch is None or ft > 8 or inch >= 12 else \
            (ft * 12 + inch) * 2.54
    return cm if cm is not None and 40 <= cm <= 250 else None


def _bp(m: re.Match, labelled: bool) -> Vital | None:
    sys_, dia = _said(m.group("sys")), _said(m.group("dia"))
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
            value = _said(m.group("v"))
            lo, hi = _PLAUSIBLE[kind]
            if value is None or not lo <= value <= hi or not free(m.start(), m.end()):
                continue
            shown_unit = "°F" if kind == "temperature" and value > 45 else unit
            out.append(Vital(kind, f"{value:g}", shown_unit, m.start(), m.end(), m.group(0)))
            taken.append((m.start(), m.end()))
    _measurements(text, out, free, taken)
    return sorted(out, key=lambda v: v.start)


def _measurements(text: str, out: list[Vital], free, taken: list[tuple[int, int]]) -> None:
    """Weight, height, BMI, blood glucose and pain scores."""

    def add(kind: str, value: str, unit: str, m: re.Match) -> None:
        if free(m.start(), m.end()):
            out.append(Vital(kind, value, unit, m.start(), m.end(), m.group(0).strip()))
            taken.append((m.start(), m.end()))

    for m in _WEIGHT.finditer(text):
        # a weight needs its name: "lost 3 kilos" is a change, "a 5 pound note" money
        if _WEIGHT_NAMED.search(m.group(0)) and (kg := _weight(m)) is not None:
            add("weight", _fmt(kg), "kg", m)
    for m in _HEIGHT.finditer(text):
        # lengths are sizes and distances as often as heights: a height needs its name or
        # "tall", or is said in feet and inches ("she is five foot four")
        named = _HEIGHT_NAMED.search(m.group(0)) is not None
        if (named or m.group("inch")) and (cm := _height(m)) is not None:
            add("height", _fmt(cm), "cm", m)
    for m in _BMI.finditer(text):
        value = _said(m.group("v"))
        if value is not None and 10 <= value <= 90:
            add("bmi", _fmt(value), "kg/m²", m)
    for m in _GLUCOSE.finditer(text):
        value = _said(m.group("v"))
        unit = (m.group("unit") or "").lower()
        if value is None:
            continue
        if unit.startswith("mg") or unit.startswith("milligram") or (not unit and value > 35):
            if 10 <= value <= 1000:
                add("blood_glucose", _fmt(value), "mg/dL", m)
        elif 0.5 <= value <= 60:
            add("blood_glucose", _fmt(value), "mmol/L", m)
    for m in _PAIN.finditer(text):
        value = _said(m.group("v") or m.group("v2"))
        if value is not None and 0 <= value <= 10:
            add("pain_score", f"{value:.0f}", "/10", m)
