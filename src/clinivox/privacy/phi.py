"""PHI in transcript text: find it (`find_phi`) and redact it (`redact`).

Recall first (a missed identifier is the harm), but never a drug or diagnosis name: a span
the medical lexicon knows as a term is never redacted as a name. Everything here runs
offline: pattern recognisers written for how speech recognition writes identifiers (digits
or number words, "double oh"), context cues for names ("Doctor X", "my name is X",
"Mrs X"), and first- and last-name lists from the `faker` package where installed.

Categories: NAME, DATE, AGE (over 89), PHONE, EMAIL, ADDRESS, POSTCODE, ZIP, MRN, NHS, SSN,
INSURANCE, URL, IP, FACILITY.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from clinivox.nlu.numbers import DIGIT_WORDS, NUMBER_WORDS

CATEGORIES = ("NAME", "DATE", "AGE", "PHONE", "EMAIL", "ADDRESS", "POSTCODE", "ZIP", "MRN",
              "NHS", "SSN", "INSURANCE", "URL", "IP", "FACILITY")
POLICIES = ("tag", "surrogate", "hash")


@dataclass(frozen=True)
class PhiSpan:
    category: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return {"category": self.category, "start": self.start, "end": self.end}


_DIGIT_WORDS = DIGIT_WORDS
_DW = "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
_SPOKEN_DIGITS = re.compile(
    rf"\b(?:(?:double|triple)\s+)?(?:{_DW}|\d+)(?:[\s,-]+(?:(?:double|triple)\s+)?"
    rf"(?:{_DW}|\d+)\b){{3,}}", re.IGNORECASE)
# a number said as Whisper writes a phone number read out in groups: digit words, then a
# cardinal for the rest ("oh nine six two four five hundred ninety five thousand seven
# hundred eleven"), digits with commas ("159,000"), "to" misheard for "two". Seven tokens
# and more of nothing but number words is an identifier: a dose, a vital or a date says
# other words between its numbers. A phone number's tail left as a cardinal kept six of its
# digits in words after "[PHONE]".
_NUM_TOKEN = (rf"(?:zero|oh|o|nought|{'|'.join(NUMBER_WORDS)}|hundred|thousand|million|"
              r"double|triple|\d+(?:,\d{3})*)")
_NUMBER_RUN = re.compile(rf"\b{_NUM_TOKEN}(?:[\s,-]+(?:(?:and|to|too)\s+)?{_NUM_TOKEN}\b){{6,}}",
                         re.IGNORECASE)
# (words after a space only, and two of them or a group of 3+ digits: "[ZIP], two blocks
# away" keeps its "two", "MRN ..., two tablets" its dose)
_NUMBER_TAIL = re.compile(rf"(?:\s+(?:(?:and|to|too)\s+)?{_NUM_TOKEN}\b|,\s*\d[\d,]*\b)+",
                          re.IGNORECASE)
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_ORDINAL = (r"(?:\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|eighth|"
            r"ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|"
            r"seventeenth|eighteenth|nineteenth|twentieth|twenty[- ](?:first|second|third|"
            r"fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|thirty[- ]first)")
# a year written or said, as Whisper writes it: "1986", "nineteen eighty-six", "nineteen oh
# two", "two thousand and nine" (the hyphen of "eighty-six" once ended the match, leaving
# "-six" of a birth year in the clear)
_YEAR_WORD = (r"(?:oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
              r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
              r"forty|fifty|sixty|seventy|eighty|ninety|hundred)\b")
_DAY_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
             r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty(?:[- ](?:one|two|"
             r"three|four|five|six|seven|eight|nine))?|thirty(?:[- ]one)?)")
_YEAR = (rf"(?:(?:19|20)\d{{2}}|nineteen[ -]{_YEAR_WORD}(?:[ -]{_YEAR_WORD})?|"
         rf"two thousand(?: and)?(?:[ -]{_YEAR_WORD}){{0,2}})")
_NUMBER_WORDS = "|".join((*NUMBER_WORDS, "hundred", "and"))
_TITLE = r"(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Nurse|Sister|Matron|Sir|Dame)"
# a capitalised name word, whole: "O'Brien", "McDonald", "Garcia-Lopez", "Mary's" (a first
# version stopped at the inner capital, and "Mr O'Brien" was redacted "Mr [NAME]Brien")
_CAP = (r"(?:[A-Z](?:['\u2019][A-Z])?[a-z]+(?:[A-Z][a-z]+)?(?:['\u2019]s?)?"
        r"(?:-[A-Z](?:['\u2019][A-Z])?[a-z]+(?:[A-Z][a-z]+)?)*)")
_PARTICLES = r"(?:(?:van|von|de|del|della|der|den|di|da|du|la|le|bin|ibn|al|el|ter|ten)[\s-]+){0,2}"
_STREET = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Close|Way|Court|Crescent|Place|"
           r"Boulevard|Blvd|Terrace|Gardens|Grove|Hill|Park|Square|Mews|Row|Walk)")
_FACILITY = (r"(?i:(?:(?:general|district|community|royal|university|memorial|children's|"
             r"county|city|teaching)\s+)*(?:Hospital|Infirmary|Clinic|Medical Centre|"
             r"Medical Center|Health Centre|Health Center|Surgery|Practice|Hospice|"
             r"Care Home|Nursing Home|Trust))")

PATTERNS: list[tuple[str, re.Pattern]] = [
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    # as speech recognition writes an address it heard: "jane dot doe at example dot com"
    # (the name's parts joined by the words said for the symbols: "john underscore smith")
    ("EMAIL", re.compile(r"\b[\w.-]+(?:\s+(?:dot|underscore|dash|hyphen|plus)\s+[\w-]+)*"
                         r"\s+at\s+[\w-]+(?:\s*(?:dot|\.)\s*"
                         r"[\w-]+)*\s*(?:dot|\.)\s*(?:com|org|net|co|uk|nhs|gov|edu|io|info)"
                         r"\b(?:\s*(?:dot|\.)\s*(?:uk|us|au|nz))?", re.IGNORECASE)),
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)]",
                       re.IGNORECASE)),
    ("IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("MRN", re.compile(r"(?i:\b(?:mrn|medical record number|hospital number|patient number|"
                       r"record number|unit number|case number|chart number)"
                       r"(?:\s+(?:is|was))?\s*:?\s*)(?P<id>[A-Z]{0,3}\d[\dA-Z\s-]{3,}\d|"
                       rf"(?:(?:double|triple)\s+)?(?:{_DW})(?:[\s,-]+(?:(?:double|triple)\s+)?"
                       rf"(?:{_DW}|\d+)){{3,}})", re.IGNORECASE)),
    ("INSURANCE", re.compile(r"(?i:\b(?:insurance|policy|member|medicare|medicaid)"
                             r"\s+(?:number|no|id)(?:\s+(?:is|was))?\s*:?\s*)"
                             r"(?P<id>[A-Z0-9][A-Z0-9-]{4,})", re.IGNORECASE)),
    # the inward code as Whisper may case it ("CF-43Hb"), with a capital; its two letters
    # never use C, I, K, M, O or V (Royal Mail), so "B12 3MG" is a dose, not a postcode
    # (and with a space inside it, as the recogniser splits it: "CF-124 QW" for CF12 4QW)
    ("POSTCODE", re.compile(r"\b[A-Z]{1,2}-?\d[A-Z\d]?[\s-]?\d\s?(?![A-Za-z]*[CIKMOVcikmov])"
                            r"(?:[A-Z]{2}|[A-Z][a-z]|[a-z][A-Z])\b")),
    ("ZIP", re.compile(r"(?i:\b(?:zip(?: code)?|[A-Z]{2})\s+)(?P<id>\d{5}(?:-\d{4})?)\b")),
    ("PHONE", re.compile(r"(?<![\d-])(?:\+44\s?|\+1[\s-]?|0)\(?\d{2,4}\)?[\s-]?\d{3,4}[\s-]?"
                         r"\d{3,4}\b|(?<![\d-])\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")),
    ("DATE", re.compile(
        rf"\b(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
        rf"(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?(?:{_MONTHS})\b(?:,?\s+{_YEAR})?|"
        rf"(?:{_MONTHS})\s+(?:the\s+)?{_ORDINAL}\b(?:,?\s+{_YEAR})?|"
        rf"(?:born|dob|date of birth)(?:\s+(?:is|was|on|in))*\s*:?\s*{_YEAR}|"
        # a day said as a number before a month and year, as people say a date of birth
        # ("twelve August nineteen fifty eight", "seventeen of January, 1987")
        rf"(?:{_DAY_WORD})\s+(?:of\s+)?(?:{_MONTHS})\b,?\s+{_YEAR}|"
        # a month and its year: every element of a date but the year is PHI (HIPAA)
        rf"(?:{_MONTHS})\.?,?\s+(?:of\s+)?{_YEAR})", re.IGNORECASE)),
    ("ADDRESS", re.compile(rf"\b(?:(?:flat|apartment|apt|unit|suite)\.?\s+\w{{1,4}},?\s+)?"
                           # the house number as Whisper may write it: "122.4 to road"
                           rf"(?:\d{{1,5}}(?:[.,]\d{{1,3}})?[A-Za-z]?|(?:{_NUMBER_WORDS})(?:[ -](?:"
                           rf"{_NUMBER_WORDS})){{0,3}})[\s-]+(?:{_CAP}\s+){{1,3}}{_STREET}\b",
                           re.IGNORECASE)),
    # a capitalised name before the facility word, not an article or possessive ("The
    # surgery")
    ("FACILITY", re.compile(rf"\b(?:St\.?\s+|Saint\s+)?(?:(?!(?:The|A|An|This|That|Our|My|"
                            rf"Your|His|Her|Their|Its)\b){_CAP}'?s?\s+){{1,4}}{_FACILITY}\b")),
    # after a title, a surname's particles ("Dr van der Berg", "Mr al-Hassan") and a name
    # in capitals ("Mrs. JONES") are the name too
    # the title in any case: speech recognition writes "seen by doctor Patel", "nurse Jones"
    # (a period only after an abbreviation: "thank you, doctor. Appreciate it" is no name)
    ("NAME", re.compile(rf"\b(?:(?i:dr|mr|mrs|ms|mx|prof)\.?|(?i:{_TITLE}))\s+"
                        rf"(?P<id>{_PARTICLES}(?:{_CAP}|[A-Z]{{2,}}\b)"
                        rf"(?:[\s-]{_CAP})?)")),
    # a title only a surname follows, whatever the case of both ("mrs smith is here")
    ("NAME", re.compile(r"\b(?i:mr|mrs|ms|mx)\.?\s+(?!(?i:and|or)\b)"
                        r"(?P<id>[A-Za-z][\w'\u2019-]*)")),
    # after a cue that can only introduce a name, its words whatever their case: speech
    # recognition writes a name it does not know as other words ("my name is married
    # Oconor" for "Mary O'Connor" was left in the clear). Up to three words, ending at
    # punctuation or a word that starts the next clause
    ("NAME", re.compile(r"(?i:\b(?:my name is|my name's|patient's name is|patient is called|"
                        r"i am called|i'm called|name is)\s+)(?!(?:not|a|an|the|um|uh|er|"
                        r"erm)\b)(?P<id>[A-Za-z][\w'\u2019-]*(?:\s+(?!(?:and|but|so|from|"
                        r"i|i'm|i'd|i've|the|calling|speaking|here|with|um|uh|er|erm|please|"
                        r"thanks|thank|who|how|at|on|in|of|is|was|and|date|born|dob|my|"
                        r"your)\b)[A-Za-z][\w'\u2019-]*){0,2})")),
    ("NAME", re.compile(rf"(?i:\b(?:my name is|name is|name's|i am called|call me|this is|"
                        rf"patient is|patient's name is|speaking to|spoke to|i'm)\s+)"
                        rf"(?:{_TITLE}\.?\s+)?(?P<id>{_PARTICLES}{_CAP}(?:\s{_CAP})?)")),
]
# An identifier after the words that announce it, however speech recognition wrote its
# digits: "zip code 33,288", "hospital number B-621,405", "my mobile is 07-1237-89914",
# "postcode M154 BB". Whisper groups spoken digits with commas, hyphens and spaces of its
# own choosing, so the value is the run of digits, letters and separators after the cue.
_CUES = {
    "POSTCODE": r"post ?code|postal code",
    "ZIP": r"zip(?: code)?",
    "NHS": r"nhs number",
    "MRN": r"mrn|medical record number|hospital number|patient number|record number|"
           r"unit number|case number|chart number|hospital id|patient id|patient identifier|"
           r"id number|identification number|reference number|ref number",
    "SSN": r"social security number|ssn",
    "INSURANCE": r"insurance number|policy number|member id|medicare number|"
                 r"medicaid number",
    "PHONE": r"phone number|telephone number|mobile number|contact number|mobile|"
             r"landline|phone|telephone|call me on|reach me on|number is",
}
# "hospital number" is also written "hospital no." or "hospital no"
_CUES = {cat: re.sub(r"(\w) number\b", r"\1 (?:number|no\\.?)", cue) for cat, cue in _CUES.items()}
_CUED = [(cat, re.compile(
    rf"\b(?:{cue})(?:\s+(?:is|was|number))*\s*:?\s*(?P<id>"
    + (r"[A-Za-z]{1,2}[\s-]?\d[A-Za-z\d]?[\s-]?\d?[\s-]?[A-Za-z]{1,3}\b" if cat == "POSTCODE"
       else rf"[A-Za-z]{{0,3}}[\s-]?\d(?:[\d\s,.-]*\d)?|(?:(?:{_DW}|{_NUMBER_WORDS}|thousand|"
            rf"double|triple)[\s,-]+){{2,}}(?:{_DW}|{_NUMBER_WORDS}|thousand)\b")
    + r")", re.IGNORECASE)) for cat, cue in _CUES.items()]
# a house number and the words after it, where the words before say it is where someone
# lives, however speech recognition wrote the street ("lives alone at 145 Morse tree",
# "address is 211, bought us the lane"): up to the street's end or a word that starts the
# next clause
_ADDRESS_STOP = r"(?:and|with|near|in|on|for|but|who|where|since|to|from|takes|taking|" \
    r"has|have|had|is|was|who's|which|because|so)"
_ADDRESS_CUE = re.compile(
    r"\b(?:(?:lives?|living|lived|resides?|residing|stays?|staying)\s+(?:alone\s+|now\s+|"
    r"still\s+)?at|address\s+is)\s+(?P<id>\d{1,5}[A-Za-z]?,?"
    rf"(?:[ \t]+(?!{_ADDRESS_STOP}\b)[A-Za-z'-]+){{1,4}})", re.IGNORECASE)
# a long run of digits in groups (phone and other identifiers): 9 or more digits
_DIGIT_RUN = re.compile(r"(?<![\w.,-])\+?\d(?:[\s,.-]?\d){8,}(?![\w-])")
# a date whose digits speech recognition split: "10-0-4-1971"
_SPLIT_DATE = re.compile(r"\b\d{1,2}(?:[-/.]\d{1,2}){1,3}[-/.](?:19|20)\d{2}\b")
# a numeric date read aloud, "slash" and all: "zero three slash zero five slash nineteen
# ninety seven", "10-slash-02-1992"
_NUMWORD = rf"(?:\d+|(?:{_NUMBER_WORDS}|{_DW}|thousand)\b)"
_SLASH_DATE = re.compile(rf"\b{_NUMWORD}(?:[\s-]+{_NUMWORD})?[\s-]*slash[\s-]*{_NUMWORD}"
                         rf"(?:[\s-]+{_NUMWORD})?[\s-]*(?:slash|-)[\s-]*{_NUMWORD}"
                         rf"(?:[\s-]+{_NUMWORD}){{0,4}}", re.IGNORECASE)
# a web or e-mail domain as a word ("example.net", "xlea.example.com"), and the words an
# e-mail cue puts before it ("send the letter to follow a camera net example.net")
_DOMAIN = r"[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|co\.uk|org\.uk|nhs\.uk|ac\.uk|gov\.uk|" \
          r"uk|io|info|edu|gov|us|biz)\b"
_BARE_DOMAIN = re.compile(rf"(?<![@\w.])[\w.+-]*{_DOMAIN}", re.IGNORECASE)
# a domain as speech recognition writes it: "example dot com", "example.com"
_SAID_DOMAIN = r"[\w-]+(?:\s*(?:dot|\.)\s*[\w-]+)*\s*(?:dot|\.)\s*(?:com|org|net|co|uk|nhs|gov|" \
               r"edu|io|info)\b(?:\s*(?:dot|\.)\s*(?:uk|us|au|nz))?"
# after a cue, up to five words before the domain are the address's name as the recogniser
# heard it ("martin never at example dot com" for martindebra@example.com, "Denny's95 at
# example.com"): all of it, not the word before "at" alone
_EMAIL_CUE = re.compile(rf"\b(?:e-?mail (?:[\w']+ ){{0,3}}to|send (?:[\w']+ ){{0,3}}to|"
                        rf"write to|e-?mail (?:me|us|him|her|them) (?:at|on)|"
                        rf"e-?mail(?: address)?(?: is)?)\s+(?!(?:me|us|him|her|them|it)\b)"
                        rf"(?P<id>(?:[\w.+'-]+,?\s+)"
                        rf"{{0,5}}?[\w.+'-]*?(?:{_DOMAIN}|\s*\bat\s+{_SAID_DOMAIN}))",
                        re.IGNORECASE)
# a person said to be a number over 89, with no unit after it ("he is 102", "she's
# ninety-four now"; not "sats are 94 percent", "he is 95 kilos")
_AGE_BARE = re.compile(
    r"\b(?:he|she|i|they|mum|mom|dad|father|mother|patient)(?:'s|'m|\s+is|\s+was|\s+am|"
    r"\s+turned|\s+turns|\s+will be)\s+(?:now\s+|just\s+|nearly\s+|almost\s+)?"
    r"(?P<n>\d{2,3}|(?:a )?hundred(?: and \w+)?|ninety[- ]\w+|ninety)\b"
    r"(?!\s*(?:%|percent|per cent|kg|kilos?|pounds?|lbs?|stone|cm|mg|over|/|degrees|"
    r"beats|bpm|times|minutes|seconds|hours|days|weeks|months|miles|metres|meters|feet|"
    r"mmol|units|\.\d|point))", re.IGNORECASE)
_AGE = re.compile(r"\b(?P<n>\d{2,3}|(?:a )?hundred(?: and \w+)?|ninety[- ]\w+|ninety)"
                  r"(?:[- ]years?[- ]old|[- ]year[- ]old|\s+yo)\b|"
                  r"\b(?:aged|age)\s+(?P<m>\d{2,3}|ninety[- ]\w+|ninety|(?:a )?hundred"
                  r"(?: and \w+)?)\b", re.IGNORECASE)


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus-11 check digit (10 digits)."""
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def spoken_digits(text: str) -> str:
    """ "oh seven seven double oh nine" -> "0770009"."""
    out = []
    repeat = 1
    for w in re.findall(r"[a-z]+|\d+", text.lower()):
        if w == "double":
            repeat = 2
        elif w == "triple":
            repeat = 3
        elif w in _DIGIT_WORDS or w.isdigit():
            out.append((_DIGIT_WORDS.get(w) or w) * repeat)
            repeat = 1
    return "".join(out)


@lru_cache(maxsize=1)
def _names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names from `faker` (empty without it: context cues still work)."""
    try:
        from faker.providers.person.en_GB import Provider as GB
        from faker.providers.person.en_US import Provider as US
    except ImportError:
        return frozenset(), frozenset()
    first = {*GB.first_names, *US.first_names_female, *US.first_names_male}
    last = {*GB.last_names, *US.last_names}
    return frozenset(first), frozenset(last)


@lru_cache(maxsize=1)
def _medical_forms() -> frozenset[str]:
    """Lowercase names of drugs, diagnoses and symptoms (the clinical NLU's: the lexicon's
    forms without the ICD-10-CM index words that are everyday words, "baker", "street"):
    never redacted as a name."""
    try:
        from clinivox.nlu.entities import clinical_forms

        return clinical_forms()
    except Exception:  # the medical extra missing: no lexicon to protect
        return frozenset()


def _everyday(word: str) -> bool:
    try:
        from clinivox.medical.vocabulary import everyday_words

        return word.lower() in everyday_words()
    except Exception:
        return False


# a place a patient is moved from or to, named by a person's name however the rest was
# heard ("transferred from Anderson and Fermory", Anderson Infirmary misheard): the words
# up to the next clause
_MOVED = re.compile(r"\b(?:transferred|moved|admitted|referred|discharged|sent|taken|brought|"
                    r"transfer)\s+(?:back\s+)?(?:from|to|into|at)\s+(?:the\s+)?"
                    r"(?P<id>[A-Z][a-z]+(?:'s)?(?:\s+(?:(?:and|of|&)\s+)?[A-Za-z][a-z]+){0,3}?)"
                    r"(?=\s+(?:with|for|on|in|at|after|because|yesterday|today|last|this)\b|"
                    r"\s*[.,;]|\s*$)")


def _moved_to_named_place(text: str) -> list[PhiSpan]:
    first, last = _names()
    medical = _medical_forms()
    out = []
    for m in _MOVED.finditer(text):
        words = re.findall(r"[A-Za-z]+", m.group("id"))
        if (words[0] in last or words[0] in first) and \
                not any(w.lower() in medical for w in words):
            out.append(PhiSpan("FACILITY", m.start("id"), m.end("id"), m.group("id")))
    return out


def find_phi(text: str) -> list[PhiSpan]:
    """The PHI spans of `text`, by position, not overlapping (the earliest, longest wins)."""
    found: list[PhiSpan] = []
    for category, pattern in PATTERNS:
        for m in pattern.finditer(text):
            g = "id" if "id" in pattern.groupindex and m.group("id") else 0
            found.append(PhiSpan(category, m.start(g), m.end(g), m.group(g)))
    for m in [*_AGE.finditer(text), *_AGE_BARE.finditer(text)]:
        from clinivox.nlu.numbers import parse_number

        raw = m.group("n") or ("m" in m.groupdict() and m.group("m")) or ""
        value = parse_number(raw.replace("a hundred", "hundred"))
        if value is not None and value > 89 and (m.re is not _AGE_BARE or value <= 125):
            g = "n" if m.re is _AGE_BARE else 0  # "he is [AGE]": the number only
            found.append(PhiSpan("AGE", m.start(g), m.end(g), m.group(g)))
    for m in _SPOKEN_DIGITS.finditer(text):
        digits = spoken_digits(m.group(0))
        if len(digits) >= 7:
            kind = "NHS" if nhs_number_valid(digits) else "PHONE"
            found.append(PhiSpan(kind, m.start(), m.end(), m.group(0)))
    for m in _NUMBER_RUN.finditer(text):
        found.append(PhiSpan("PHONE", m.start(), m.end(), m.group(0)))
    for category, pattern in _CUED:
        for m in pattern.finditer(text):
            digits = re.sub(r"\D", "", m.group("id")) or spoken_digits(m.group("id"))
            words = len(re.findall(r"[a-z]+", m.group("id").lower()))
            if len(digits) >= (2 if category == "POSTCODE" else 4) or \
                    (category != "POSTCODE" and words >= 4 and not re.search(r"\d",
                                                                          m.group("id"))):
                kind = "NHS" if nhs_number_valid(digits) else category
                found.append(PhiSpan(kind, m.start("id"), m.end("id"), m.group("id")))
    for m in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        kind = "NHS" if nhs_number_valid(digits) else "PHONE"
        found.append(PhiSpan(kind, m.start(), m.end(), m.group(0)))
    for m in _SLASH_DATE.finditer(text):
        found.append(PhiSpan("DATE", m.start(), m.end(), m.group(0)))
    for m in _SPLIT_DATE.finditer(text):
        found.append(PhiSpan("DATE", m.start(), m.end(), m.group(0)))
    medical = _medical_forms()
    for m in _ADDRESS_CUE.finditer(text):
        # never a drug's or a diagnosis's name: the span ends before the first one
        start = m.start("id")
        end = next((start + w.start() for w in re.finditer(r"[A-Za-z'-]+", m.group("id"))
                    if w.group(0).lower() in medical), m.end("id"))
        while end > start and text[end - 1] in " ,":
            end -= 1
        if re.search(r"[A-Za-z]", text[start:end]):
            found.append(PhiSpan("ADDRESS", start, end, text[start:end]))
    for m in _EMAIL_CUE.finditer(text):
        found.append(PhiSpan("EMAIL", m.start("id"), m.end("id"), m.group("id")))
    for m in _BARE_DOMAIN.finditer(text):
        found.append(PhiSpan("URL", m.start(), m.end(), m.group(0)))
    for m in re.finditer(r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b", text):
        if nhs_number_valid(re.sub(r"\D", "", m.group(0))):
            found.append(PhiSpan("NHS", m.start(), m.end(), m.group(0)))
    found += _listed_names(text)
    found += _surnames_alone(text)
    found += _moved_to_named_place(text)
    kept = [s for s in found
            if not (s.category == "NAME" and s.text.lower().strip(".,") in medical)]
    # earliest first, then longest, then the more specific kind (an NHS number or a date
    # over a phone number, the most generic pattern)
    specific = {"NHS": 0, "DATE": 1, "PHONE": 3}
    kept.sort(key=lambda s: (s.start, -(s.end - s.start), specific.get(s.category, 2)))
    out: list[PhiSpan] = []
    for s in kept:
        if out and s.start < out[-1].end:
            if s.end > out[-1].end and s.category == out[-1].category:
                last = out[-1]
                out[-1] = PhiSpan(last.category, last.start, s.end, text[last.start:s.end])
            elif s.end > out[-1].end:
                # another kind that runs on past the last span: its rest is still PHI ("SSN
                # 123-45-6789, 10 Downing Street": the number took "10", and "Downing
                # Street" was left in the clear)
                start = out[-1].end
                while start < s.end and not text[start].isalnum():
                    start += 1
                if start < s.end:
                    out.append(PhiSpan(s.category, start, s.end, text[start:s.end]))
            continue
        out.append(s)
    # an identifier runs on over the number words said right after it ("[ZIP] to 159,000
    # 10": a phone number the recogniser wrote in pieces)
    for i, span in enumerate(out):
        if span.category not in ("PHONE", "NHS", "MRN", "SSN", "INSURANCE", "ZIP"):
            continue
        tail = _NUMBER_TAIL.match(text, span.end)
        limit = out[i + 1].start if i + 1 < len(out) else len(text)
        if tail is not None and tail.end() <= limit and (
                len(re.findall(rf"\b{_NUM_TOKEN}\b", tail.group(0), re.IGNORECASE)) >= 2
                or re.search(r"\d{3}", tail.group(0))):
            out[i] = PhiSpan(span.category, span.start, tail.end(),
                             text[span.start:tail.end()])
    # a name's possessive is not the name: "Mr Smith's wife" -> "Mr [NAME]'s wife", and the
    # surrogate of "Smith's" is the surrogate of "Smith"
    return [_without_possessive(s) for s in out]


def _without_possessive(span: PhiSpan) -> PhiSpan:
    tail = re.search(r"['\u2019]s?$", span.text) if span.category == "NAME" else None
    if tail is None or tail.start() == 0:
        return span
    return PhiSpan(span.category, span.start, span.end - len(tail.group(0)),
                   span.text[:tail.start()])


@lru_cache(maxsize=1)
def _eponyms() -> dict[str, tuple[str, ...]]:
    """The medical forms by their first word without a possessive ("parkinson" ->
    "parkinson's disease", ...): a surname that starts one is the disease's name."""
    out: dict[str, list[str]] = {}
    for form in _medical_forms():
        first = form.split(" ", 1)[0]
        out.setdefault(re.sub(r"['\u2019]s?$", "", first), []).append(form)
    return {k: tuple(v) for k, v in out.items()}


# words English writes with a capital that are no one's name said alone: months, days,
# languages and nationalities, faiths, "Lord" (some are surnames in the name lists)
_CAPITALISED_WORDS = frozenset((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "english", "french", "german", "welsh", "irish",
    "scottish", "scots", "british", "spanish", "italian", "polish", "dutch", "greek",
    "roman", "latin", "christian", "catholic", "jewish", "muslim", "hindu", "sikh", "lord",
    "god", "christmas", "easter"))


def _surnames_alone(text: str) -> list[PhiSpan]:
    """A capitalised surname of the name lists said alone, as clinicians speak of colleagues
    and patients ("referred him to Smith", "discussed with Patel"), where it is no medical
    name (a surname that is an everyday word, "Hall", only inside a sentence and not after
    an article or a possessive): not an eponym ("Parkinson's", "Wilson's disease",
    "Hodgkin lymphoma": the name of a disease that starts there, or the possessive of a
    word that starts one)."""
    _, last = _names()
    if not last:
        return []
    eponyms = _eponyms()
    medical = _medical_forms()
    lowered = text.lower()
    out = []
    for m in re.finditer(rf"{_CAP}", text):
        token = m.group(0)
        w = re.sub(r"['\u2019]s?$", "", token)
        if w not in last or w.lower() in medical or token.lower() in medical or \
                w.lower() in _CAPITALISED_WORDS:
            continue
        # a surname that is also an everyday word ("Hall", "Gray") only where its capital
        # says it is a name: inside a sentence, not after an article or a possessive
        if _everyday(w) and (re.search(r"(?:^|[.!?:;\n\"]\s*)$", text[:m.start()]) or
                             re.search(r"\b(?:the|a|an|this|that|these|those|my|your|his|her|"
                                       r"our|their|its)\s+$", text[:m.start()], re.IGNORECASE)):
            continue
        forms = eponyms.get(w.lower(), ())
        if forms and (token != w or any(lowered.startswith(f, m.start()) for f in forms)):
            continue
        out.append(PhiSpan("NAME", m.start(), m.start() + len(w), w))
    return out


_KIN_BEFORE = re.compile(
    r"\b(?:son|daughter|wife|husband|partner|boyfriend|girlfriend|fiance|fiancee|mum|mom|"
    r"mother|dad|father|brother|sister|grandson|granddaughter|nephew|niece|friend|colleague|"
    r"neighbour|neighbor|carer|baby|child|stepson|stepdaughter)(?:\s*,)?\s+$", re.IGNORECASE)


def _listed_names(text: str) -> list[PhiSpan]:
    """Capitalised words in the name lists: a first name (with a capitalised word after it,
    or not an everyday word, or not opening a sentence), and a surname after a first name."""
    first, last = _names()
    if not first:
        return []
    out = []
    tokens = list(re.finditer(rf"{_CAP}", text))
    for i, m in enumerate(tokens):
        w = m.group(0).rstrip("'’s")
        if w not in first:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        follows = nxt is not None and text[m.end():nxt.start()].strip() == "" and \
            (nxt.group(0) in last or nxt.group(0) in first or not _everyday(nxt.group(0)))
        opens = m.start() == 0 or re.search(r"[.!?]\s*$", text[:m.start()]) is not None
        # "my son Jack", "her husband Will": after a relative or a person, a first name,
        # however everyday the word
        kin = _KIN_BEFORE.search(text[max(0, m.start() - 30):m.start()]) is not None
        if not follows and not kin and (_everyday(w) or opens):
            continue
        end = nxt.end() if follows and nxt is not None else m.end()
        out.append(PhiSpan("NAME", m.start(), end, text[m.start():end]))
    return out


def _surrogate(span: PhiSpan, salt: str) -> str:
    """A consistent stand-in: the same value gets the same surrogate under one salt."""
    h = hashlib.sha256(f"{salt}|{span.category}|{span.text.lower()}".encode()).hexdigest()
    if span.category == "NAME":
        first, last = _names()
        if first and last:
            fs, ls = sorted(first), sorted(last)
            return f"{fs[int(h[:8], 16) % len(fs)]} {ls[int(h[8:16], 16) % len(ls)]}"
        return f"Person {int(h[:6], 16) % 1000}"
    if span.category == "DATE":  # every date of the record moves by the salt's shift
        from clinivox.privacy.dates import shifted

        moved = shifted(span.text, salt)
        if moved is not None:
            return moved
    if span.category in ("PHONE", "NHS", "MRN", "SSN", "INSURANCE", "ZIP"):
        pool = iter(str(int(h, 16)) * 2)
        if not re.search(r"\d", span.text):  # spoken: as many digits, written as digits
            return "".join(next(pool) for _ in spoken_digits(span.text)) or "0"
        return "".join(next(pool) if ch.isdigit() else ch for ch in span.text)
    return f"[{span.category}-{h[:6]}]"


def redact(text: str, policy: str = "tag", salt: str = "") -> tuple[str, list[PhiSpan]]:
    """`text` with each PHI span replaced: `tag` ("[NAME]"), `surrogate` (a consistent
    stand-in: the same value, the same surrogate, under one `salt`; dates all move by one
    shift of days from the salt, so intervals between them are kept), or `hash` ("[NAME:3fa1
    c2d0]", a salted SHA-256 prefix). Returns the text and the spans found (offsets in the
    original)."""
    if policy not in POLICIES:
        from clinivox.errors import InputError

        raise InputError(f"redaction policy must be one of {POLICIES}, not {policy!r}")
    spans = find_phi(text)
    out, last = [], 0
    for s in spans:
        if policy == "tag":
            rep = f"[{s.category}]"
        elif policy == "hash":
            digest = hashlib.sha256(f"{salt}|{s.text.lower()}".encode()).hexdigest()[:8]
            rep = f"[{s.category}:{digest}]"
        else:
            rep = _surrogate(s, salt)
        out += [text[last:s.start], rep]
        last = s.end
    return "".join(out) + text[last:], spans
