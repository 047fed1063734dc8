"""Synthetic assertion examples: sentences whose findings' assertions are known by
construction, to teach a learned assertion model where a cue's scope ends.

The PriMock57 gold set holds few sentences with a cue in one clause and a finding in
another ("no chest pain but has fever"), with a relative and the patient in one sentence,
or about a patient called "she" (a note, a dictation). A model trained on it alone learns
that a negation word anywhere makes a finding absent and that a third person is a relative.
These templates are written from ConText's categories (negation and its pseudo-triggers,
scope terminators, experiencer, temporality, hypothetical and uncertainty cues), each with
the patient in the first, second or third person, and with the gold set's conventions (a
yes/no question about a finding is `hypothetical`, advice to take a drug is
`hypothetical`, a drug tried without effect `historical`). Findings and drugs are drawn
from the NLU's own tables, so a template's finding is one `extract()` would find.

    for ex in synthesise(1000, seed=0): ...  # SynthMention: text, start, end, label, assertion
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Entity slots in a template: P1..P3 a problem, Y1 a symptom, X1 a diagnosis, D and D2 a
# drug; each template gives each slot's class.
_SLOT = re.compile(r"\{(\w+)\}")

# the patient: subject, possessive, and verb forms (have, get, take, do-not, deny, be)
_PATIENTS = (
    ("I", "my", "have", "get", "take", "don't", "deny", "am"),
    ("you", "your", "have", "get", "take", "don't", "deny", "are"),
    ("he", "his", "has", "gets", "takes", "doesn't", "denies", "is"),
    ("she", "her", "has", "gets", "takes", "doesn't", "denies", "is"),
    ("the patient", "their", "has", "gets", "takes", "doesn't", "denies", "is"),
    ("Mr Jones", "his", "has", "gets", "takes", "doesn't", "denies", "is"),
    ("Mrs Okafor", "her", "has", "gets", "takes", "doesn't", "denies", "is"),
    ("pt", "their", "has", "gets", "takes", "doesn't", "denies", "is"),
)
_RELATIVES = ("mother", "father", "mum", "dad", "brother", "sister", "grandmother",
              "grandfather", "aunt", "uncle", "son", "daughter", "cousin")
_DURATIONS = ("two days", "a week", "three weeks", "a few months", "about a year", "5 days",
              "3/7", "2 weeks")
_FREQ = ("daily", "twice a day", "once a day", "every morning", "at night", "as needed", "")
_OPENERS = ("", "", "", "", "Um, ", "So ", "Okay, ", "And ", "Right, ", "Uh, ", "Well, ")

# (template, {slot: class}); {S} the patient as subject, {s} the same in lower case,
# {poss} their possessive, {have} {get} {take} {dont} {deny} {be} verb forms, {R} a
# relative with a possessive, {Rc} capitalised, {dur} {freq} (may be empty) {years}
TEMPLATES: tuple[tuple[str, dict[str, str]], ...] = (
    # negation, and where its scope ends
    ("{S} {dont} have any {P1} or {P2}, but {s} {have} {P3}.",
     {"P1": "absent", "P2": "absent", "P3": "present"}),
    ("No {P1}, but {s} {have} had some {P3} since yesterday.",
     {"P1": "absent", "P3": "present"}),
    ("{S} {deny} {P1}. {S} {have} had {P3} for {dur}.", {"P1": "absent", "P3": "present"}),
    ("Denies {P1} or {P2}; reports {P3}.",
     {"P1": "absent", "P2": "absent", "P3": "present"}),
    ("{S} {have} {P1} but no {P2}.", {"P1": "present", "P2": "absent"}),
    ("{P1} for {dur}, no {P2} or {P3}.",
     {"P1": "present", "P2": "absent", "P3": "absent"}),
    ("Nil {P1}. {S} {take} {D} {freq}.", {"P1": "absent", "D": "present"}),
    ("There's no {P1}, although {poss} {P3} is worse.", {"P1": "absent", "P3": "present"}),
    ("No {P1}, no {P2}, but {s} {have} been getting {P3}.",
     {"P1": "absent", "P2": "absent", "P3": "present"}),
    ("{S} {have} no {P1} and {s} {take} {D} for {poss} {P3}.",
     {"P1": "absent", "D": "present", "P3": "present"}),
    ("No {P1} at all, which is good, but the {P3} is still there.",
     {"P1": "absent", "P3": "present"}),
    ("{S} {dont} take any {D}.", {"D": "absent"}),
    ("{P1}: none. {P3}: yes.", {"P1": "absent", "P3": "present"}),
    # pseudo-negation: negation words that do not negate the finding
    ("There has been no change in {poss} {P1}.", {"P1": "present"}),
    ("No improvement in the {P1} so far.", {"P1": "present"}),
    ("There was no increase in {poss} {P1} after the {D}.",
     {"P1": "present", "D": "present"}),
    ("{S} {have} not only {P1} but also {P2}.", {"P1": "present", "P2": "present"}),
    ("The {P1} is no better.", {"P1": "present"}),
    # experiencer: a relative and the patient
    ("{Rc} {rel_has} {P1} and {s} {have} {P3}.", {"P1": "family", "P3": "present"}),
    ("{Rc} had {P1}; {s} {have} {P3} {freq}.", {"P1": "family", "P3": "present"}),
    ("{S} {have} {P3}. {Rc} also had {P1}.", {"P3": "present", "P1": "family"}),
    ("Family history of {P1}.", {"P1": "family"}),
    ("FH: {P1} in {poss} {rel}.", {"P1": "family"}),
    ("{Rc} died of {P1} when {rel_pron} was {years}.", {"P1": "family"}),
    ("{P1} runs in the family.", {"P1": "family"}),
    ("{S} {have} {P3}, and {R} {rel_has} {P1} as well.",
     {"P3": "present", "P1": "family"}),
    ("{Rc} takes {D} for {rel_poss} {P1}.", {"D": "family", "P1": "family"}),
    # temporality: what was, against what is
    ("{S} used to get {P1}.", {"P1": "historical"}),
    ("{S} had {P1} as a child.", {"P1": "historical"}),
    ("{S} had {P1} {years} ago, but it has resolved.", {"P1": "historical"}),
    ("{S} tried {D} but it didn't help.", {"D": "historical"}),
    ("{S} used to take {D} but stopped it.", {"D": "historical"}),
    ("{S} had {P1} in the past, none since, and now {have} {P3}.",
     {"P1": "historical", "P3": "present"}),
    ("{S} {have} had {P1} for {dur}.", {"P1": "present"}),
    ("{S} {have} {P1} at the moment.", {"P1": "present"}),
    ("{S} {take} {D} for {poss} {P1}.", {"D": "present", "P1": "present"}),
    ("{S} {be} on {D} {freq}.", {"D": "present"}),
    ("C/o {P1} and {P2}.", {"P1": "present", "P2": "present"}),
    # minimal pairs for the cues above: a past tense, a hedge, a question or a stopped drug
    # that does not make a finding historical, possible or hypothetical
    ("{S} had {P1} this morning.", {"P1": "present"}),
    ("{S} had {P1} last night and {s} still {have} it.", {"P1": "present"}),
    ("I think I've got {Y1}.", {"Y1": "present"}),
    ("I'm not sure, but I think it's {Y1}.", {"Y1": "present"}),
    ("So it started with {Y1}, did it?", {"Y1": "present"}),
    ("You've had {P1} for {dur}, haven't you?", {"P1": "present"}),
    ("Any {P1}? {P3} for {dur}.", {"P1": "hypothetical", "P3": "present"}),
    ("Started {D} today.", {"D": "present"}),
    ("{S} {was} switched from {D} to {D2}.", {"D": "historical", "D2": "present"}),
    ("{S} stopped {D} last week and {be} now on {D2}.",
     {"D": "historical", "D2": "present"}),
    ("{S} {have} been getting {P1} and {P2}.", {"P1": "present", "P2": "present"}),
    # hypothetical: conditions, advice, yes/no questions
    ("If {s} {get} any {P1}, take {D}.", {"P1": "hypothetical", "D": "hypothetical"}),
    # a condition on how a finding the patient has goes on: the finding is there
    ("Come back if the {P1} gets worse.", {"P1": "present"}),
    ("If {poss} {P1} isn't getting any better, come back.", {"P1": "present"}),
    ("If the {D} isn't working, call us.", {"D": "present"}),
    ("If you get {P1}, or if the {P3} spreads, come back.",
     {"P1": "hypothetical", "P3": "present"}),
    ("If {s} {get} {P1}, call us. {S} {have} {P3} at the moment.",
     {"P1": "hypothetical", "P3": "present"}),
    ("Have you had any {P1}?", {"P1": "hypothetical"}),
    ("Any {P1} or {P2}?", {"P1": "hypothetical", "P2": "hypothetical"}),
    ("Do you get {P1} at all?", {"P1": "hypothetical"}),
    ("So you've had {P3} for {dur}. Any {P1}?", {"P3": "present", "P1": "hypothetical"}),
    ("You've got {P3}; have you noticed any {P1} with it?",
     {"P3": "present", "P1": "hypothetical"}),
    ("Watch out for {P1}.", {"P1": "hypothetical"}),
    ("You can take some {D} for that.", {"D": "hypothetical"}),
    ("I'd suggest trying {D} {freq}.", {"D": "hypothetical"}),
    ("{S} {take} {D} already, and if the {P1} comes back, {s} can add {D2}.",
     {"D": "present", "P1": "hypothetical", "D2": "hypothetical"}),
    # uncertainty
    ("It might be {P1}.", {"P1": "possible"}),
    ("I think it could be {X1}.", {"X1": "possible"}),
    ("I'm worried I might have {X1}.", {"X1": "possible"}),
    ("?{P1}", {"P1": "possible"}),
    ("Likely {P1}.", {"P1": "possible"}),
    ("{S} {have} {P3}, which could be {P1}.", {"P3": "present", "P1": "possible"}),
    ("I'm worried it's {P1}.", {"P1": "possible"}),
    ("Possible {P1}; {s} also {have} {P3}.", {"P1": "possible", "P3": "present"}),
)


@dataclass(frozen=True)
class SynthMention:
    text: str
    start: int
    end: int
    label: str  # problem or drug
    assertion: str
    template: int  # its template's index in TEMPLATES


def vocabulary() -> tuple[list[str], list[str]]:
    """Problems (the symptom and condition tables' names) and drugs (common ingredients
    and the drug-class words the tables list)."""
    from clinivox.nlu.concepts import DRUG_CLASS_WORDS

    symptoms, conditions = _problems()
    drugs = sorted({*_DRUGS, *(f.split("|")[0] for _, f in DRUG_CLASS_WORDS)})
    return sorted({*symptoms, *conditions}), drugs


def _problems() -> tuple[list[str], list[str]]:
    """The symptom table's names and the condition table's (diagnoses)."""
    from clinivox.nlu.concepts import CONDITIONS, SYMPTOMS

    def names(table: tuple) -> list[str]:
        return sorted({n.lower() for n, _, _ in table
                       if 1 <= len(n.split()) <= 4 and n.isascii()})

    return names(SYMPTOMS), names(CONDITIONS)


_DRUGS = ("paracetamol", "ibuprofen", "amoxicillin", "omeprazole", "lansoprazole", "metformin",
          "ramipril", "amlodipine", "atorvastatin", "simvastatin", "salbutamol", "sertraline",
          "citalopram", "fluoxetine", "naproxen", "codeine", "co-codamol", "tramadol",
          "prednisolone", "cetirizine", "loratadine", "levothyroxine", "warfarin", "apixaban",
          "aspirin", "clopidogrel", "bisoprolol", "furosemide", "doxycycline",
          "nitrofurantoin", "trimethoprim", "flucloxacillin", "clarithromycin", "insulin",
          "gabapentin", "amitriptyline", "propranolol", "hydrocortisone cream", "mirtazapine",
          "lisinopril", "losartan", "metoclopramide", "loperamide", "beclometasone")


def _fill(template: str, slots: dict[str, str], rng: random.Random, problems: list[str],
          drugs: list[str], symptoms: list[str], conditions: list[str]
          ) -> tuple[str, list[tuple[int, int, str, str]]]:
    subj, poss, have, get, take, dont, deny, be = rng.choice(_PATIENTS)
    rel = rng.choice(_RELATIVES)
    # a third-person patient's relative may be named by anyone in the room
    rel_poss = poss if subj in ("I", "you") else rng.choice(("my", "your", "his", "her"))
    rel_pron = "she" if rel in ("mother", "mum", "sister", "grandmother", "aunt",
                                "daughter") else "he"
    chosen_p = rng.sample(problems, 3)
    chosen_d = rng.sample(drugs, 2)
    words = {"S": subj[0].upper() + subj[1:], "s": subj, "poss": poss, "have": have,
             "get": get, "take": take, "was": "were" if subj == "you" else "was",
             "dont": dont, "deny": deny, "be": be,
             "R": f"{rel_poss} {rel}", "Rc": f"{rel_poss.capitalize()} {rel}", "rel": rel,
             "rel_has": rng.choice(("has", "had")),
             "rel_poss": "her" if rel_pron == "she" else "his", "rel_pron": rel_pron,
             "dur": rng.choice(_DURATIONS), "freq": rng.choice(_FREQ),
             "years": rng.choice(("ten", "20", "five", "a few", "60", "many")),
             "P1": chosen_p[0], "P2": chosen_p[1], "P3": chosen_p[2],
             "D": chosen_d[0], "D2": chosen_d[1],
             "Y1": rng.choice(symptoms), "X1": rng.choice(conditions)}
    out, spans, at = [], [], 0
    for m in _SLOT.finditer(template):
        out.append(template[at:m.start()])
        value = words[m.group(1)]
        if not value:  # an empty frequency: no space left before the full stop
            out[-1] = out[-1].rstrip(" ")
        pos = sum(len(x) for x in out)
        if m.group(1) in slots:
            spans.append((pos, pos + len(value), "drug" if m.group(1).startswith("D")
                          else "problem", slots[m.group(1)]))
        out.append(value)
        at = m.end()
    out.append(template[at:])
    return "".join(out), spans


def synthesise(n: int, seed: int = 0, lowercase_share: float = 0.3) -> Iterator[SynthMention]:
    """`n` sentences, each with its mentions: a template at random, filled with problems,
    drugs, a patient in one of eight persons and a relative; an opener ("Um,", "So") and
    lower case (as a transcript might write it) for some."""
    rng = random.Random(seed)
    problems, drugs = vocabulary()
    symptoms, conditions = _problems()
    for _ in range(n):
        k = rng.randrange(len(TEMPLATES))
        template, slots = TEMPLATES[k]
        text, spans = _fill(template, slots, rng, problems, drugs, symptoms, conditions)
        opener = rng.choice(_OPENERS)
        if opener:
            first = text.split()[0]
            keep = first in ("I", "I'm", "I'd", "Mr", "Mrs") or first[1:2].isupper()
            text = opener + (text if keep else text[0].lower() + text[1:])
            spans = [(a + len(opener), b + len(opener), lab, c) for a, b, lab, c in spans]
        if rng.random() < lowercase_share:
            text = text.lower()
        for a, b, label, cls in spans:
            yield SynthMention(text, a, b, label, cls, k)
