"""`extract(text | segments) -> [Entity]`: clinical entities with codes and assertions.

Entities come from the medical lexicon's matcher (drugs with their ingredient, ICD-10-CM
diagnoses, curated symptoms, procedures, lab tests, anatomy), a few British drug names the
lexicon spells the American way, and the vital-sign parser. Each gets an assertion
(`context.assertion`), drugs get dose, route and frequency when said after them, and a
drug named as what the patient reacts to is an `allergy`.

Ordinary words are not codes: a match through an acronym (a lexicon form written in
capitals: "ALL" for acute lymphoblastic leukaemia, "MS") counts only where the text writes
it in capitals too, so "they all call me" gives no leukaemia.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any

from clinivox.asr.types import word_char_spans
from clinivox.medical.lexicon import spelling_variants
from clinivox.nlu.assertion_model import refine as refine_assertions
from clinivox.nlu.codes import default_code, swelling_site_code
from clinivox.nlu.concepts import (
    ABBREVIATIONS,
    EVERYDAY_CLINICAL,
    EXTERNAL_CAUSE,
    FOOD_ALLERGY_NAMES,
    LEXICON_CODE_FIXES,
    NOT_TERMS,
    find_concepts,
    guarded,
    symptom_code,
    symptom_forms,
)
from clinivox.nlu.context import assertion, ended_after, sentence_start
from clinivox.nlu.dialogue import mark_answers, mark_relatives, sentence_turns
from clinivox.nlu.drugs import base_ingredient, drug_xrefs, product_ingredient
from clinivox.nlu.lay import find_lay_symptoms, site_pain
from clinivox.nlu.numbers import NUM_DECIMAL
from clinivox.nlu.sections import find_sections, section_at
from clinivox.nlu.span_model import learned_spans
from clinivox.nlu.vitals import find_vitals

# the lexicon's procedures that look at the patient rather than treat: tests (i2b2's
# classes), as clinicians count them
DIAGNOSTIC = re.compile(r"electrocardiogra|echocardiogra|ultraso|tomograph|resonance imaging|"
                        r"x-ray|radiograph|spirometr|peak flow|\bscan\b|angiogra|mammogra|"
                        r"doppler|electroencephalogra", re.IGNORECASE)
LABEL_OF_CATEGORY = {"drug": "drug", "diagnosis": "problem", "symptom": "problem",
                     "procedure": "procedure", "lab": "test", "anatomy": "anatomy",
                     "user": "term"}
# drug names in British use (INN or BAN) that the lexicon's US sources lack: name -> the US
# ingredient name, given as the code; the name itself is the normalised form, as written in
# British records (salbutamol, not albuterol)
BRITISH_DRUGS = {"adrenaline": "epinephrine", "noradrenaline": "norepinephrine",
                 "salbutamol": "albuterol", "frusemide": "furosemide",
                 "lignocaine": "lidocaine", "glyceryl trinitrate": "nitroglycerin",
                 "gtn": "nitroglycerin", "paracetamol": "acetaminophen",
                 "co-codamol": "acetaminophen and codeine", "bendroflumethiazide":
                 "bendroflumethiazide", "co-amoxiclav": "amoxicillin and clavulanate"}
# brands in British use that the offline drug source lacks: brand -> ingredient (the code;
# the brand is the normalised form, as written in the record). Emollient brands get their
# class. Dioralyte is left out on purpose: it is a known miss of the gold test half
# (docs/nlu.md), and adding it would tune to that row.
UK_BRANDS = {"lemsip": "acetaminophen and phenylephrine", "daktarin": "miconazole",
             "eumovate": "clobetasone", "clenil": "beclomethasone",
             "seretide": "fluticasone and salmeterol",
             "microgynon": "ethinyl estradiol and levonorgestrel",
             "implanon": "etonogestrel", "nexplanon": "etonogestrel",
             "movicol": "polyethylene glycol 3350", "rennie": "calcium carbonate",
             "otrivine": "xylometazoline", "piriteze": "cetirizine",
             "strepsils": "amylmetacresol and dichlorobenzyl alcohol",
             "night nurse": "acetaminophen, dextromethorphan and promethazine",
             "day nurse": "acetaminophen, phenylephrine and pholcodine",
             "night and day nurse": "acetaminophen, dextromethorphan and promethazine",
             "day and night nurse": "acetaminophen, dextromethorphan and promethazine",
             "beechams": "acetaminophen and phenylephrine", "anusol": "zinc oxide",
             "sudocrem": "zinc oxide", "bonjela": "choline salicylate",
             **{b: "emollients" for b in ("e45", "e forty five", "diprobase", "doublebase",
                                          "oilatum", "epaderm", "hydromol", "dermol",
                                          "aveeno", "cetraben", "zerobase")}}
_BRITISH = {**BRITISH_DRUGS, **UK_BRANDS}
# Night Nurse and Day Nurse are medicines only where something is taken: "took some Night
# Nurse", "Night Nurse at bedtime"; a night nurse is usually a person
_TAKEN_NURSE = re.compile(r"(?:\b(?:took|take|takes|taking|tried|trying|using|used|use|"
                          r"bought|buy|had\s+some|have\s+some|some|of|with|and|or|"
                          r"including|like)\s+|[,/]\s*)$", re.IGNORECASE)
# one pass for all of them, longest name first
_BRITISH_NAMES = re.compile(r"\b(?:" + "|".join(
    re.escape(n) for n in sorted(_BRITISH, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_DOSE = re.compile(rf"\b(?P<dose>{NUM_DECIMAL}\s*(?:mg|milligrams?|mcg|micrograms?|g|grams?|"
                   r"ml|millilit(?:re|er)s?|units?|puffs?|tablets?|capsules?|drops?|"
                   r"sprays?))\b", re.IGNORECASE)
# a note's finding with its answer after a colon or a dash, alone in its clause: "Chest
# pain: none.", "Rash - absent", "Headache: yes" (not "Cough - no sputum")
_NOTE_ANSWER = re.compile(r"^\s*[:\-\u2013\u2014]\s*(none|no|nil|absent|negative|denied|"
                          r"not\s+present|yes|present|positive)\s*(?=[.;,\n)]|$)", re.IGNORECASE)
_DOSE_BEFORE = re.compile(_DOSE.pattern + r"\s+(?:of\s+)?$", re.IGNORECASE)
_ROUTE = re.compile(r"\b(?P<route>by mouth|orally|oral|po|intravenous(?:ly)?|iv|"
                    r"intramuscular(?:ly)?|im|subcut(?:aneous(?:ly)?)?|sc|inhaled|"
                    r"nebuli[sz]ed|topical(?:ly)?|sublingual(?:ly)?|rectal(?:ly)?|"
                    r"transdermal)\b", re.IGNORECASE)
_FREQ = re.compile(r"\b(?P<freq>(?:once|twice|(?:one|two|three|four|five|six|[1-6])\s+times)"
                   r"\s+(?:a|per|each|every)\s+(?:day|week)|(?:once|twice|(?:two|three|four|"
                   r"[2-4])\s+times)\s+(?:daily|weekly)|"
                   r"daily|every (?:\w+ )?(?:hours?|days?|weeks?)|"
                   r"at night|in the morning|as needed|when needed|if needed|prn|od|bd|bid|"
                   r"tds|tid|qds|qid|nocte|stat|weekly)\b", re.IGNORECASE)
# "worried about", "concerned about": the patient's worry. Of a symptom or sign ("worried
# about difficulty breathing", R06.00) it reports one felt; of a disease ("worried about
# brain cancer") it is a suspicion
WORRY = frozenset({"worried about", "concerned about", "worried that", "concerned that",
                   "scared that", "afraid that"})
# "I think I have been quite tired": of a symptom (chapter R) the speaker hedges one felt;
# "I think it's a migraine" (G43) stays a doubt; likewise "it looks like a rash" (R21) is
# one seen, "it looks like eczema" a provisional diagnosis
_SEEMS = frozenset({"i think", "seems like", "seems to be", "looks like", "appears to be"})
# "I think" with the speaker as the one who takes the drug ("I think I do get antihistamines",
# "I think, in totality, I'm on salbutamol"), not a plan hedged ("I think we can give you")
_I_THINK_I = re.compile(r"\bi,?\s+think\b[\s,]+(?:[\w']+[\s,]+){0,3}?i(?:'m|'ve|\b)",
                        re.IGNORECASE)

# the words before an allergen, however they were said: "allergic to, to penicillin",
# "an allergy to, uh, penicillin" (read without the fillers, the drug became one the patient
# takes)
_ALLERGY_FILLER = r"(?:[\s,]+(?:uh+|um+|er+|erm+|ah+|to|of|with|from|like|the|a|an|both|" \
                  r"either|all|also))*"
_ALLERGY = re.compile(r"\b(?:allergic to|allergy to|allergies to|allergic reaction to|"
                      r"reaction to|intolerant of|intolerance to|rash with|rash from|"
                      # an adverse reaction said in everyday words (eighth session): the
                      # drug is no medicine the patient takes
                      r"intolerant to|react(?:s|ed)?\s+(?:really\s+|very\s+)?badly\s+to|"
                      r"reacted\s+to|bad\s+reaction\s+to|(?:can't|cannot|can\s+not|couldn't|"
                      r"could\s+not)\s+tolerate|sensitive\s+to|sensitivity\s+to|"
                      # "no allergies apart from penicillin": the one allergy there is
                      r"no\s+(?:known\s+)?(?:drug\s+)?allergies\s+(?:apart\s+from|except(?:\s+for)?|"
                      r"other\s+than|besides|but))"
                      + _ALLERGY_FILLER + r"[\s,]*$", re.IGNORECASE)
# a food or other allergen after the same words with fillers between ("allergic to, um,
# peanuts"): the tables name these only said straight
_ALLERGEN_OF = {form: allergen for allergen, form in FOOD_ALLERGY_NAMES}
_FOOD_ALLERGEN = re.compile(r"\b(?:allergic|allergy|allergies)\s+to" + _ALLERGY_FILLER
                            + r"[\s,]+(?P<food>" + "|".join(sorted(
                                _ALLERGEN_OF, key=len, reverse=True)) + r")\b", re.IGNORECASE)
# a drug the patient was moved off, said right before it (not a trigger with a scope:
# "switched from ramipril to losartan" leaves losartan taken, "off work with back pain" is
# no drug's)
_MOVED_OFF = re.compile(r"\b(?:took|take|taken|taking|came|come|coming|been|went|go|going|"
                        r"weaned|get|got|getting)\s+(?:me\s+|him\s+|her\s+|them\s+|you\s+)?"
                        r"off(?:\s+of)?\s+(?:the\s+|my\s+|his\s+|her\s+|their\s+|your\s+)?$|"
                        r"\b(?:switched|changed|swapped|moved)\s+(?:me\s+|him\s+|her\s+|you\s+)?"
                        r"(?:over\s+)?from\s+(?:the\s+|my\s+|his\s+|her\s+|your\s+)?$",
                        re.IGNORECASE)
_ALLERGY_AFTER = re.compile(
    r"^\s*(?:allergy|allergies|allergic\b|(?:[,;]?\s*(?:and\s+|but\s+)?(?:it|which|that|they)"
    r"\s+)?(?:always\s+|just\s+|really\s+)?(?:makes?|made)\s+"
    r"(?:me|him|her|them)\s+(?:really\s+|very\s+|so\s+)?(?:sick|ill|vomit|throw\s+up|"
    r"wheezy|wheeze|itchy|itch|swell|swollen|come\s+out\s+in|break\s+out|rashy)|"
    r"(?:[,;]?\s*(?:and\s+|but\s+)?(?:it|which|that|they)\s+)?(?:gives?|gave)\s+(?:me|him|"
    r"her|them)\s+(?:a\s+)?(?:rash|hives|itching|swelling)|"
    r"(?:doesn't|does\s+not|didn't|did\s+not)\s+agree\s+with\s+(?:me|him|her|them)|"
    r"(?:brings?|brought)\s+(?:me|him|her|them)\s+out\s+in)", re.IGNORECASE)
# ICD-10-CM's allergy status codes: to drugs (Z88) and to anything else (Z91.0: foods,
# insects, latex): "allergy to shellfish" is an allergy, not a problem found
_ALLERGY_STATUS = ("Z88", "Z91.0")
# ICD-10-CM's chapter R is symptoms, signs and abnormal findings, whatever the lexicon's
# category; but shock (R57) and SIRS and severe sepsis (R65) are diagnoses
_SYMPTOM_CODE = re.compile(r"R(?!57|65)\d")


@dataclass
class Entity:
    text: str  # as written
    label: str  # problem, drug, procedure, test, anatomy, allergy, vital, term
    start: int  # character offsets in the text (in the transcript's joined text)
    end: int
    normalized: str  # canonical name, ingredient, or the vital's value with its unit
    code: str | None  # ICD-10-CM for problems; the ingredient for drugs
    assertion: str  # present, absent, possible, historical, family, hypothetical
    category: str | None = None  # the lexicon's finer category (symptom, diagnosis, ...)
    section: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # dose, route, frequency
    start_s: float | None = None  # on a transcript: the words' time span and the speaker
    end_s: float | None = None
    speaker: str | None = None
    # a drug's ingredient in other vocabularies: DrugBank, MeSH, MedlinePlus ids
    xrefs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "label": self.label, "start": self.start,
                             "end": self.end, "normalized": self.normalized,
                             "code": self.code, "assertion": self.assertion,
                             "start_s": self.start_s, "end_s": self.end_s,
                             "speaker": self.speaker}
        if self.category:
            d["category"] = self.category
        if self.section:
            d["section"] = self.section
        if self.attributes:
            d["attributes"] = self.attributes
        if self.xrefs:
            d["xrefs"] = self.xrefs
        return d


@lru_cache(maxsize=1)
def _matcher() -> Any:
    """The lexicon's matcher, loaded once per process: from the cache file when it was
    built from the same lexicon, tokenizer, ICD-10-CM and code (`matcher_cache`), else
    built (`_build_matcher`, seconds) and cached."""
    from clinivox.medical.terms import TermMatcher
    from clinivox.medical.vocabulary import default_lexicon_path, load_lexicon
    from clinivox.nlu.matcher_cache import cached_forms

    path = default_lexicon_path()
    lexicon = None if path.is_file() else load_lexicon()  # built, and saved where it can be
    if not path.is_file():  # not writable: nothing to key a cache on
        return _build_matcher(lexicon)

    def build() -> tuple[dict[str, Any], int]:
        m = _build_matcher(lexicon)
        return m.forms, m.max_words

    forms, max_words = cached_forms(build, path, _tokenizer_path())
    return TermMatcher.from_forms(forms, max_words)


def _build_matcher(lexicon: Any = None) -> Any:
    """The lexicon's matcher (`lexicon`, else the default one). A one-word drug or
    diagnosis form that is an everyday English word (one token of Whisper's vocabulary)
    and not the entry's own name is not a term ("other" for a preterm newborn, "hand" for
    hand, foot and mouth disease), unless it is the plain name of a condition
    (`concepts.EVERYDAY_CLINICAL`) or an acronym."""
    from clinivox.medical.terms import TermMatcher
    from clinivox.medical.vocabulary import load_lexicon

    lexicon = lexicon if lexicon is not None else load_lexicon()
    # an acronym ("ALL") stays a form: it counts only where written in capitals
    acronyms = {f.lower() for e in lexicon.entries
                for f in (e.term, *e.variants, *_bracketed(e.canonical))
                if f.isupper() and len(f) > 1}
    everyday = _everyday_words()
    matcher = TermMatcher(lexicon, everyday - EVERYDAY_CLINICAL - acronyms)
    # ICD-10-CM's bracketed qualifiers ("Acquired absence of lung [part of]") became forms of
    # their own in the lexicon: not names of the problem
    # (an acronym in brackets, "[ALL]", is a name: it is matched in capitals only)
    def dropped(key: str, entry: Any) -> bool:
        qualifiers = {q.lower() for q in _bracketed(entry.canonical) if not q.isupper()}
        return key in qualifiers or key in NOT_TERMS or _modifier_form(key, entry) or \
            (entry.category == "diagnosis" and (entry.code or "").startswith(EXTERNAL_CAUSE))

    for key, entry in _leaf_titles():  # what the lexicon (3-4 characters) does not reach
        if key not in matcher.forms and key not in everyday:
            matcher.forms[key] = entry
    gone = {key: entry for key, entry in matcher.forms.items() if dropped(key, entry)}
    others: dict[str, list[Any]] = {}  # a dropped form may be another entry's good one
    for e in lexicon.entries:  # ("sedative": a drug class, and an ICD-10-CM title's first word)
        for f in (e.term, *e.variants):
            if f.lower() in gone:
                others.setdefault(f.lower(), []).append(e)
    for key, entry in gone.items():
        keep = next((e for e in others.get(key, ()) if e is not entry
                     and e.category != "diagnosis" and not dropped(key, e)), None)
        if keep is None:
            del matcher.forms[key]
        else:
            matcher.forms[key] = keep
    _eponym_spellings(matcher.forms)
    return matcher


def _eponym_spellings(forms: dict[str, Any]) -> None:
    """An eponymous name as it is written in every way: "Alzheimer's disease",
    "Alzheimers disease", "Alzheimer disease"; "Hodgkin lymphoma", "Hodgkin's lymphoma"
    (which matched only "lymphoma", coded as non-Hodgkin lymphoma). The eponyms: words the
    lexicon writes with "'s" in a multi-word diagnosis, and words that are no English word
    before "disease", "syndrome", "lymphoma" and the like ("hodgkin", "sjogren")."""
    everyday = _everyday_words()
    _bracketed_eponyms(forms, everyday)
    stems: set[str] = set()
    for key, entry in forms.items():
        if entry.category != "diagnosis" or " " not in key:
            continue
        words = key.split(" ")
        for w, nxt in pairwise(words):
            if w.endswith("'s") and len(w) > 4:
                stems.add(w[:-2])
            elif _EPONYM_HEADS.fullmatch(nxt) and len(w) > 3 and w not in everyday and \
                    w.isalpha():
                stems.add(w)
    for key, entry in list(forms.items()):
        if entry.category != "diagnosis" or " " not in key:
            continue
        words = key.split(" ")
        for i, w in enumerate(words):
            stem = w[:-2] if w.endswith("'s") else w
            if stem not in stems or i == len(words) - 1:
                continue
            for spelled in (f"{stem}'s", f"{stem}s", stem):
                forms.setdefault(" ".join([*words[:i], spelled, *words[i + 1:]]), entry)


def _bracketed_eponyms(forms: dict[str, Any], everyday: frozenset[str]) -> None:
    """ICD-10-CM names some conditions by their eponym only in brackets ("Synovial cyst of
    popliteal space [Baker]", "Palmar fascial fibromatosis [Dupuytren]"), and clinicians
    by the eponym: "Baker's cyst" (the title's head noun), "Dupuytren's disease", and
    "Dupuytren's" alone (`_eponyms`, which reads the "'s disease" form added here). A
    name that is an everyday word ("Sweet", "Wells") gets only its head-noun form."""
    for entry in {id(e): e for e in forms.values() if e.category == "diagnosis"}.values():
        for name in _bracketed(entry.canonical):
            if not re.fullmatch(r"(?:de |von |van )?[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)*", name):
                continue  # acronyms ("[ALL]") and phrases ("[part of]") are no eponyms
            title = re.split(r"\s*\[|,", entry.canonical)[0].lower()
            head = (title.split(" of ")[0] if " of " in title else title).split()[-1]
            folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
            for said in {name.lower(), folded.lower()}:
                nouns = [head] if said in everyday else [head, "disease", "syndrome"]
                for noun in nouns:
                    forms.setdefault(f"{said}'s {noun}", entry)


_EPONYM_HEADS = re.compile(r"disease|syndrome|lymphoma|palsy|disorder|sarcoma|thyroiditis|"
                           r"contracture|phenomenon|anomaly|ulcer|neuralgia|neuroma|"
                           r"encephalopathy|dystrophy|arthritis|tumou?r")


_ADJECTIVE = re.compile(r"(?:al|ic|ive|ile|ar|ous|ary)$")


def _modifier_form(key: str, entry: Any) -> bool:
    """A one-word diagnosis form that only modifies the name it was cut from: the first of
    a coordinated list before the head ("sedative" of "Sedative, hypnotic, or anxiolytic
    related disorders", "injury" of "Injury, poisoning and ... complicating pregnancy"),
    or an adjective that is not the name itself ("rectal", "hypertonic", "labile"). Left
    in, "a sedative" was coded F13 and "hypertonic saline" O62.4."""
    if entry.category != "diagnosis" or " " in key or "-" in key:
        return False
    name = entry.canonical.lower()
    # the title is written in American spelling; its British form ("oestrogen" of
    # "Estrogen, and other hormones and factors receptor status") is the same cut
    spellings = (key, *spelling_variants(key))
    for form in spellings:  # (the prefix first: most forms never build the pattern)
        if name.startswith(form + ", ") and \
                re.match(rf"^{re.escape(form)}, [\w\s,-]*?\b(?:and|or)\s+\w+\s+\w", name):
            return True
    return len(key) >= 5 and bool(_ADJECTIVE.search(key)) and name != key and \
        not any(name.startswith(form + ",") for form in spellings)


def _leaf_titles() -> list[tuple[str, Any]]:
    """ICD-10-CM codes of five characters and more whose title is a plain name of four words
    at most ("Antiphospholipid syndrome" D68.61, "Muscle spasm of back" M62.830): the
    shared lexicon lists titles down to four characters only. No external causes or
    factors (V-Z), no "Other ..." or qualified titles."""
    from clinivox.medical.icd10cm import tabular
    from clinivox.medical.lexicon import LexiconEntry

    icd = tabular()
    if icd is None:
        return []
    out = []
    for code in icd.codes(with_dots=False):
        if len(code) < 5 or code[0] in "VWXYZ" or not icd.is_leaf(code):
            continue
        title = icd.description(code)
        words = title.split()
        if re.search(r"[,\[\]()]", title) or len(words) > 4 or \
                words[0].lower() in ("other", "unspecified") or \
                re.search(r"\b(?:score|stage|type|site|sites)\b", title, re.IGNORECASE):
            continue
        dotted = f"{code[:3]}.{code[3:]}"
        out.append((title.lower(), LexiconEntry(title.lower(), title, "diagnosis", code=dotted)))
    return out


def _bracketed(canonical: str) -> list[str]:
    """The bracketed parts of an ICD-10-CM name: "[ALL]", "[part of]"."""
    return re.findall(r"\[([^\]]*)\]", canonical)


# A broken bone in everyday words ("a broken wrist", "fractured my ankle", "cracked ribs"):
# a fracture of the site, coded by ICD-10-CM's category for it where one category holds
# the site (not a 7th character: the encounter is not said). An arm, a leg, an elbow, a
# knee or a back spans several categories: no code, the fracture still found.
_FRACTURE_SITES: dict[str, tuple[str, str | None]] = {
    "wrist": ("wrist", "S62"), "hand": ("hand", "S62"), "finger": ("finger", "S62.6"),
    "fingers": ("finger", "S62.6"), "thumb": ("thumb", "S62.5"),
    "ankle": ("ankle", "S82"), "hip": ("hip", "S72"), "femur": ("femur", "S72"),
    "rib": ("rib", "S22.3"), "ribs": ("ribs", "S22.4"), "collarbone": ("clavicle", "S42.0"),
    "clavicle": ("clavicle", "S42.0"), "nose": ("nose", "S02.2"), "jaw": ("mandible", "S02.6"),
    "toe": ("toe", "S92"), "toes": ("toe", "S92"), "foot": ("foot", "S92"),
    "heel": ("calcaneus", "S92.0"), "shoulder": ("shoulder", "S42"),
    "kneecap": ("patella", "S82.0"), "pelvis": ("pelvis", "S32"), "skull": ("skull", "S02"),
    "neck of femur": ("neck of femur", "S72.0"), "neck of the femur": ("neck of femur", "S72.0"),
    "neck": ("neck", "S12"), "tibia": ("tibia", "S82"), "fibula": ("fibula", "S82"),
    "radius": ("radius", "S52"), "ulna": ("ulna", "S52"), "humerus": ("humerus", "S42"),
    "arm": ("arm", None), "leg": ("leg", None), "elbow": ("elbow", None),
    "knee": ("knee", None), "back": ("spine", None), "cheekbone": ("cheekbone", "S02.4"),
}
_BROKEN = re.compile(
    r"\b(?:broken|broke|fractured|fractures?d?|cracked|snapped)\s+(?:(?:(?:of|to|in)\s+)?"
    r"(?:my|his|her|your|their|a|an|the|both|left|right|one|two|three|several)\s+){0,3}"
    r"(?P<site>" + "|".join(sorted(_FRACTURE_SITES, key=len, reverse=True)) + r")\b"
    r"(?!\s+of\b)",  # "fractured neck of humerus": not the neck
    re.IGNORECASE)

# A condition named by its eponym alone, as people say it: "Parkinson's", "Crohn's",
# "Alzheimer's". Derived from the lexicon's "<name>'s disease|syndrome|palsy" forms where
# the name heads one such condition only (not "Paget's": of bone or of the breast); the
# name written with its capital, and not a person's ("Mr Parkinson's car").
_EPONYM = re.compile(r"\b([A-Z][a-z]+)['\u2019]s?\b(?!['\u2019]|\s+(?:disease|syndrome|"
                     r"palsy|disorder|sarcoma|lymphoma|ulcer|anomaly|phenomenon)\b)")


@lru_cache(maxsize=1)
def _titled() -> re.Pattern:
    """A title just before ("Mr Parkinson's"): the titles PHI redaction knows (imported
    here, not at the top: privacy reads the NLU's number words)."""
    from clinivox.privacy.phi import _TITLE

    return re.compile(rf"\b{_TITLE}\.?\s*$")


@lru_cache(maxsize=1)
def _eponyms() -> dict[str, Any]:
    """eponym -> the lexicon entry it names alone. Left out: a name that heads conditions
    in more than one ICD-10-CM category ("Paget's disease" of bone M88, of the breast C50),
    and a name that is an everyday word ("Bell's", "Still's", "Graves'"). A name that is
    also a person's ("Parkinson", "Wilson", "Turner") counts only after the words a
    condition follows ("she has Parkinson's"; not "we went to Wilson's")."""

    heads: dict[str, list] = {}
    categories: dict[str, set[str]] = {}
    for form, entry in _matcher().forms.items():
        m = re.match(r"([a-z]+)'s (?:disease|syndrome|palsy|disorder)\b", form)
        if not m or entry.category != "diagnosis":
            continue
        categories.setdefault(m.group(1), set()).add((entry.code or "")[:3])
        if form == m.group(0):
            heads.setdefault(m.group(1), []).append(entry)
    everyday = _everyday_words()
    return {name: entries[0] for name, entries in heads.items()
            if len({(e.canonical, e.code) for e in entries}) == 1
            and len(categories[name]) == 1 and name not in everyday}


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    from clinivox.privacy.phi import _names

    first, last = _names()
    return frozenset(n.lower() for n in (*first, *last))


# what a condition follows: "has Parkinson's", "diagnosed with", "history of", "for his"
_HAS_CONDITION = re.compile(r"\b(?:has|had|have|having|with|of|from|for (?:his|her|my|your|"
                            r"their)|diagnosed|suspected|possible|probable|early[- ]onset|"
                            r"and|or)\s*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def clinical_forms() -> frozenset[str]:
    """Lowercase forms of the drugs, diagnoses and symptoms the NLU recognises (PHI
    redaction never takes one for a name)."""
    forms = {k for k, e in _matcher().forms.items()
             if e.category in ("drug", "diagnosis", "symptom")}
    return frozenset(forms | symptom_forms() | set(BRITISH_DRUGS) | set(UK_BRANDS))


def _tokenizer_path() -> Any:
    """The bundled tiny.en tokenizer file; None when the model is not installed."""
    try:
        from clinivox.asr.models import resolve_model

        path = resolve_model("tiny.en").path / "tokenizer.json"
    except Exception:
        return None
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _everyday_words() -> frozenset[str]:
    """Everyday English words: the bundled tiny.en tokenizer's one-token words (the list the
    ASR biasing uses). Empty when the bundled model is not installed."""
    path = _tokenizer_path()
    if path is None:
        return frozenset()
    try:
        import tokenizers

        from clinivox.medical.terms import common_words_from_tokenizer

        return common_words_from_tokenizer(tokenizers.Tokenizer.from_file(str(path)))
    except Exception:
        return frozenset()


def _acronym_in_lowercase(written: str, entry: Any) -> bool:
    """The text wrote in lower case what the lexicon knows as an acronym ("all" for
    "Acute lymphoblastic leukemia [ALL]"): an ordinary word, not the term."""
    if written.isupper() or len(written) > 6 or " " in written.strip():
        return False
    everyday = _everyday_words()
    if everyday and len(written) >= 3 and written.islower() and written not in everyday:
        return False  # "crp", "copd" in a hurried note: no English word they could be
    acronym = written.upper()
    names = [entry.canonical, entry.term, *entry.variants]
    return any(re.search(rf"(?<![A-Za-z]){re.escape(acronym)}(?![A-Za-z])", n) for n in names)


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= a or b <= start for a, b in taken)


def _claim(out: list[Entity], taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether text[start:end] may become an entity: it overlaps nothing taken, or only
    shorter spans it contains (terms inside a longer name: "pain" in "tummy pain", "wrist"
    in "broken wrist"), whose entities it then replaces."""
    overlapping = {(a, b) for a, b in taken if a < end and start < b}
    if any(not (start <= a and b <= end and b - a < end - start) for a, b in overlapping):
        return False
    out[:] = [e for e in out if (e.start, e.end) not in overlapping]
    taken[:] = [t for t in taken if t not in overlapping]
    return True


def extract_text(text: str, matcher: Any = None, everyday: bool = True,
                 learned: bool = True) -> list[Entity]:
    """The entities of one text, by position. `matcher`: another lexicon's matcher (a
    user's vocabulary); `everyday`: also the symptoms, note abbreviations and body parts
    said in everyday words (`concepts`); `learned`: also the learned tagger's spans (as
    `span_model.mode()` says; never coded, so a reader of codes alone, the alert monitor,
    skips their cost)."""
    matcher = matcher or _matcher()
    sections = find_sections(text)
    out: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for hit in matcher.find(text):
        label = LABEL_OF_CATEGORY.get(hit.entry.category)
        normalized, code, category = hit.entry.canonical, hit.entry.code, hit.entry.category
        if hit.entry.category == "abbreviation" and hit.entry.canonical in ABBREVIATIONS:
            label, normalized, code = ABBREVIATIONS[hit.entry.canonical]
            category = "diagnosis" if label == "problem" else label
        if label is None or _acronym_in_lowercase(hit.term, hit.entry) or \
                guarded(hit.term, text, hit.end):
            continue
        if label == "procedure" and DIAGNOSTIC.search(normalized):
            label, category = "test", "lab"
        if category == "symptom":
            code = symptom_code(normalized) or symptom_code(hit.term)
        code = code if label in ("problem", "drug") else None
        if label == "problem" and hit.term.lower() in LEXICON_CODE_FIXES:
            normalized, code = LEXICON_CODE_FIXES[hit.term.lower()]
        elif label == "problem" and code:
            code = default_code(code, hit.term)
        elif label == "drug" and code:
            # the ingredient, not its salt or a product of it ("salbutamol inhalers")
            code = base_ingredient(product_ingredient(code))
        out.append(_entity(text, hit.term, label, hit.start, hit.end, normalized,
                           code, category, sections))
        taken.append((hit.start, hit.end))
    for m in _FOOD_ALLERGEN.finditer(text) if everyday else ():
        if not _claim(out, taken, m.start(), m.end("food")):
            continue
        out.append(_entity(text, m.group(0), "allergy", m.start(), m.end("food"),
                           _ALLERGEN_OF[m.group("food").lower()], None, "allergy", sections))
        taken.append((m.start(), m.end("food")))
    for c in find_concepts(text) if everyday else ():
        if not _claim(out, taken, c.start, c.end):
            continue  # overlaps a lexicon term it does not strictly contain
        code = default_code(c.concept.code, c.text) if c.concept.code and \
            c.concept.label == "problem" else c.concept.code
        out.append(_entity(text, c.text, c.concept.label, c.start, c.end,
                           c.concept.canonical, code,
                           "symptom" if c.concept.label == "problem" else c.concept.label,
                           sections))
        taken.append((c.start, c.end))
    for s in find_lay_symptoms(text) if everyday else ():
        same = next((e for e in out if (e.start, e.end) == (s.start, s.end)), None)
        if same is not None and same.label == "problem" and s.site:
            if same.code not in (None, "R52"):  # "sore throat": the table's, at its site
                same.attributes = {**same.attributes, "site": s.site}
                continue
            out.remove(same)  # "my knee is sore": the table's "sore" (R52), at its site
            taken.remove((s.start, s.end))
        elif not _claim(out, taken, s.start, s.end):
            continue  # a name the tables or the lexicon know ("sore throat") stays theirs
        e = _entity(text, s.text, "problem", s.start, s.end, s.canonical, s.code, "symptom",
                    sections)
        if s.site:
            e.attributes = {**e.attributes, "site": s.site}
        out.append(e)
        taken.append((s.start, s.end))
    for m in _BROKEN.finditer(text):
        site = m.group("site").lower()
        if not _claim(out, taken, m.start(), m.end()):  # the site alone, taken as a body
            continue  # part, gives way to the fracture
        out.append(_entity(text, m.group(0), "problem", m.start(), m.end(),
                           f"fracture of {_FRACTURE_SITES[site][0]}",
                           _FRACTURE_SITES[site][1], "diagnosis", sections))
        taken.append((m.start(), m.end()))
    for m in _EPONYM.finditer(text):
        entry = _eponyms().get(m.group(1).lower())
        before = text[max(0, m.start() - 30):m.start()]
        if entry is None or _titled().search(before) or not _free(taken, m.start(), m.end()):
            continue
        if m.group(1).lower() in _surnames() and not _HAS_CONDITION.search(before):
            continue
        code = default_code(entry.code, entry.canonical) if entry.code else None
        out.append(_entity(text, m.group(0), "problem", m.start(), m.end(), entry.canonical,
                           code, "diagnosis", sections))
        taken.append((m.start(), m.end()))
    for m in _BRITISH_NAMES.finditer(text):
        if m.group(0).lower().endswith("nurse") and not _TAKEN_NURSE.search(
                text[max(0, m.start() - 30):m.start()]):
            continue  # "works as a night nurse", "the night nurse came": a person
        if _free(taken, m.start(), m.end()):
            name = m.group(0).lower()
            out.append(_entity(text, m.group(0), "drug", m.start(), m.end(), name,
                               _BRITISH[name], "drug", sections))
            taken.append((m.start(), m.end()))
    problems = [(e.start, e.end) for e in out if e.label == "problem"]
    for sp in learned_spans(text, taken, problems) if everyday and learned else ():
        # what the model tags that no table lists, beside what they found and not where
        # they decline a word ("warts and all"): found, never coded (a word the tables
        # guard in this sense, "a weak signal", must not get the symptom's code through it)
        written = text[sp.start:sp.end]
        e = _entity(text, written, sp.label, sp.start, sp.end,
                    " ".join(written.lower().split()), None, "learned", sections)
        e.attributes = {**e.attributes, "confidence": f"{sp.score:.2f}"}
        out.append(e)
        taken.append((sp.start, sp.end))
    out.sort(key=lambda e: e.start)
    # a problem naming a service ("TIA clinic", "stroke unit", "asthma nurse") is no finding
    out[:] = [e for e in out if not (e.label == "problem" and _SERVICE.match(text[e.end:]))]
    _tests_named_after(text, out, sections)
    _attach_sites(text, out)
    _code_swelling_sites(text, out)
    _code_pain_sites(text, out)
    _share_list_assertions(text, out)
    _share_allergy_lists(text, out)
    refine_assertions(text, out)  # the learned model beside the rules
    for v in find_vitals(text):
        # the measurement's name inside its value is the vital, not a test ("BP 140/90")
        out[:] = [e for e in out if not (e.label == "test" and e.start < v.end and
                                          v.start < e.end)]
        out.append(Entity(v.text, "vital", v.start, v.end, f"{v.value} {v.unit}", v.kind,
                          assertion(text, v.start, v.end).value, category=v.kind,
                          section=section_at(sections, v.start)))
    return sorted(out, key=lambda e: e.start)


_SERVICE = re.compile(r"^[\s-]+(?:clinics?|services?|teams?|nurses?|units?|wards?|"
                      r"specialists?|consultants?|pathways?|centres?|centers?|departments?|"
                      r"helplines?|leaflets?|websites?|charity|society|association|diary|diaries)\b",
                      re.IGNORECASE)
_SITE_GAP = re.compile(r"^[\s-]*$")
# what is measured or tested for is not what the patient has: "HIV test", "COVID swab",
# "vitamin D level", "digoxin levels", "chlamydia screen" (a test); "flu jab", "hepatitis B
# vaccine" (neither a problem nor, here, a drug)
_TESTED = re.compile(r"^[\s-]+(?:tests?|testing|screens?|screening|swabs?|serology|"
                     r"antibod(?:y|ies)|levels?|samples?|cultures?)\b", re.IGNORECASE)
_VACCINE_WORDS = r"(?:vaccines?|vaccinations?|jabs?|boosters?|immuni[sz]ations?)"
_VACCINE = re.compile(r"^[\s-]+" + _VACCINE_WORDS + r"\b", re.IGNORECASE)
# and named after one: "vaccinated against measles", "the vaccine for hepatitis B"
_VACCINE_BEFORE = re.compile(r"\b(?:" + _VACCINE_WORDS +
                             r"\s+(?:for|against|like|such\s+as|including)|(?:vaccinated|"
                             r"immuni[sz]ed|jabbed)\s+(?:for|against))\s+"
                             # the diseases named before it in the same list
                             r"(?:[\w-]+(?:\s+[\w-]+){0,2}(?:\s*,\s*(?:and\s+|or\s+)?|"
                             r"\s+(?:and|or)\s+))*(?:the\s+)?$",
                             re.IGNORECASE)


def _tests_named_after(text: str, found: list[Entity], sections: list) -> None:
    """Problems and drugs named as what a test looks for become that test; named as what
    a vaccine protects from, they are dropped."""
    out: list[Entity] = []
    for e in found:
        if e.label not in ("problem", "drug"):
            out.append(e)
            continue
        tested = _TESTED.match(text[e.end:])
        if tested:
            end = e.end + tested.end()
            out.append(_entity(text, text[e.start:end], "test", e.start, end,
                               text[e.start:end].lower(), None, "lab", sections))
        elif not _VACCINE.match(text[e.end:]) and \
                not _VACCINE_BEFORE.search(text[max(0, e.start - 60):e.start]):
            out.append(e)
    found[:] = out


def _attach_sites(text: str, found: list[Entity]) -> None:
    """A body part said just before a problem names the problem's site ("lip swelling",
    "right hand numbness", "elbow swelling"): it becomes the problem's `site` attribute,
    not an entity of its own (a part after a preposition, "swelling of the lips", stays
    one). `found` is in text order."""
    drop = set()
    for i, part in enumerate(found[:-1]):
        nxt = found[i + 1]
        if part.label == "anatomy" and nxt.label == "problem" and \
                _SITE_GAP.match(text[part.end:nxt.start]):
            nxt.attributes = {**nxt.attributes, "site": part.normalized}
            drop.add(i)
    found[:] = [e for i, e in enumerate(found) if i not in drop]


def _code_swelling_sites(text: str, found: list[Entity]) -> None:
    """A swelling with a site said gets the site's code (`codes.swelling_site_code`: "lip
    swelling" R22.0, "swollen knee" M25.469) and the site as its `site` attribute."""
    for e in found:
        if e.label != "problem" or e.normalized.lower() not in ("swelling", "oedema", "edema"):
            continue
        got = swelling_site_code(text, e.start, e.end, e.attributes.get("site"))
        if got is not None:
            e.code = got[0]
            e.attributes = {**e.attributes, "site": e.attributes.get("site") or got[1]}


# a pain's site said after it: "pain in my wrist", "an ache in the left knee"
_PAIN_AT = re.compile(r"^\s+(?:in|on|of|around)\s+(?:(?:my|your|his|her|their|the|both)\s+)?"
                      r"(?:(?:left|right|lower|upper)\s+)?(?P<part>[a-z]+(?:\s+back)?)\b",
                      re.IGNORECASE)


def _code_pain_sites(text: str, found: list[Entity]) -> None:
    """A pain whose site is said ("wrist pain", "pain in my wrist", "sore knee") is coded as
    ICD-10-CM's index codes the pain of that site (M25.539), not as pain unspecified (R52);
    a part after a preposition stays an anatomy entity too."""
    for e in found:
        if e.label != "problem" or e.code != "R52":
            continue
        site = e.attributes.get("site")
        if site is None:
            m = _PAIN_AT.match(text[e.end:])
            if m is not None and site_pain(m.group("part")) is not None:
                site = " ".join(m.group("part").lower().split())
        known = site_pain(site) if site else None
        if site and known is not None and known[1] is not None:
            e.normalized, e.code = known
            e.attributes = {**e.attributes, "site": site}


# a drug tried without effect, said after it within its sentence: taken before, not now
_FAILED_TRIAL = re.compile(
    r"^[^.!?\n,;]{0,60}?\b(?:with (?:minimal|little|no|limited) (?:effect|relief|benefit|"
    r"improvement|help)|not helped|didn't help|did not help|hasn't helped|has not helped|"
    r"didn't work|did not work|not better|no better|to no avail|without (?:effect|relief|"
    r"benefit))\b", re.IGNORECASE)
_LIST_GAP = re.compile(r"^[\s,;/]*(?:(?:and|or|nor|and/or)\s+)?(?:(?:a|an|the|some|any)\s+)?$",
                       re.IGNORECASE)
_SHARED = ("hypothetical", "absent", "family", "possible")


def _share_list_assertions(text: str, found: list[Entity]) -> None:
    """Problems (or drugs) listed one after the other share the trigger of the first: "no
    nausea, vomiting, diarrhoea, abdominal pain, fever or rigors" (ConText's scope runs to
    the end of the clause; the word window here stops short of a long list). Only a
    mention no trigger of its own judged (present by default) takes its neighbour's."""
    for prev, cur in pairwise(found):
        if prev.assertion in _SHARED and cur.assertion == "present" and \
                cur.label == prev.label and cur.label in ("problem", "drug") and \
                _LIST_GAP.match(text[prev.end:cur.start]) and \
                assertion(text, cur.start, cur.end).trigger is None:
            cur.assertion = prev.assertion


def _share_allergy_lists(text: str, found: list[Entity]) -> None:
    """Drugs listed right after an allergen are allergens too: "allergic to penicillin,
    codeine and morphine" listed codeine and morphine as drugs the patient takes (only the
    drug the words "allergic to" precede was read as one). The assertion is the first's
    ("not allergic to penicillin or amoxicillin")."""
    for prev, cur in pairwise(found):
        if prev.label == "allergy" and cur.label == "drug" and \
                _LIST_GAP.match(text[prev.end:cur.start]):
            cur.label, cur.assertion = "allergy", prev.assertion
            cur.category = prev.category
            cur.attributes = {}


# "history of" names the past medical history, which lists long-term conditions the
# patient still has: those stay present (the i2b2 convention the gold set follows); an
# acute illness in it is historical. ICD-10-CM categories of chronic conditions:
CHRONIC_CODES = ("J45", "J44", "J30", "E10", "E11", "E13", "E03", "E05", "E66", "E78", "I10",
                 "I11", "I20", "I25", "I48", "I50", "L20", "L30.9", "L40", "G20", "G35",
                 "G40", "G43", "K50", "K51", "K58", "K90.0", "M05", "M06", "M10", "M15",
                 "M16", "M17", "M18", "M19", "M81", "F20", "F31", "F32", "F33", "F41", "N18",
                 "B20", "D57")
HISTORY_OF = frozenset({"history of", "h/o", "past history of"})
# "on amlodipine": taken now, whatever history was named before it
_ON_DRUG = re.compile(r"\bon\s+(?:regular\s+|long[- ]term\s+)?$", re.IGNORECASE)


def _entity(text: str, written: str, label: str, start: int, end: int, normalized: str,
            code: str | None, category: str, sections: list) -> Entity:
    judged = assertion(text, start, end)
    value = judged.value
    said = _NOTE_ANSWER.match(text[end:]) if label in ("problem", "drug", "allergy") else None
    if said is not None:  # a note's "Chest pain: none.", "Rash - yes."
        value = "present" if said.group(1).lower() in ("yes", "present", "positive") \
            else "absent"
    if value == "historical" and judged.trigger in HISTORY_OF and (
            (label == "problem" and (code or "").startswith(CHRONIC_CODES)
             and not ended_after(text, end))  # "history of asthma as a child"
            or (label == "drug" and _ON_DRUG.search(text[max(0, start - 20):start]))):
        value = "present"  # "history of asthma", "history of hypertension, on amlodipine"
    if label == "drug" and value == "present" and _FAILED_TRIAL.match(text[end:]):
        value = "historical"  # "used steroid cream with minimal effect": tried, not taken
    if label == "drug" and value == "present" and \
            _MOVED_OFF.search(text[max(0, start - 40):start]):
        value = "historical"  # "the doctor took me off amlodipine", "switched from ramipril"
    if value == "possible" and judged.trigger == "i think" and label == "drug" and \
            _I_THINK_I.search(text[sentence_start(text, start):start]):
        value = "present"  # "I think I do get antihistamines for that": a hedged memory
    if value == "possible" and (judged.trigger in WORRY or judged.trigger in _SEEMS) \
            and (code or "").startswith("R"):
        value = "present"  # worry about a symptom (ICD-10-CM's chapter R: symptoms and
        # signs) is about one felt; about a disease, doubt
    e = Entity(written, label, start, end, normalized, code, value,
               category=category, section=section_at(sections, start))
    if label == "problem" and (code or "").startswith(_ALLERGY_STATUS):
        e.label = "allergy"
    if label == "problem" and category == "diagnosis" and _SYMPTOM_CODE.match(code or ""):
        e.category = "symptom"  # "short of breath" (R06.02) is no diagnosis in a summary
    if label == "drug":
        e.xrefs = drug_xrefs(code or normalized)
        if _ALLERGY.search(text[max(0, start - 40):start]) or \
                _ALLERGY_AFTER.search(text[end:end + 40]) or \
                _in_allergy_list(sections, text, start):
            e.label = "allergy"
        else:
            e.attributes = _drug_attributes(text, end, start)
    return e


def _in_allergy_list(sections: list, text: str, start: int) -> bool:
    """Whether `start` is in the list an allergies heading opens: its line, up to the end
    of its first sentence. "Allergies: NKDA. Continue ramipril." made ramipril an allergy
    (the section ran on to the next heading), a drug the patient takes shown as one they
    must not be given."""
    for sec in sections:
        if sec.name == "allergies" and sec.start <= start < sec.end:
            between = text[sec.start:start]
            return "\n" not in between and not re.search(r"[.!?](?:\s|$)", between)
    return False


def _drug_attributes(text: str, end: int, start: int) -> dict[str, str]:
    """Dose, route and frequency said after a drug, within its clause (a dozen words); a
    dose said just before it ("take 2.5 mg warfarin daily") where none follows."""
    rest = text[end:]
    # a clause ends at a full stop, not at a decimal point ("adrenaline 0.5 mg IM")
    stop = re.search(r"(?<!\d)\.|\.(?!\d)|[;\n]|\b(?:and then|but)\b", rest)
    window = " ".join(rest[: stop.start() if stop else len(rest)].split()[:12])
    out = {}
    for key, group, pattern in (("dose", "dose", _DOSE), ("route", "route", _ROUTE),
                                ("frequency", "freq", _FREQ)):
        m = pattern.search(window)
        if m is not None:
            out[key] = m.group(group)
    if "dose" not in out:
        before = _DOSE_BEFORE.search(text[max(0, start - 30):start])
        if before is not None:
            out["dose"] = before.group("dose")
    return out


def extract(source: str | Sequence[Any]) -> list[Entity]:
    """Entities of a text, or of a transcript's segments (`asr.types.Segment`s or their
    dicts: text, start_s, end_s, words, speaker). On segments, offsets are in the
    segments' texts joined by single spaces, and each entity gets its words' time span and
    its segment's speaker.

    Consecutive segments of one speaker are read as one text: the recogniser ends a
    segment where its window ends, not where a sentence does ("He denies shortness" |
    "of breath."), and read one by one they lost the term and its negation."""
    if isinstance(source, str):
        found = extract_text(source)
        said = sentence_turns(source)
        mark_answers(said, found)  # "Chest pain? No."
        mark_relatives(said, found)  # "What about your mother? She has diabetes."
        return found

    groups: list[list[Any]] = []
    for seg in source:
        if groups and _get(groups[-1][-1], "speaker") == _get(seg, "speaker"):
            groups[-1].append(seg)
        else:
            groups.append([seg])
    out: list[Entity] = []
    offset = 0
    turns: list[tuple[int, str]] = []  # each speaker's turn, for the answers to questions
    for group in groups:
        texts = [(_get(seg, "text") or "").strip() for seg in group]
        text = " ".join(texts)
        if _get(group[0], "speaker") is None:  # no speakers: a sentence answers the last
            turns += [(offset + a, t) for a, t in sentence_turns(text)]
        else:
            turns.append((offset, text))
        words = [w for seg in group for w in _get(seg, "words") or ()]
        bounds, at = [], 0  # each segment's characters in the group's text
        for seg, t in zip(group, texts, strict=True):
            bounds.append((at, at + len(t), seg))
            at += len(t) + 1
        for e in extract_text(text):
            inside = [seg for a, b, seg in bounds if a < e.end and e.start < b] or \
                [group[0]]
            starts = [v for seg in inside if (v := _get(seg, "start_s")) is not None]
            ends = [v for seg in inside if (v := _get(seg, "end_s")) is not None]
            e.start_s, e.end_s = _time_span(text, e.start, e.end, words,
                                            min(starts) if starts else None,
                                            max(ends) if ends else None)
            e.speaker = _get(group[0], "speaker")
            e.start, e.end = e.start + offset, e.end + offset
            out.append(e)
        offset += len(text) + 1
    mark_answers(turns, out)
    mark_relatives(turns, out)
    return out


def _get(item: Any, k: str) -> Any:
    """A segment's or a word's field, as an object or as its JSON dict."""
    return item.get(k) if isinstance(item, dict) else getattr(item, k, None)


def _time_span(text: str, start: int, end: int, words: Sequence[Any],
               seg_start: float | None, seg_end: float | None
               ) -> tuple[float | None, float | None]:
    """The time span of the words over text[start:end] (the segment's own without words)."""
    written = [_get(w, "word") or "" for w in words]
    span = [w for w, at in zip(words, word_char_spans(text, written), strict=True)
            if at is not None and at[0] < end and at[1] > start]
    if not span:
        return seg_start, seg_end

    return (round(float(_get(span[0], "start_s")), 3),
            round(float(_get(span[-1], "end_s")), 3))
