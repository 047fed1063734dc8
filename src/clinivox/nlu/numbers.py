"""Spoken and written numbers as transcripts write them: "75", "sixty", "one thirty" (130),
"a hundred and ten". Shared by the NLU's vitals and the alert rules (one parser)."""

from __future__ import annotations

import re

_UNITS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
          "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_NUM_WORD = "|".join([*_UNITS, *_TEENS, *_TENS, "hundred", "and"])
# the number words from one to ninety, in that order (privacy reads spoken numbers with them)
NUMBER_WORDS = (*(w for w in _UNITS if w != "a"), *_TEENS, *_TENS)
# digits, or up to five number words ("sixty", "one thirty", "a hundred and ten"), each a
# whole word: without the boundary "ninety four" was read as "nine" (the first alternative
# that fits), and "sats ninety four percent" gave no saturation
_NW = rf"(?:{_NUM_WORD})\b"
NUM = rf"(?:\d{{1,3}}|{_NW}(?:[ -]{_NW}){{0,4}})"
# a digit said as a word, as in phone numbers and decimals ("oh seven seven", "point nought
# five"); shared with the PHI rules (privacy.phi), which read spoken numbers the same way
DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "nought": "0",
               **{w: str(v) for w, v in _UNITS.items() if w != "a"}}
_DIGIT_WORD = "|".join(sorted(DIGIT_WORDS, key=len, reverse=True))
# ... or with up to two decimals, written or said ("37.8", "1.75", "thirty seven point eight")
NUM_DECIMAL = (rf"(?:\d{{1,3}}(?:\.\d{{1,2}})?|{_NW}(?:[ -]{_NW}){{0,4}}"
               rf"(?:\s+point\s+(?:{_DIGIT_WORD})(?:\s+(?:{_DIGIT_WORD}))?\b)?)")


def _below_hundred(words: list[str]) -> int | None:
    total = 0
    for w in words:
        if w in _TENS and total == 0:
            total += _TENS[w]
        elif w in _TEENS and total == 0:
            total += _TEENS[w]
        elif w in _UNITS and total % 10 == 0 and total < 100:
            total += _UNITS[w]
        else:
            return None
    return total


def parse_number(s: str) -> float | None:
    """Parse '75', '37.8', 'sixty', 'one thirty' (130), 'a hundred and ten' (110),
    'thirty seven point eight' (37.8)."""
    s = s.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    whole, point, decimals = s.partition(" point ")
    if point:
        digits = [DIGIT_WORDS.get(w) for w in decimals.split()]
        head = parse_number(whole)
        if head is None or not digits or None in digits:
            return None
        return float(f"{head:.0f}.{''.join(d for d in digits if d)}")
    words = [w for w in re.split(r"[ -]+", s) if w and w != "and"]
    if not words:
        return None
    if "hundred" in words:
        i = words.index("hundred")
        head = _below_hundred(words[:i]) if i else 1
        tail = _below_hundred(words[i + 1:]) if words[i + 1:] else 0
        return None if head is None or tail is None else float(head * 100 + tail)
    if len(words) >= 2 and words[0] in _UNITS and words[0] != "a" and \
            (words[1] in _TENS or words[1] in _TEENS):
        tail = _below_hundred(words[1:])  # spoken shorthand: "one thirty" = 130
        return None if tail is None else float(_UNITS[words[0]] * 100 + tail)
    value = _below_hundred(words)
    return None if value is None else float(value)
