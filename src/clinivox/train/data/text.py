"""Text for synthetic clinical speech: consultation sentences, lexicon templates, user text.

Every source yields `TextItem`s with the medical terms they contain, and a split: names and
consultations are assigned to `train` or `validation` by a stable hash, so the validation
split holds drug names, diagnoses and consultations that training never sees.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clinivox.errors import InputError

SPLITS = ("train", "validation")


@dataclass(frozen=True)
class TextItem:
    text: str
    terms: tuple[str, ...] = ()  # medical words/phrases in `text`, as written there
    drugs: tuple[str, ...] = ()
    diagnoses: tuple[str, ...] = ()
    source: str = ""  # "primock57:day1_consultation01", "template:3", "user:notes.txt"
    split: str = "train"
    # the words as spoken, where they differ from `text` (a verbatim transcript's fillers
    # and false starts, which `text`, the reference, leaves out as Whisper's transcripts do)
    spoken: str = ""


def held_out(key: str, share: float, salt: str = "clinivox-val") -> bool:
    """Stable assignment of a name or a consultation to the validation split."""
    h = hashlib.sha1(f"{salt}:{key.lower()}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 < share


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# -- consultation sentences --------------------------------------------------------------------
_TAG = re.compile(r"<[^>]*>")


def clean_utterance(text: str) -> str:
    """A transcribed utterance as a sentence to speak: transcriber tags (<UNSURE>, <UNIN/>,
    [noise]) dropped, spaces collapsed."""
    text = _TAG.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    return re.sub(r"\s+", " ", text).strip(" ,")


_FILLER = re.compile(r",?\s*(?<![\w'-])(?:u+m+|u+h+|e+r+m+|e+r+|h+m+|m+h*m+)(?![\w'-]),?",
                     re.I)
# words people repeat on purpose ("very, very", "no, no"): kept when doubled
_EMPHATIC = frozenset({"very", "really", "no", "bye", "yes", "yeah", "yep", "so", "much", "many",
                       "ha", "far", "more", "on", "again", "hello", "hi", "okay", "ok", "right",
                       "well", "sorry", "thank", "thanks", "please", "now", "long", "over"})
_REPEAT = re.compile(r"\b((?:[\w']+ ){0,2}[\w']+)(?:,? \1\b)+", re.I)


def _collapse(m: re.Match[str]) -> str:
    unit = m.group(1)
    return m.group(0) if unit.lower() in _EMPHATIC or unit.isdigit() else unit


def written_style(text: str) -> str:
    """A verbatim transcript (PriMock57's: "OK. Um, and, and any any pain ?") written the way
    Whisper writes speech ("Okay. And any pain?"): hesitation fillers (um, uh, er, hmm, mm)
    and immediate false-start repetitions of one to three words dropped, "OK" spelled
    "okay", spaces before punctuation removed. Training on verbatim targets taught the
    decoder to write fillers and stutters into ordinary speech (#25's forgetting guard)."""
    t = re.sub(r"\s+([,.;:!?])", r"\1", text)
    t = _FILLER.sub(lambda m: ", " if m.group(0).startswith(",") and m.group(0).endswith(",")
                    else " ", t)
    t = re.sub(r"\b([Oo])hh+\b", r"\1h", t)
    t = re.sub(r"\bOK\b", "okay", t)
    t = _REPEAT.sub(_collapse, t)
    t = re.sub(r"\s+([,.;:!?])", r"\1", t)
    t = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", t)
    t = re.sub(r"^[\s,;:.!?]+|[\s,;:]+$", "", t)
    t = re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), t)
    t = re.sub(r"\s+", " ", t).strip()
    return t[:1].upper() + t[1:]


def consultation_sentences(root: Path, exclude: Iterable[str] = (), share: float = 0.15,
                           min_words: int = 4, max_words: int = 35) -> Iterator[TextItem]:
    """Utterances of PriMock57-style TextGrid transcripts under `root`. Whole consultations
    are held out for validation (`share` of them); sentences in `exclude` (the texts of the
    sets you report on) are never used."""
    excluded = {normalise(t) for t in exclude}
    files = sorted(Path(root).rglob("*.TextGrid"))
    if not files:
        raise InputError(f"no TextGrid transcripts under {root}")
    for path in files:
        consultation = path.stem.rsplit("_", 1)[0]  # day1_consultation01_doctor -> ...01
        split = "validation" if held_out(consultation, share) else "train"
        raw = path.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r'^\s*text = "(.*)"\s*$', raw, re.M):
            spoken = clean_utterance(m.group(1).replace('""', '"'))
            text = written_style(spoken)
            n = len(spoken.split())
            if (not min_words <= n <= max_words or not text
                    or normalise(spoken) in excluded or normalise(text) in excluded):
                continue
            yield TextItem(text, source=f"primock57:{path.stem}", split=split,
                           spoken=spoken if spoken != text else "")


def user_sentences(path: Path, split: str = "train") -> Iterator[TextItem]:
    """One sentence per line of a user's text file (blank lines and # comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read text file {path}: {exc}") from None
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            yield TextItem(line, source=f"user:{Path(path).name}", split=split)


# -- lexicon templates ---------------------------------------------------------------------
DOSES = (1, 2, 2.5, 5, 10, 12.5, 20, 25, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500,
         600, 750, 1000)
UNITS = ("milligrams", "micrograms", "grams", "units", "millilitres")
ROUTES = ("by mouth", "orally", "intravenously", "subcutaneously", "intramuscularly",
          "topically", "inhaled", "sublingually")
FREQUENCIES = ("once a day", "twice a day", "three times a day", "four times a day",
               "every morning", "at bedtime", "every eight hours", "every twelve hours",
               "as required", "once weekly", "every other day", "with meals")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
PROCEDURES = ("an echocardiogram", "a chest X-ray", "a CT scan of the abdomen", "an MRI",
              "a colonoscopy", "an endoscopy", "a full blood count", "a lumbar puncture",
              "an ECG", "spirometry", "a renal ultrasound", "a biopsy")

# {drug} {drug2} {dx} {dose} {unit} {route} {freq} {proc} {day} {date} {n}
TEMPLATES = (
    "We'll start {drug} {dose} {unit} {freq}.",
    "I'd like you to take {drug} {dose} {unit} {route} {freq}.",
    "She's been on {drug} for {n} years for her {dx}.",
    "He stopped taking {drug} last {day} because of side effects.",
    "Can you confirm the dose of {drug} you're taking at the moment?",
    "The plan is to reduce {drug} to {dose} {unit} and add {drug2}.",
    "Known {dx}, currently managed with {drug}.",
    "Any allergies? Yes, I reacted badly to {drug}.",
    "Impression: {dx}. We will arrange {proc}.",
    "Past medical history includes {dx} diagnosed in {month}.",
    "Her regular medications are {drug} and {drug2}.",
    "Prescribe {drug} {dose} {unit} {freq} for {n} days.",
    "I think this is most likely {dx}, so let's try {drug}.",
    "The pharmacy substituted {drug2} for {drug}, is that right?",
    "Follow up on {date} to review the {drug} and repeat {proc}.",
    "Family history of {dx} on his mother's side.",
    "No history of {dx}.",
    "He was given {drug} {route} in the emergency department.",
    "Have you had any problems since starting the {drug}?",
    "Continue {drug}, hold {drug2} until the blood results are back.",
    "Referral letter: patient with {dx}, please assess for {proc}.",
    "Blood pressure {bp}, pulse {n2}, started on {drug}.",
)


@dataclass
class Names:
    """The drug and diagnosis names templates draw from, split into train and validation."""

    drugs: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    diagnoses: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SPLITS})

    @classmethod
    def from_lexicon(cls, share: float = 0.1, brands: bool = False) -> Names:
        """Drugs in consumer use (ingredients with a MedlinePlus monograph, and their brand
        names when `brands`) and diagnoses (common names and ICD-10-CM category titles)."""
        from clinivox.medical.lexicon import diagnosis_entries, drug_entries

        names = cls()
        seen: set[str] = set()
        for e in drug_entries():
            if e.rare or e.term in seen or not re.fullmatch(r"[a-z][a-z -]+", e.term):
                continue
            if not brands and e.term != e.canonical.lower():
                continue
            seen.add(e.term)
            # a brand follows its ingredient into the same split
            split = "validation" if held_out(e.canonical, share) else "train"
            names.drugs[split].append(e.term)
        for e in diagnosis_entries():
            term = e.term.lower()
            if e.code is None or len(e.code) != 3 or term in seen or len(term) > 60 or \
                    not re.fullmatch(r"[a-z][a-z ,'-]+", term):
                continue
            seen.add(term)
            split = "validation" if held_out(e.code, share) else "train"
            names.diagnoses[split].append(term)
        return names


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, ... (the templates wrote "1th",
    "22th": text a voice reads oddly and a model learns to write)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _dose(rng: random.Random) -> str:
    d = rng.choice(DOSES)
    return str(int(d)) if float(d).is_integer() else str(d)


def template_sentences(names: Names, split: str, n: int, seed: int) -> Iterator[TextItem]:
    """`n` sentences filled from the lexicon's names of `split`, with doses, routes,
    frequencies, procedures, numbers and dates."""
    rng = random.Random(f"{seed}:{split}")
    drugs, dxs = names.drugs[split], names.diagnoses[split]
    if split == "validation" and not drugs and not dxs:  # no names held out: share training's
        drugs, dxs = names.drugs["train"], names.diagnoses["train"]
    if not drugs or not dxs:
        raise InputError(f"no drug or diagnosis names for the {split} split")
    for _ in range(n):
        k = rng.randrange(len(TEMPLATES))
        template = TEMPLATES[k]
        drug, drug2 = rng.sample(drugs, 2)
        dx = rng.choice(dxs)
        values = {
            "drug": drug, "drug2": drug2, "dx": dx, "dose": _dose(rng),
            "unit": rng.choice(UNITS), "route": rng.choice(ROUTES),
            "freq": rng.choice(FREQUENCIES), "proc": rng.choice(PROCEDURES),
            "day": rng.choice(WEEKDAYS), "month": rng.choice(MONTHS),
            "date": f"the {ordinal(rng.randint(1, 28))} of {rng.choice(MONTHS)}",
            "n": str(rng.randint(2, 14)), "n2": str(rng.randint(48, 130)),
            "bp": f"{rng.randint(95, 180)} over {rng.randint(55, 110)}",
        }
        text = template.format(**values)
        text = text[0].upper() + text[1:]
        used_drugs = tuple(d for d, key in ((drug, "{drug}"), (drug2, "{drug2}"))
                           if key in template)
        used_dx = (dx,) if "{dx}" in template else ()
        yield TextItem(text, terms=used_drugs + used_dx, drugs=used_drugs, diagnoses=used_dx,
                       source=f"template:{k}", split=split)


# A name said with no sentence around it: a medication list read out, an answer to "which
# inhaler?", a voice UI. The decoder and a domain LM have nothing to lean on there, so the
# model must hear the name itself (and learn to write a list the way Whisper writes one).
LIST_FORMS = (
    "{a}.",
    "{a}.",
    "{a}, {b}.",
    "{a} and {b}.",
    "{a}, {b} and {c}.",
    "{a}, {b}, {c}.",
    "Medications: {a}, {b}.",
    "{a} {dose} {unit}.",
    "{a} {dose} {unit}, {b} {dose2} {unit2}.",
)


def name_list_sentences(names: Names, split: str, n: int, seed: int,
                        exclude: Iterable[str] = (), diagnosis_share: float = 0.15
                        ) -> Iterator[TextItem]:
    """`n` utterances of drug names said alone or in short lists (with a dose now and
    then), and a share of short diagnosis names said alone. Names in `exclude` (the terms
    of a set you report on) are never drawn."""
    rng = random.Random(f"{seed}:lists:{split}")
    banned = {e.lower() for e in exclude}
    drugs = [d for d in names.drugs[split] or names.drugs["train"] if d not in banned]
    dxs = [d for d in names.diagnoses[split] or names.diagnoses["train"]
           if d not in banned and len(d.split()) <= 3]
    if len(drugs) < 3:
        raise InputError(f"too few drug names for name lists in the {split} split")
    for _ in range(n):
        if dxs and rng.random() < diagnosis_share:
            dx = rng.choice(dxs)
            yield TextItem(dx[0].upper() + dx[1:] + ".", terms=(dx,), diagnoses=(dx,),
                           source="list:diagnosis", split=split)
            continue
        k = rng.randrange(len(LIST_FORMS))
        form = LIST_FORMS[k]
        a, b, c = rng.sample(drugs, 3)
        used = tuple(x for x, key in ((a, "{a}"), (b, "{b}"), (c, "{c}")) if key in form)
        text = form.format(a=a, b=b, c=c, dose=_dose(rng), dose2=_dose(rng),
                           unit=rng.choice(UNITS), unit2=rng.choice(UNITS))
        text = text[0].upper() + text[1:]
        yield TextItem(text, terms=used, drugs=used, source=f"list:{k}", split=split)


def find_terms(items: Iterable[TextItem]) -> Iterator[TextItem]:
    """Items with `terms` filled in from the medical lexicon where a source gave none (the
    consultation sentences), one matcher for all."""
    matcher = None
    for item in items:
        if item.terms:
            yield item
            continue
        if matcher is None:
            from clinivox.medical.terms import TermMatcher
            from clinivox.medical.vocabulary import everyday_words, load_lexicon

            matcher = TermMatcher(load_lexicon(), everyday_words())
        hits = [h for h in matcher.find(item.text) if h.entry.category != "abbreviation"]
        drugs = tuple(h.term for h in hits if h.entry.category == "drug")
        dxs = tuple(h.term for h in hits if h.entry.category == "diagnosis")
        yield TextItem(item.text, tuple(h.term for h in hits), drugs, dxs, item.source,
                       item.split, item.spoken)
