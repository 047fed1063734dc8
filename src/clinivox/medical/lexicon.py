"""The medical lexicon: drug names, ICD-10-CM diagnoses and clinical vocabulary.

Built offline from data that PyPI packages ship: `drug-named-entity-recognition` (generic and
brand names with their canonical ingredient) and `simple-icd-10-cm` (ICD-10-CM categories and
subcategories), plus curated symptoms, procedures, anatomy, lab tests, abbreviations and a
few Mandarin entries. British and American spellings are generated for every entry.
Users add terms from a text or CSV file (`load_user_vocabulary`).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import pickle
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TextIO

from clinivox.errors import InputError
from clinivox.io.text import read_user_text
from clinivox.medical.vocab_data import (
    CLINICAL_TERMS,
    COMMON_DIAGNOSES,
    DRUG_CLASSES,
    MANDARIN_TERMS,
)
from clinivox.resources import package_dir

CATEGORIES = ("drug", "diagnosis", "symptom", "procedure", "anatomy", "lab", "abbreviation",
              "user")


class VocabularyError(InputError):
    """A user vocabulary file is malformed; the message names the line."""


class LexiconFileError(InputError):
    """A lexicon file (`--lexicon`, or the cached build) cannot be read as one."""


@dataclass(frozen=True)
class LexiconEntry:
    term: str  # the written form to recognise
    canonical: str  # the preferred form (drug ingredient, diagnosis title, ...)
    category: str  # one of CATEGORIES
    code: str | None = None  # ICD-10-CM code, or the drug's ingredient
    weight: float = 1.0  # boost weight for biasing
    variants: tuple[str, ...] = ()  # other spoken or written forms
    language: str = "en"
    # a drug whose ingredient has no MedlinePlus monograph: one of the ~18,600 of 20,070
    # ingredients (pesticides, research compounds, old salts) that a prescription rarely
    # names. Biasing asks more evidence for these (`BiasProfile.rare_penalty`).
    rare: bool = False


@dataclass
class Lexicon:
    entries: list[LexiconEntry] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def by_category(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.category] = out.get(e.category, 0) + 1
        return out

    def extend(self, entries: Iterable[LexiconEntry]) -> None:
        seen = {(e.term.lower(), e.category) for e in self.entries}
        for e in entries:
            key = (e.term.lower(), e.category)
            if key not in seen:
                seen.add(key)
                self.entries.append(e)

    def save(self, path: Path) -> None:
        """Gzipped JSON lines, written whole or not at all (a process reading the cache
        while another writes it never sees half a file), owner-only; an OutputError when
        it cannot be written."""
        from clinivox.io.writers import write_gzip_text

        def write(f: TextIO) -> None:
            for e in self.entries:
                f.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")

        write_gzip_text(path, write)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """A lexicon written by `save` (`clinivox lexicon build`): gzipped JSON lines. A
        file that is missing, not gzip, or holds a line that is not an entry is a
        LexiconFileError naming the file (and the line)."""
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                lines = [line for line in f.read().split("\n") if line.strip()]
        except FileNotFoundError:
            raise LexiconFileError(f"no such lexicon file: {path}") from None
        except (OSError, EOFError, UnicodeDecodeError) as exc:  # BadGzipFile is an OSError
            raise LexiconFileError(f"{path.name} is not a lexicon from `clinivox lexicon "
                                   f"build` (gzipped JSON lines): {exc}") from None
        try:  # one parse of the whole file: 80,000 calls of json.loads cost twice as much
            rows = json.loads("[" + ",".join(lines) + "]")
        except ValueError:
            rows = None
        if rows is None or len(rows) != len(lines):  # find the line, for the message
            rows = []
            for n, line in enumerate(lines, 1):
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise LexiconFileError(f"{path.name}: entry {n} is not JSON ({exc})") \
                        from None
        entries = []
        for n, row in enumerate(rows, 1):
            try:
                row["variants"] = tuple(row.get("variants", ()))
                entries.append(LexiconEntry(**row))
            except (TypeError, AttributeError):
                raise LexiconFileError(f"{path.name}: entry {n} is not a lexicon entry "
                                       f"(term, canonical, category, ...)") from None
        return cls(entries)


# -- British / American spelling -----------------------------------------------------------
_BR_US = [("haemo", "hemo"), ("haema", "hema"), ("anaem", "anem"), ("oedem", "edem"),
          ("oesoph", "esoph"), ("paed", "ped"), ("foet", "fet"), ("leukaem", "leukem"),
          ("aemia", "emia"), ("tumour", "tumor"), ("ischaem", "ischem"), ("diarrhoea", "diarrhea"),
          ("oestr", "estr"), ("orthopaed", "orthoped"), ("caesar", "cesar"), ("coeliac", "celiac"),
          ("sulph", "sulf"), ("aluminium", "aluminum"), ("anaesth", "anesth"),
          ("gynaec", "gynec"), ("dyspnoea", "dyspnea"), ("apnoea", "apnea"), ("ise", "ize")]


def spelling_variants(term: str) -> set[str]:
    """The other national spelling(s) of `term` ("haemorrhage" <-> "hemorrhage")."""
    out = set()
    low = term.lower()
    for br, us in _BR_US[:-1]:
        if br in low:
            out.add(low.replace(br, us))
        if us in low and br not in low:
            out.add(low.replace(us, br))
    return {v for v in out if v != low}


# -- sources --------------------------------------------------------------------------------
_PLAIN = re.compile(r"^[a-z][a-z' -]*[a-z]$")


def _package_dir(name: str) -> Path:
    pkg = package_dir(name)
    if pkg is None:
        raise InputError(f"lexicon source missing: pip install {name.replace('_', '-')}")
    return pkg


def drug_entries() -> Iterator[LexiconEntry]:
    """Generic and brand names (MedlinePlus-derived), each with its canonical ingredient.

    A name whose ingredient has no MedlinePlus monograph is marked `rare`: the package
    holds 20,070 ingredients, and only 1,479 of them are drugs in consumer use that
    MedlinePlus describes; the rest are mostly compounds a clinician never says, and they
    are most of the near-sound-alikes of real drugs (carpropamide for chlorpropamide)."""
    path = _package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
    # The package's own data file (it loads it the same way); no network, no user input.
    with bz2.open(path) as f:
        data = pickle.load(f)
    about = data.get("drug_canonical_to_data", {})
    for variant, canon in data["drug_variant_to_canonical"].items():
        name = variant.strip().lower()
        if not (4 <= len(name) <= 40 and _PLAIN.match(name) and len(name.split()) <= 3):
            continue
        ingredient = canon[0] if isinstance(canon, list | tuple) and canon else str(canon)
        rare = not (about.get(ingredient) or {}).get("medline_plus_id")
        yield LexiconEntry(name, ingredient, "drug", code=ingredient, rare=rare)


def _clean_title(title: str) -> list[str]:
    """Spoken forms of an ICD title: "Essential (primary) hypertension" -> both readings.
    Text after a comma qualifies the words before it ("Leprosy, unspecified", "Tinnitus,
    right ear"), so the words before it are the name said aloud; a closing [ ] is a synonym
    ("Thyrotoxicosis [hyperthyroidism]"). "NOS" (not otherwise specified) is not said."""
    title = re.sub(r"\s*\bNOS\b", "", title).strip().rstrip(".")  # "not otherwise specified"
    readings = {title}
    depth = 0
    for i, ch in enumerate(title):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            readings.add(title[:i])
            break
    # [ ] holds a synonym: "Varicella [chickenpox]" is said either way
    for t in list(readings):
        end = re.search(r"\[([^\]]+)\]\s*$", t)
        if end:
            readings.add(end.group(1))
    forms: set[str] = set()
    for t in readings:
        t = re.sub(r"\s*\[[^\]]*\]", "", t)
        forms.add(re.sub(r"\s*\([^)]*\)", "", t).strip())
        forms.add(re.sub(r"[()]", "", t))
    out = []
    for f in forms:
        f = re.sub(r"\s+", " ", f).strip(" ,")
        if 3 <= len(f) <= 80 and "," not in f and " and other " not in f.lower():
            out.append(f.lower())
    return sorted(set(out))


def diagnosis_entries() -> Iterator[LexiconEntry]:
    """ICD-10-CM categories and subcategories (3-4 characters) with their codes, and the
    names ICD-10-CM lists under a code as the same condition: its inclusion terms ("Eczema
    NOS" under L30.9, "Angina NOS" and "Cardiac angina" under I20.9) and a category's
    Includes notes ("high blood pressure" under I10)."""
    import simple_icd_10_cm as cm

    # the common names first: where ICD-10-CM words a name the same way, its code is theirs
    for names, code in COMMON_DIAGNOSES:
        first, others = _names(names)
        for form in (first, *others):  # each written as said
            yield LexiconEntry(form, cm.get_description(code), "diagnosis", code=code)
    for code in cm.get_all_codes(False):
        if "-" in code:
            continue
        dotted = code if len(code) == 3 else f"{code[:3]}.{code[3:]}"
        title = cm.get_description(code)
        if len(code) in (3, 4):
            for form in _clean_title(title):
                yield LexiconEntry(form, title, "diagnosis", code=dotted)
        if code[0] in "VWXY":
            continue  # external causes: inclusion terms describe events, not conditions
        for name in (*cm.get_inclusion_term(code), *cm.get_includes(code)):
            for form in _clean_title(name):
                yield LexiconEntry(form, title, "diagnosis", code=dotted)


def _names(text: str) -> tuple[str, tuple[str, ...]]:
    """`vocab_data`'s `name|other; other` -> (name, (other, other))."""
    first, _, more = text.partition("|")
    return first.strip(), tuple(v.strip() for v in more.split(";") if v.strip())


def everyday_clinical_names() -> frozenset[str]:
    """The curated names of symptoms, procedures, common conditions and drug classes
    (lowercase), plural and variant forms included: the clinical words people say in
    everyday words ("headache", "steroids", "asthma"), which the acoustic screen may offer
    for a word Whisper was unsure of (`TermIndex.closest_common`)."""
    texts = [*CLINICAL_TERMS["symptom"], *CLINICAL_TERMS["procedure"],
             *(names for names, _ in COMMON_DIAGNOSES),
             *(name for names in DRUG_CLASSES.values() for name in names)]
    out: set[str] = set()
    for text in texts:
        first, others = _names(text)
        out.update(n.lower() for n in (first, *others))
    return frozenset(out)


def curated_entries() -> Iterator[LexiconEntry]:
    for category, terms in CLINICAL_TERMS.items():
        for term in terms:
            written, variants = _names(term)
            yield LexiconEntry(written.lower() if category != "abbreviation" else written,
                               written, category, variants=variants)
    # Each written form is a term of its own (a variant is written as its term), coded to
    # its class, with the first as its canonical: the matcher keeps a one-word drug form
    # that is an everyday word only when it names the canonical ("steroids"), not a brand.
    for drug_class, names in DRUG_CLASSES.items():
        for name in names:
            first, others = _names(name)
            for form in (first, *others):
                yield LexiconEntry(form, first, "drug", code=drug_class)
    for zh, en, category in MANDARIN_TERMS:
        yield LexiconEntry(zh, en, category, language="zh")


def build_lexicon(include_drugs: bool = True, include_diagnoses: bool = True) -> Lexicon:
    lex = Lexicon()
    sources: list[Iterable[LexiconEntry]] = [curated_entries()]
    if include_drugs:
        sources.append(drug_entries())
    if include_diagnoses:
        sources.append(diagnosis_entries())
    for source in sources:
        entries = []
        for e in source:
            extra = tuple(sorted(spelling_variants(e.term))) if e.language == "en" else ()
            entries.append(replace(e, variants=tuple(dict.fromkeys(e.variants + extra))))
        lex.extend(entries)
    return lex


# -- user vocabulary --------------------------------------------------------------------------
def load_user_vocabulary(path: str | Path) -> list[LexiconEntry]:
    """User terms from a text file (one term a line; `term | weight | variant; variant |
    canonical`) or a CSV file (columns term, weight, variants, canonical; header optional).
    Blank lines and lines starting with # are skipped. Errors name the line."""
    path = Path(path)
    text = read_user_text(path, VocabularyError, "vocabulary")
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        if rows and [c.strip().lower() for c in rows[0][:1]] == ["term"]:
            rows = [[""], *rows[1:]]  # keep line numbers aligned
    else:
        rows = [line.split("|") for line in text.splitlines()]
    out = []
    for n, cols in enumerate(rows, start=1):
        cols = [c.strip() for c in cols]
        if not cols or not cols[0] or cols[0].startswith("#"):
            continue
        if len(cols) > 4:
            raise VocabularyError(f"{path.name}:{n}: too many fields ({len(cols)}); expected "
                                  "term, weight, variants, canonical")
        term = cols[0]
        if len(term) > 100 or any(ord(ch) < 32 for ch in term):
            raise VocabularyError(f"{path.name}:{n}: term is too long or has control characters")
        weight = 1.0
        if len(cols) > 1 and cols[1]:
            try:
                weight = float(cols[1])
            except ValueError:
                raise VocabularyError(f"{path.name}:{n}: weight {cols[1]!r} is not a number") \
                    from None
            if not 0.0 < weight <= 10.0:
                raise VocabularyError(f"{path.name}:{n}: weight must be in (0, 10]")
        variants = tuple(v.strip() for v in cols[2].split(";") if v.strip()) \
            if len(cols) > 2 else ()
        canonical = cols[3] if len(cols) > 3 and cols[3] else term
        out.append(LexiconEntry(term, canonical, "user", weight=weight, variants=variants))
    if not out:
        raise VocabularyError(f"{path.name}: no terms found")
    return out
