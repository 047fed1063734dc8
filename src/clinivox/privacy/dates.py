"""Date surrogates that keep intervals: every date of a record moves by the same number of
days (derived from the salt), so "admitted on the 3rd of March, discharged on the 10th of
March" stays a seven-day stay and ages stay right to within the shift; weekdays are not
kept.

Parsed forms: `03/04/1980` and `3.4.80` (day first, as in British records; `dayfirst=False`
for American ones), `1980-04-03`, "the 3rd of April 1980", "April 3rd, 1980", "3 April",
and spoken years ("nineteen eighty", "two thousand and five"). A date that does not parse
(a year alone, "born in nineteen eighty") gets no surrogate here: the caller tags it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from clinivox.nlu.numbers import parse_number

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
             "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
             "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
             "twentieth": 20, "thirtieth": 30}
MAX_SHIFT_DAYS = 365


def shift_days(salt: str) -> int:
    """The record's shift: 1 to MAX_SHIFT_DAYS days, back or forward, from the salt."""
    h = int(hashlib.sha256(f"date-shift|{salt}".encode()).hexdigest()[:8], 16)
    days = h % MAX_SHIFT_DAYS + 1
    return days if h & 1 << 31 else -days


def _month(word: str) -> int | None:
    w = word.lower().rstrip(".")
    return next((i + 1 for i, m in enumerate(MONTHS) if m.startswith(w) and len(w) >= 3),
                None)


def _day(word: str) -> int | None:
    w = word.lower().replace("-", " ")
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", w)
    if m:
        return int(m.group(1))
    if w in _ORDINALS:
        return _ORDINALS[w]
    parts = w.split()
    if len(parts) == 2 and parts[0] in ("twenty", "thirty") and parts[1] in _ORDINALS:
        return (20 if parts[0] == "twenty" else 30) + _ORDINALS[parts[1]]
    return None


def _year(text: str) -> int | None:
    t = text.lower().strip(" ,")
    if re.fullmatch(r"\d{4}", t):
        return int(t)
    if re.fullmatch(r"\d{2}", t):
        y = int(t)
        return 2000 + y if y < 30 else 1900 + y
    words = t.replace("-", " ").split()
    if words[:1] == ["nineteen"] and len(words) > 1:
        tail = parse_number(" ".join(words[1:]))
        return None if tail is None or tail >= 100 else 1900 + int(tail)
    if words[:2] == ["two", "thousand"]:
        rest = [w for w in words[2:] if w != "and"]
        value = parse_number(" ".join(rest)) if rest else 0.0
        return None if value is None or value >= 100 else 2000 + int(value)
    return None


_ORD_RE = (r"(?P<day>\d{1,2}(?:st|nd|rd|th)?|(?:twenty|thirty)[- ]\w+|" +
           "|".join(_ORDINALS) + r")")
_MONTH_RE = r"(?P<month>" + "|".join(m[:3] + r"\w*" for m in MONTHS) + r")"
_YEAR_RE = r"(?P<year>\d{4}|nineteen[ -]\w+(?:[ -]\w+)?|two thousand(?: and)?(?:[ -]\w+)?)"


def parse_date(text: str, dayfirst: bool = True) -> tuple[dt.date, str] | None:
    """The date a PHI span writes, and its style (for writing the surrogate the same way):
    `numeric:<sep>:<dayfirst>`, `iso`, `day_of_month`, `month_day`; None if not a full day
    and month (a missing year is the current one, written back without it)."""
    t = text.strip()
    m = re.fullmatch(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{2,4})", t)
    try:
        if m:
            a, b, y = int(m.group(1)), int(m.group(3)), _year(m.group(4))
            day, month = (a, b) if dayfirst else (b, a)
            return dt.date(y or 0, month, day), f"numeric:{m.group(2)}:{dayfirst}:" \
                f"{len(m.group(4))}"
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "iso"
        m = re.fullmatch(rf"(?:the\s+)?{_ORD_RE}\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+{_YEAR_RE})?",
                         t, re.IGNORECASE)
        style = "day_of_month"
        if not m:
            m = re.fullmatch(rf"{_MONTH_RE}\s+(?:the\s+)?{_ORD_RE}(?:,?\s+{_YEAR_RE})?", t,
                             re.IGNORECASE)
            style = "month_day"
        if not m:
            return None
        d, mo = _day(m.group("day")), _month(m.group("month"))
        year = _year(m.group("year")) if m.group("year") else None
        if d is None or mo is None or (m.group("year") and year is None):
            return None
        day, month = d, mo
        style += "" if year else ":noyear"
        return dt.date(year or dt.date.today().year, month, day), style
    except ValueError:  # the 31st of February
        return None


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_date(d: dt.date, style: str) -> str:
    if style.startswith("numeric:"):
        _, sep, dayfirst, ylen = style.split(":")
        a, b = (d.day, d.month) if dayfirst == "True" else (d.month, d.day)
        year = f"{d.year:04d}" if ylen == "4" else f"{d.year % 100:02d}"
        return f"{a:02d}{sep}{b:02d}{sep}{year}"
    if style == "iso":
        return d.isoformat()
    month = MONTHS[d.month - 1].capitalize()
    year = "" if style.endswith(":noyear") else f" {d.year}"
    if style.startswith("day_of_month"):
        return f"the {_ordinal(d.day)} of {month}{year}"
    return f"{month} {_ordinal(d.day)}{',' if year else ''}{year}"


def shifted(text: str, salt: str, dayfirst: bool = True) -> str | None:
    """`text` (a date) moved by the salt's shift, written in its own style; None when it
    does not parse."""
    parsed = parse_date(text, dayfirst)
    if parsed is None:
        return None
    d, style = parsed
    return format_date(d + dt.timedelta(days=shift_days(salt)), style)
