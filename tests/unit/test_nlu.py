"""Clinical NLU (`clinivox.nlu`): assertions, codes, vitals, sections, the extract CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clinivox.asr.types import Segment, Word
from clinivox.nlu import extract, find_sections


def _one(text: str, label: str | None = None):
    found = [e for e in extract(text) if label is None or e.label == label]
    assert len(found) == 1, [(e.text, e.label) for e in found]
    return found[0]


def _assertions(text: str) -> dict[str, str]:
    return {e.text.lower(): e.assertion for e in extract(text)}


def _assertions_of(text: str, expected: dict[str, str]) -> dict[str, str]:
    """The assertions of the mentions `expected` names (others, such as body parts, aside)."""
    return {k: v for k, v in _assertions(text).items() if k in expected}


@pytest.mark.parametrize("text, expected", [
    # negation and its scope: "but" ends it
    ("No chest pain but has fever.", {"chest pain": "absent", "fever": "present"}),
    ("He denies any chest pain.", {"chest pain": "absent"}),
    ("She has no cough or fever.", {"cough": "absent", "fever": "absent"}),
    ("Pneumonia was ruled out.", {"pneumonia": "absent"}),
    # medspaCy's shipped triggers, taken into the table
    ("Examination fails to reveal a fracture.", {"fracture": "absent"}),
    ("Pneumonia is not evident.", {"pneumonia": "absent"}),
    ("Imaging worrisome for pneumonia.", {"pneumonia": "possible"}),
    # a clinician's provisional conclusion is not yet a diagnosis
    ("Our working diagnosis is a mini-stroke.", {"mini-stroke": "possible"}),
    ("They indicate the possibility of a heart attack.", {"heart attack": "possible"}),
    ("We'll also check for things like gout.", {"gout": "possible"}),
    # a finding named as the topic of a question is given ("about your cough, any phlegm?")
    ("So about your cough, are you bringing up any phlegm?",
     {"cough": "present", "phlegm": "hypothetical"}),
    ("If your headaches were to become more persistent, come back.", {"headaches": "present"}),
    # a question about a finding already named takes it as given
    ("Is the pain constant, or does it come and go?", {"pain": "present"}),
    ("And is the back pain worse at night", {"back pain": "present"}),
    ("Is that the blue inhaler?", {"blue inhaler": "present"}),
    ("You mentioned you have asthma, so what do you take for it?", {"asthma": "present"}),
    ("What medications are you using for asthma?", {"asthma": "present"}),
    ("So it started off with a cold, did it?", {"a cold": "present"}),
    ("You don't feel breathless, do you?", {"breathless": "absent"}),
    # ... but not an illness named with "the" by idiom, nor a body part's own phrase
    ("Have you had the flu?", {"flu": "hypothetical"}),
    ("Any feeling like your throat is closing?", {"throat is closing": "hypothetical"}),
    # doubt and recommendation in conversation
    ("I'm not a hundred percent sure if I had a fever.", {"fever": "possible"}),
    ("I'm not saying you have a heart attack.", {"heart attack": "possible"}),
    ("I think using the steroids regularly.", {"steroids": "present"}),
    ("Your normal headache, where is that?", {"headache": "present"}),
    ("There's no harm in starting antibiotics.", {"antibiotics": "present"}),
    # a treatment that did not help: the finding is there
    ("The cream hasn't helped with the itch.", {"itch": "present"}),
    # a negation of the finding's kind, not of the finding
    ("I've never had headaches like this before.", {"headaches": "present"}),
    ("I have never had chest pain.", {"chest pain": "absent"}),
    # pseudo-negation: "not only" negates nothing
    ("Not only a headache but also a cough.", {"headache": "present", "cough": "present"}),
    ("There was no increase in the headache.", {"headache": "present"}),
    # family vs patient
    ("My brother had neurofibromatosis.", {"neurofibromatosis": "family"}),
    ("My mother has diabetes and I have asthma.", {"diabetes": "family", "asthma": "present"}),
    ("Diabetes runs in the family.", {"diabetes": "family"}),
    # hypothetical, and a question
    ("If you get a fever, come back.", {"fever": "hypothetical"}),
    ("Any chest pain?", {"chest pain": "hypothetical"}),
    # historical and possible
    ("History of asthma as a child.", {"asthma": "historical"}),
    ("Possible pneumonia.", {"pneumonia": "possible"}),
    ("I have had a cough for three days.", {"cough": "present"}),
])
def test_assertions(text, expected):
    assert _assertions(text) == expected


def test_codes_brand_to_ingredient_and_ordinary_words():
    lipitor = _one("Started on Lipitor 20 mg once daily by mouth.", "drug")
    assert (lipitor.normalized, lipitor.code) == ("atorvastatin", "atorvastatin")
    assert lipitor.attributes == {"dose": "20 mg", "route": "by mouth",
                                  "frequency": "once daily"}
    assert lipitor.xrefs["drugbank"] == "DB01076"  # atorvastatin, offline
    assert lipitor.to_dict()["xrefs"]["medlineplus"] == "a600045"
    # "all" is a word, not acute lymphoblastic leukaemia; "ALL" written as such is
    assert extract("They all call me a Yankee.") == []
    assert _one("ALL was diagnosed in 2019.").code == "C91.0"
    assert _one("Give adrenaline now.").code == "epinephrine"
    assert _one("She is allergic to penicillin.").label == "allergy"
    assert _one("History of asthma.").code == "J45.909"  # the category's default leaf


@pytest.mark.parametrize("text, value", [
    ("Blood pressure one forty over ninety.", "140/90 mmHg"),
    ("BP is 120/80.", "120/80 mmHg"),
    ("one thirty over eighty", "130/80 mmHg"),
    ("Pulse of 88 beats per minute.", "88 /min"),
    ("Sats 94 percent on air.", "94 %"),
    ("Temperature 38.5 degrees.", "38.5 °C"),
    ("Respiratory rate twenty two.", "22 /min"),
])
def test_spoken_and_written_vitals(text, value):
    assert _one(text, "vital").normalized == value


def test_no_vital_from_ordinary_numbers():
    assert [e for e in extract("I walked six over ten miles.") if e.label == "vital"] == []


@pytest.mark.parametrize("text, kind, value", [
    ("Weight 82 kg.", "weight", "82 kg"),
    ("He weighs about fourteen stone.", "weight", "88.9 kg"),
    ("She weighs 140 pounds.", "weight", "63.5 kg"),
    ("Height 1.75 m.", "height", "175 cm"),
    ("She is five foot four.", "height", "162.6 cm"),
    ("He is 180 cm tall.", "height", "180 cm"),
    ("BMI 26.8.", "bmi", "26.8 kg/m²"),
    ("Blood sugar was 12.4.", "blood_glucose", "12.4 mmol/L"),
    ("Her sugars have been around eight.", "blood_glucose", "8 mmol/L"),
    ("Glucose 180 mg/dL.", "blood_glucose", "180 mg/dL"),
    ("Pain score seven out of ten.", "pain_score", "7 /10"),
    ("It is a nine out of ten pain.", "pain_score", "9 /10"),
    ("Temperature thirty eight point five.", "temperature", "38.5 °C"),
])
def test_measurements_in_the_units_a_record_keeps(text, kind, value):
    vital = _one(text, "vital")
    assert (vital.code, vital.normalized) == (kind, value)


@pytest.mark.parametrize("text", [
    "I lost 3 kilos over the summer.",  # a change, not a weight
    "Weight loss of 5 kg.",
    "I paid 5 pounds for it.",
    "A 45 cm wound on the leg.",  # a size
    "I walked 5 metres.",
    "A five foot wall.",
    "Sugar levels and BP normal today.",  # "a" of "and" once read as the number 1
])
def test_no_measurement_without_its_name(text):
    assert [e for e in extract(text) if e.label == "vital"] == []


def test_an_allergy_status_is_an_allergy():
    # ICD-10-CM's allergy status (Z91.0: not to drugs): the allergen, not a problem found
    allergy = _one("Allergy to shellfish.")
    assert (allergy.label, allergy.code) == ("allergy", "Z91.013")


def test_sections_from_headings():
    text = ("Presenting complaint: cough for a week. Medications: metformin. "
            "Allergies: penicillin. Plan: chest x-ray.")
    assert [s.name for s in find_sections(text)] == ["presenting_complaint", "medications",
                                                     "allergies", "plan"]
    pen = _one(text.replace("metformin", "none"), "allergy")
    assert pen.section == "allergies"


def test_transcript_entities_get_times_and_speakers():
    words = tuple(Word(0.5 + 0.4 * i, 0.8 + 0.4 * i, " " + w, 0.9)
                  for i, w in enumerate(["I", "have", "a", "bad", "headache", "today"]))
    segs = [Segment(0, 0.0, 1.0, "Good morning.", speaker="S0"),
            Segment(1, 0.5, 3.0, " I have a bad headache today", words, speaker="S1")]
    (e,) = extract(segs)
    assert (e.text, e.speaker) == ("headache", "S1")
    assert (e.start_s, e.end_s) == (pytest.approx(2.1), pytest.approx(2.4))
    joined = " ".join(s.text.strip() for s in segs)
    assert joined[e.start:e.end] == "headache"


def test_extract_cli_on_text_and_transcript_json(tmp_path):
    run = [sys.executable, "-m", "clinivox.cli.main", "extract"]
    out = subprocess.run([*run, "He denies chest pain."], capture_output=True, text=True,
                         check=True)
    doc = json.loads(out.stdout)
    assert doc["entities"][0]["assertion"] == "absent" and "sections" in doc
    path = tmp_path / "visit.json"
    path.write_text(json.dumps({"text": "x", "segments": [
        {"start_s": 1.0, "end_s": 2.0, "text": " Start metformin.", "speaker": "SPEAKER_00",
         "words": []}]}))
    out = subprocess.run([*run, str(path), "--format", "table"], capture_output=True,
                         text=True, check=True)
    assert "metformin" in out.stdout and "present" in out.stdout
    # the table's details: the transcript's time and speaker
    assert "1.00-2.00s; SPEAKER_00" in out.stdout
    out = subprocess.run([*run, "Amoxicillin 500 mg by mouth. No lip swelling.", "--format",
                          "table"], capture_output=True, text=True, check=True)
    assert "dose=500 mg; route=by mouth" in out.stdout and "site=lip" in out.stdout
    assert "anatomy" not in out.stdout  # "by mouth" is a route, not a body part
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
    # a mistyped file name gave no entities and exit 0, as if the file had none
    proc = subprocess.run([*run, str(tmp_path / "visti.json")], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "no such file" in proc.stderr and not proc.stdout
    # text that only ends like a file name is still text
    out = subprocess.run([*run, "Results in notes.txt"], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout)["entities"] == []


def test_json_terms_carry_labels_and_assertions():
    """The JSON outputs' `terms` come from the NLU, read with the biaser's lexicon."""
    import types

    from clinivox.medical.lexicon import Lexicon, LexiconEntry
    from clinivox.medical.terms import TermMatcher
    from clinivox.pipeline import segment_terms

    lex = Lexicon([LexiconEntry("chest pain", "chest pain", "symptom"),
                   LexiconEntry("ramipril", "ramipril", "drug", "ramipril")])
    biaser = types.SimpleNamespace(matcher=TermMatcher(lex))
    segs = [Segment(0, 0.0, 2.0, " He denies chest pain."),
            Segment(1, 2.0, 4.0, " Start ramipril 5 mg once daily.")]
    terms = segment_terms(segs, biaser)
    assert [(t["term"], t["label"], t["assertion"], t["segment"]) for t in terms] == [
        ("chest pain", "problem", "absent", 0), ("ramipril", "drug", "present", 1)]
    assert terms[1]["attributes"] == {"dose": "5 mg", "frequency": "once daily"}


@pytest.mark.parametrize("text", [
    # ICD-10-CM index words that became lexicon forms: "other" (preterm newborn),
    # "hand" (hand, foot and mouth disease), "[part of]", external causes
    "Have you had any other symptoms?",
    "Is that the right or left hand?",
    "the lower part of my tummy",
    "We walked down the street after the earthquake.",
    "Could you give me a hand with the shopping, and come back tomorrow?",
    "They all call me a Yankee.",
])
def test_ordinary_words_get_no_code(text):
    assert [e.text for e in extract(text) if e.code] == []


@pytest.mark.parametrize("text, name, code, assertion", [
    ("I've been throwing up since Tuesday.", "vomiting", "R11.10", "present"),
    ("She has a tummy ache.", "abdominal pain", "R10.9", "present"),
    ("Appetite maintained, nil nausea.", "nausea", "R11.0", "absent"),
    ("PMH: HTN", "hypertension", "I10", "present"),
    ("He coughed up blood twice.", "haemoptysis", "R04.2", "present"),
    ("Any pins and needles in your hands", "Paresthesia of skin", "R20.2", "hypothetical"),
    ("Headache on the left side.", "headache", "R51.9", "present"),
])
def test_symptoms_in_everyday_words_are_coded(text, name, code, assertion):
    e = _one(text, "problem")
    assert (e.normalized, e.code, e.assertion) == (name, code, assertion)


def test_everyday_anatomy_needs_a_possessive():
    assert [e.text for e in extract("My back has been sore.") if e.label == "anatomy"] == \
        ["back"]
    assert [e for e in extract("Come back tomorrow.") if e.label == "anatomy"] == []


@pytest.mark.parametrize("text, expected", [
    # speech recognition often ends a question with a full stop or nothing
    ("Have you had any chest pain recently", "hypothetical"),
    ("Does anyone in the family have diabetes.", "hypothetical"),
    ("And is there any back pain at night", "hypothetical"),
    # (a question about the back pain already named, "And is the back pain worse at night",
    # asks how it is, not whether it is there: present, in test_assertions)
    ("Have you seen any blood in your urine", "hypothetical"),
    # a discourse marker, and a statement after the question's clause, are not questions
    ("Do you know, I had a fever all weekend.", "present"),
    ("Is that OK, because I've had chest pain since Monday.", "present"),
    ("I've had a cough for two weeks.", "present"),
])
def test_questions_without_a_question_mark(text, expected):
    """On the PriMock57 gold test half, hypothetical scored 0.50: the transcripts' questions
    often lack a question mark. The rule was made on 30 sentences of my own (questions and
    statements), not on the test half."""
    assert _one(text, "problem").assertion == expected


@pytest.mark.parametrize("text, expected", [
    # a note's query, written against the word: possible; a question mark after it is not
    ("Imp: ?UTI. Also need to exclude pregnancy.", {"uti": "possible", "pregnancy": "possible"}),
    ("ICE: ?related to dehydration.", {"dehydration": "possible"}),
    ("Any cough? Rash on both arms.", {"cough": "hypothetical", "rash": "present"}),
    # a where/which/how-long question takes the finding as given; a yes/no question does not
    ("Which fingers do you feel numb?", {"numb": "present"}),
    ("How long have you had the cough?", {"cough": "present"}),
    ("Do you have chest pain?", {"chest pain": "hypothetical"}),
    # resolved, stopped and tried: it was there (historical), not "never was" (absent)
    ("Initial diarrhoea - but now resolved.", {"diarrhoea": "historical"}),
    ("Fever but the cough has resolved.", {"fever": "present", "cough": "historical"}),
    ("Tried ibuprofen, no help.", {"ibuprofen": "historical"}),
    ("No rash, resolved.", {"rash": "absent"}),
    # resolved in the next sentence, said with a pronoun; not when the finding is named again
    ("It started with vomiting. But then that went away.", {"vomiting": "historical"}),
    ("I had a rash. It's gone now.", {"rash": "historical"}),
    ("I had a rash. It's gone red.", {"rash": "present"}),
    ("I have a cough. It stopped. But the cough came back.", {"cough": "present"}),
    # doubt put as the speaker's own question is uncertainty, not a hypothetical "if"
    ("I wonder whether you may have dermatitis.", {"dermatitis": "possible"}),
    ("I'm not sure if it is asthma.", {"asthma": "possible"}),
    ("If you get a fever, come back.", {"fever": "hypothetical"}),
    # "No," answering the question before negates nothing; ", just" ends a negation
    ("No, I feel generally tired.", {"tired": "present"}),
    ("No, no chest pain.", {"chest pain": "absent"}),
    ("I don't feel down, just a little bit stressed.",
     {"feel down": "absent", "stressed": "present"}),
])
def test_assertion_rules_from_the_second_gold_batch(text, expected):
    """Made on the validation half of the second PriMock57 batch (docs/nlu.md); each row
    here is a sentence of my own with the same construction, not a gold sentence."""
    assert _assertions_of(text, expected) == expected


@pytest.mark.parametrize("text, name, label", [
    ("Blood tests including crp and esr.", "C-reactive protein", "test"),
    ("We will get an ECG.", "electrocardiogram", "test"),
    ("I feel tired all day.", "fatigue", "problem"),
    ("I've got a cold.", "common cold", "problem"),
    ("Mother has hayfever.", "hay fever", "problem"),
])
def test_everyday_clinical_words(text, name, label):
    assert name in {e.normalized for e in extract(text) if e.label == label}


@pytest.mark.parametrize("text", [
    "I'm tired of waiting.", "Would you like a cold drink?", "My hands are cold.",
    "Ms Ada Smith called.",  # a title-case name is no acronym ("ADA")
])
def test_everyday_uses_get_no_problem(text):
    assert [e.text for e in extract(text) if e.label in ("problem", "drug")] == []


@pytest.mark.parametrize("text", [
    # everyday words that name a symptom only where the words around them make them one
    "The room temperature is fine.", "The nurse will take your temperature.",
    "It fits well.", "The shoe fits.", "He works as a temp.", "A weak signal.",
    "That's a sore point.", "She was discharged from hospital.",
    "The discharge summary was sent.", "After discharge she went home.",
    "Tune to the frequency of the station.",
])
def test_everyday_symptom_words_in_other_senses_are_no_problem(text):
    assert [e.text for e in extract(text) if e.label in ("problem", "drug")] == []


@pytest.mark.parametrize("text, found, code", [
    ("No fever/temp, but feels warm.", "temp", "R50.9"),
    ("Have you had any fever or temperature?", "temperature", "R50.9"),
    ("If there is weakness, vomiting or fits, go to A&E.", "fits", "R56.9"),
    ("I feel tired and weak.", "weak", "R53.1"),
    ("My skin is sore and red.", "sore", "R52"),
    ("No bleeding or discharge.", "bleeding", "R58"),
    ("No bleeding or discharge.", "discharge", None),
    ("1/52 hx of dysuria, frequency and suprapubic pain.", "frequency", "R35.0"),
    ("I get cramps in my legs at night.", "cramps", "R25.2"),
    ("Nil mood sx.", "mood sx", "F39"),
    ("No visual sx.", "visual sx", "H53.9"),
    ("No prev skin problems.", "skin problems", "L98.9"),
])
def test_symptoms_in_everyday_words(text, found, code):
    problems = {e.text: e.code for e in extract(text) if e.label == "problem"}
    assert found in problems and problems[found] == code


@pytest.mark.parametrize("text, found, ingredient", [
    ("I use the blue inhaler when I'm wheezy.", "blue inhaler", "albuterol"),
    ("Any other brown inhalers?", "brown inhalers", "beclomethasone"),
    ("Change COCP to POP.", "POP", "oral contraceptives"),
    ("Took malaria prevention daily.", "malaria prevention", "antimalarials"),
])
def test_drugs_in_everyday_words(text, found, ingredient):
    drugs = {e.text: e.code for e in extract(text) if e.label == "drug"}
    assert drugs.get(found) == ingredient


@pytest.mark.parametrize("code, name, expected", [
    ("E11", "diabetes", "E11.9"),  # without complications, not "with unspecified ..."
    ("J45", "asthma", "J45.909"),  # unspecified asthma, uncomplicated
    ("G43", "migraine", "G43.909"),  # not "migraine without aura" (a type of its own)
    ("J18", "pneumonia", "J18.9"),  # the parent's own name is the default
    ("L03.9", "cellulitis", "L03.90"),  # the name chooses between two unspecified children
    ("I10", "hypertension", "I10"),  # a leaf stays
    ("T14.8", "insect bite", "T14.8"),  # an encounter (7th character) would be a guess
])
def test_category_codes_become_the_unspecified_code(code, name, expected):
    pytest.importorskip("simple_icd_10_cm")
    from clinivox.nlu.codes import default_code

    assert default_code(code, name) == expected


@pytest.mark.parametrize("text, code, site", [
    ("She has lip swelling.", "R22.0", "lip"),  # site before: localized swelling, head
    ("Any swelling of the lips or tongue?", "R22.0", "lips"),  # site after a preposition
    ("Swollen tongue.", "R22.0", "tongue"),
    ("some swelling in her neck", "R22.1", "neck"),
    ("she noticed swelling in her left hand", "R22.30", "hand"),  # the side is not coded
    ("swelling of both legs", "R22.40", "legs"),
    ("My knee is swollen.", "M25.469", "knee"),  # a joint: effusion, as the index says
    ("She has swollen joints.", "M25.40", "joints"),
    ("leg oedema noted", "R60.0", "leg"),  # oedema with a site: localized edema
    ("swollen ankles for a week", "R60.0", None),  # its own concept, the same code
    ("There is some swelling.", "R60.9", None),  # no site said: the concept's code
    ("the swelling has gone down", "R60.9", None),
])
def test_a_swelling_is_coded_by_its_site(text, code, site):
    """Regression (#26): every swelling was R60.9 "Edema, unspecified"; ICD-10-CM's index
    codes a swelling by where it is (R22.x localized, M25.4x a joint's effusion)."""
    found = [e for e in extract(text) if e.label == "problem"]
    assert len(found) == 1
    assert found[0].code == code
    assert found[0].attributes.get("site") == site


def test_problem_codes_are_leaves():
    pytest.importorskip("simple_icd_10_cm")
    codes = {e.text: e.code for e in extract("PMH: diabetes, asthma and a stroke.")}
    assert codes == {"diabetes": "E11.9", "asthma": "J45.909", "stroke": "I63.9"}


def test_drug_code_is_the_base_ingredient():
    """Betnovate's lexicon ingredient is "betamethasone valerate" (RxNorm's precise
    ingredient); the code is the ingredient, "betamethasone". Salts of elements stay."""
    from clinivox.nlu.drugs import base_ingredient

    betnovate = _one("Betnovate twice daily.", "drug")
    if betnovate.normalized != "betamethasone valerate":
        pytest.skip("the drug lexicon package is not installed")
    assert betnovate.code == "betamethasone"
    assert base_ingredient("potassium chloride") == "potassium chloride"
    assert base_ingredient("ferrous sulfate") == "ferrous sulfate"


@pytest.mark.parametrize("text, expected", [
    # how long the complaint has lasted is not its past
    ("Hx: 1 week history of elbow swelling.", {"swelling": "present"}),
    ("3/7 history of cough.", {"cough": "present"}),
    ("History of asthma as a child.", {"asthma": "historical"}),
    # worry, and a guess about the past
    ("I was so worried that I had cancer.", {"cancer": "possible"}),
    ("I think I must have had some kind of flu or something.", {"flu": "possible"}),
    ("I have some kind of rash.", {"rash": "present"}),
])
def test_assertion_rules_from_the_third_gold_batch(text, expected):
    assert _assertions_of(text, expected) == expected


def test_note_words_for_tests_and_symptoms():
    found = {(e.text, e.label, e.code) for e in extract(
        "Sugar levels and BP normal today. Nil PV discharge, no frank haematuria, "
        "no stinging when you pass urine. Mother has high BP.")}
    assert {("Sugar levels", "test", None), ("BP", "test", None),
            ("PV discharge", "problem", "N89.8"), ("frank haematuria", "problem", "R31.0"),
            ("stinging when you pass urine", "problem", "R30.0"),
            ("high BP", "problem", "I10")} <= found
    # a measurement's name inside its value is the vital only
    assert [e.label for e in extract("BP 140/90.")] == ["vital"]
    # "left hand side" is a side, not a hand
    assert [e for e in extract("It is on the left hand side.") if e.label == "anatomy"] == []


@pytest.mark.parametrize("text", [
    # one-word forms cut from an ICD-10-CM title they only modify: "Sedative, hypnotic, or
    # anxiolytic related disorders" (F13), "Hypertonic, incoordinate, and prolonged uterine
    # contractions" (O62.4), "Rectal fistula" (K60.411), "Injury, poisoning and ...
    # complicating pregnancy" (O9A.2)
    "Give a sedative.", "Hypertonic saline nebulisers.", "Rectal temperature taken.",
    "Labile mood.",
])
def test_modifiers_of_icd_titles_get_no_code(text, monkeypatch):
    # the tables take none of them for a problem; with the learned spans (the default
    # since the thirteenth session) "Labile mood" is a problem, a finding (emotional
    # lability) the tables do not list, found uncoded: the modifier still gives no code
    assert not [e.code for e in extract(text) if e.label == "problem" and e.code]
    assert all(e.category == "learned" for e in extract(text) if e.label == "problem")
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "lexicon")
    assert [(e.text, e.code) for e in extract(text) if e.label == "problem"] == []


def test_names_that_look_like_adjectives_keep_their_code():
    assert _one("He had a nosebleed.", "problem").code == "R04.0"
    assert _one("She is immunocompromised.", "problem").code == "D84.9"


def test_worry_about_a_symptom_and_about_a_disease():
    """A patient's worry about a symptom reports one felt (a note's "Worried about
    difficulty breathing"); about a disease it is a suspicion ("worried about brain Ca")."""
    assert _assertions("Worried about difficulty breathing.") == {
        "difficulty breathing": "present"}
    assert _assertions("Pt worried about brain Ca.") == {"brain ca": "possible"}
    assert _assertions("Dad had bowel cancer.") == {"bowel cancer": "family"}


def test_a_dropped_title_word_keeps_its_other_meaning():
    """"sedative" was both an ICD-10-CM title's first word (F13, dropped) and a drug class:
    dropping the first must not lose the second."""
    e = _one("Give a sedative.", "drug")
    assert e.code == "hypnotics and sedatives"


def test_a_recommendation_is_not_doubt():
    assert _assertions("I think you should be on some antibiotics.") == {
        "antibiotics": "present"}
    assert _assertions("I think it is a migraine.") == {"migraine": "possible"}


@pytest.mark.parametrize("text, expected", [
    # a statement with a question tag, a request, a finding given beside the one asked
    ("It's numb, I can't feel it, right?", {"numb": "present"}),
    ("You've taken some painkillers, would you tell me the names?", {"painkillers": "present"}),
    ("And with the pain, have you noticed any other symptoms, like nausea?",
     {"pain": "present", "nausea": "hypothetical"}),
    ("Who looks after your diabetes?", {"diabetes": "present"}),
    ("Have you had any chest pain, right?", {"chest pain": "hypothetical"}),
    # a conditional reaches its whole condition and what follows from it
    ("If there is progressing weakness of the arms and legs, vomiting or visual "
     "disturbances, go to A&E.", {"weakness": "hypothetical", "vomiting": "hypothetical",
                                  "visual disturbances": "hypothetical"}),
    ("If your lips swell, use the EpiPen.", {"epipen": "hypothetical"}),
    # a clause with its own subject ends a negation
    ("No chest pain, I have a cough.", {"chest pain": "absent", "cough": "present"}),
    ("No chest pain, I have not had a cough.", {"chest pain": "absent", "cough": "absent"}),
    # the speaker hedging is not the speaker as the one who has it
    ("My mum has, I think, diabetes.", {"diabetes": "family"}),
    # suspicion, and someone else's belief
    ("We are suspecting an anaphylactic reaction.", {"anaphylactic reaction": "possible"}),
    ("You think you've got osteoarthritis.", {"osteoarthritis": "possible"}),
    # a drug tried without effect
    ("Used steroid cream last night with minimal effect.", {"steroid cream": "historical"}),
    ("Taking paracetamol, cough not better.", {"paracetamol": "present", "cough": "present"}),
])
def test_assertion_rules_from_the_fourth_gold_batch(text, expected):
    """Made on batch 4 (120 sentences of validation consultations only, docs/nlu.md); each
    row is a sentence of my own with the construction, not a gold sentence."""
    assert _assertions_of(text, expected) == expected


def test_words_that_make_a_form_something_else():
    assert [e for e in extract("It is quite anxiety provoking.") if e.label == "problem"] == []
    assert _one("I have a lot of anxiety.", "problem").code == "F41.9"
    assert _one("She collapsed at home.", "problem").code == "R55"
    assert _one("He had a collapsed lung.", "problem").code == "J93.9"


@pytest.mark.parametrize("text, expected", [
    ("Back pain, under physio, working diagnosis ? muscular.", {"back pain": "present"}),
    ("Imp: ? viral infection", {"viral infection": "possible"}),
    ("Had vomiting over a month ago.", {"vomiting": "historical"}),
    ("I think that's 'cause I'm stressed.", {"stressed": "present"}),
    ("Probably a UTI or a cystitis.", {"uti": "possible", "cystitis": "possible"}),
    ("Other than eczema you don't have any other condition.", {"eczema": "present"}),
    ("No PMH of note, asthma as a child.", {"asthma": "historical"}),
    # a condition on how a finding the patient has goes on; the finding is there
    ("If your cough isn't getting any better, come back.", {"cough": "present"}),
    ("If the weakness progresses, call 999.", {"weakness": "present"}),
    ("If the pain comes back, call us.", {"pain": "hypothetical"}),
    ("If you get a fever, come back.", {"fever": "hypothetical"}),
])
def test_assertion_rules_from_the_fifth_gold_batch(text, expected):
    assert _assertions_of(text, expected) == expected


def test_titles_below_the_lexicon_and_plural_note_acronyms():
    pytest.importorskip("simple_icd_10_cm")
    assert _one("Possible antiphospholipid syndrome.", "problem").code == "D68.61"
    assert _one("Imp: TIAs in a young man.", "problem").code == "G45.9"
    assert _one("I'm a diabetic.", "problem").code == "E11.9"
    assert [e for e in extract("Seen in the diabetic clinic.") if e.label == "problem"] == []


def test_british_brands_the_drug_source_lacks():
    e = _one("I just have the Implanon.", "drug")
    assert (e.normalized, e.code) == ("implanon", "etonogestrel")
    assert _one("Tried E45 cream with minimal relief.", "drug").assertion == "historical"


@pytest.mark.parametrize("text, expected", [
    ("FH: type 2 diabetes.", {"type 2 diabetes": "family"}),
    ("Has had anxiety in past.", {"anxiety": "historical"}),
    ("I had eczema before.", {"eczema": "historical"}),
    ("The pain before meals.", {"pain": "present"}),
    ("You would have swelling of the lips.", {"swelling": "hypothetical"}),
    ("A viral illness perhaps.", {"viral illness": "possible"}),
    ("There's potentially some swelling.", {"swelling": "possible"}),
    ("Can you tell me more about your diarrhoea?", {"diarrhoea": "present"}),
    ("Can you tell me if you have had chest pain?", {"chest pain": "hypothetical"}),
    ("I'm not on any medication, I just have the Implanon.", {"implanon": "present"}),
    ("It's a bit stiff, you know?", {"stiff": "present"}),
    ("Any medications apart from the, um, combined pill?", {"combined pill": "present"}),
])
def test_assertion_rules_from_the_sixth_gold_batch(text, expected):
    assert _assertions_of(text, expected) == expected


def test_food_allergies():
    e = _one("Allergic to peanuts.", "allergy")
    assert (e.normalized, e.assertion) == ("peanut", "present")


@pytest.mark.parametrize("text, problem, site, parts", [
    # a body part just before a problem is its site, not an entity of its own
    ("No lip swelling seen.", "swelling", "lip", []),
    ("Episodes of right hand numbness.", "numbness", "hand", []),
    # after a preposition the part stays an entity, and the problem has no site ...
    ("Weakness of the arms.", "weakness", None, ["arms"]),
    # ... except a swelling, whose code depends on its site (R22.0 here): it records it
    ("Swelling of the lips.", "swelling", "lips", ["lips"]),
])
def test_body_part_before_a_problem_is_its_site(text, problem, site, parts):
    found = extract(text)
    p = next(e for e in found if e.label == "problem" and e.text.lower() == problem)
    assert p.attributes.get("site") == site
    assert [e.text for e in found if e.label == "anatomy"] == parts


@pytest.mark.parametrize("text", [
    "Plan: needs to be seen urgently in TIA clinic.", "The diabetes nurse saw him.",
    "She was moved to the stroke unit.", "Keep a headache diary.",
])
def test_a_service_named_after_a_problem_is_no_finding(text):
    assert [e.text for e in extract(text) if e.label == "problem"] == []


def test_the_problem_itself_beside_its_service_is_kept():
    assert [e.text for e in extract("He has asthma and sees the asthma nurse.")
            if e.label == "problem"] == ["asthma"]


@pytest.mark.parametrize("text, expected", [
    # what follows from a sentence-opening condition is conditional, however long the
    # condition; a contrast ends it, and the condition's own course keeps a given finding
    ("If you still feel breathless and run down by Friday, I think there's no harm in "
     "starting a course of antibiotics.", {"breathless": "hypothetical",
                                           "antibiotics": "hypothetical"}),
    ("And if the sample is positive, we'll know which antibiotics are the right ones.",
     {"antibiotics": "hypothetical"}),
    ("If your cough isn't getting any better, then we may give you amoxicillin.",
     {"cough": "present", "amoxicillin": "hypothetical"}),
    ("If the rash spreads, come back, but your asthma is well controlled.",
     {"rash": "present", "asthma": "present"}),
    # an "if" of manner or a polite request conditions nothing
    ("If I'm honest, the headache has been worse this week.", {"headache": "present"}),
    ("If you can, call 999 now and tell them there is an anaphylactic reaction.",
     {"anaphylactic reaction": "present"}),
    # a speaker looking for a word asks nothing about the finding or the drug
    ("I generally have asthma so I take, ohh, what's it called? Salbutamol inhalers?",
     {"asthma": "present", "salbutamol inhalers": "present"}),
    # the family named before the findings
    ("I have asthma, and in my family, uh, there's hypothyroidism and migraine.",
     {"asthma": "present", "hypothyroidism": "family", "migraine": "family"}),
    # fillers and repeated words do not use up a trigger's reach
    ("It could be, uh, um, uh, uh, um, a, a chest infection.",
     {"chest infection": "possible"}),
    # ... and a blanked pseudo-trigger still counts its words
    ("I tried massage, I tried hot baths, and that didn't help with this numbness.",
     {"numbness": "present"}),
    # the cause looked for, not the finding
    ("Blood tests to check for other types of causes of joint swelling.",
     {"swelling": "present"}),
    # "maybe" doubts what follows it
    ("It's worth treating you for a maybe urine infection.", {"urine infection": "possible"}),
    # people in general, not this patient
    ("People with multiple sclerosis can have visual problems.",
     {"multiple sclerosis": "hypothetical", "visual problems": "hypothetical"}),
])
def test_assertion_rules_from_reading_validation_mentions(text, expected):
    assert _assertions_of(text, expected) == expected


@pytest.mark.parametrize("text, found, code", [
    ("Just generally quite tired and unwell.", "unwell", "R53.81"),
    ("I felt a pressure on my chest.", "pressure on my chest", "R07.89"),
    ("Do you feel tight in your chest?", "tight in your chest", "R07.89"),
    ("Sore throat and blocked ears.", "blocked ears", None),
    ("No discharge coming from your ears.", "discharge", None),
    ("I feel very weak though.", "weak", "R53.1"),
    ("My leg feels weaker.", "feels weaker", "R53.1"),
    ("Your vision has been blurry as well.", "vision has been blurry", "H53.8"),
    ("I started losing feeling in my hands.", "losing feeling", "R20.0"),
    ("I have a bit of problems with my bowels anyway.", "problems with my bowels", "R19.8"),
    ("Your chest is tight at the moment.", "chest is tight", "R07.89"),
    ("You were having some problems breathing.", "problems breathing", "R06.00"),
    ("No cough, no breathing difficulties?", "breathing difficulties", "R06.00"),
])
def test_symptoms_said_in_conversation(text, found, code):
    e = next(e for e in extract(text) if e.label == "problem" and e.text == found)
    assert e.code == code


@pytest.mark.parametrize("text", [
    "No unwell contacts.", "He is a weaker player than his brother.", "It was a blurry photo.",
])
def test_everyday_uses_of_conversation_symptoms_are_no_finding(text):
    assert [e.text for e in extract(text) if e.label == "problem"] == []


def test_iron_tablets_are_a_drug():
    e = _one("Medication: iron tablets.", "drug")
    assert e.code == "ferrous sulfate"


@pytest.mark.parametrize("text, expected", [
    # a long-term condition in the past medical history is still the patient's
    ("You have a history of eczema.", {"eczema": "present"}),
    ("History of hypertension, on amlodipine.",
     {"hypertension": "present", "amlodipine": "present"}),
    # an acute illness in it is over
    ("History of pneumonia last year.", {"pneumonia": "historical"}),
])
def test_history_of_a_long_term_condition(text, expected):
    assert _assertions_of(text, expected) == expected


def test_antibodies_tested_for_are_no_drug():
    assert [e.text for e in extract("Bloods for rheumatological antibodies.")
            if e.label == "drug"] == []


@pytest.mark.parametrize("text, expected", [
    # he or she, after a sentence that names the relative, is the relative
    ("My father used to have high blood pressure. He died of bowel cancer ten years ago.",
     {"high blood pressure": "family", "bowel cancer": "family"}),
    ("My mum is not in great shape. She's got type 2 diabetes.",
     {"type 2 diabetes": "family"}),
    # not when the patient is named after the relative, or in the sentence itself
    ("My mum has diabetes. I have asthma.", {"diabetes": "family", "asthma": "present"}),
    ("My dad came with me. He thinks I have the flu.", {"flu": "possible"}),
])
def test_a_relative_named_in_the_sentence_before(text, expected):
    assert _assertions_of(text, expected) == expected


@pytest.mark.parametrize("text, ingredient", [
    ("I'm on the pill.", "oral contraceptives"),
    ("Advised to use night and day nurse.", "acetaminophen, dextromethorphan and promethazine"),
    ("Strepsils for the throat.", "amylmetacresol and dichlorobenzyl alcohol"),
    ("She is on a PPI.", "proton pump inhibitors"),
    ("She takes HRT.", "hormone replacement therapy"),
    ("I have been using cough syrup.", "antitussive agents"),
    ("Hay fever tablets help a bit.", "histamine antagonists"),
])
def test_british_medicines_in_everyday_words(text, ingredient):
    assert _one(text, "drug").code == ingredient


@pytest.mark.parametrize("text", ["Take the pill with some water.", "He is a pop star.",
                                  "I take Ppi"])
def test_everyday_words_that_are_no_medicine(text):
    assert [e.text for e in extract(text) if e.label == "drug"] == []


@pytest.mark.parametrize("text,code", [
    # coded as something else before: type 2 diabetes, a cerebral infarction, a tumour of
    # no site
    ("She had gestational diabetes in her last pregnancy.", "O24.419"),
    ("He came in with heat stroke after the marathon.", "T67.01XA"),
    ("Her friend's mum died of a brain tumour.", "D49.6"),
    ("Known hepatitis C, never treated.", "B19.20"),
    # missed before: common conditions the lexicon's ICD-10-CM titles do not name
    ("Treated for gonorrhoea last year.", "A54.9"),
    ("We need to exclude malaria.", "B54"),
    ("She has a history of hyperthyroidism.", "E05.90"),
    ("Any low blood sugars overnight?", "E16.2"),
    ("He has had croup twice this winter.", "J05.0"),
    ("Diagnosed with PTSD after the accident.", "F43.10"),
    ("Both ears blocked with earwax.", "H61.20"),
])
def test_common_conditions_the_lexicon_does_not_name(text, code):
    assert code in [e.code for e in extract(text) if e.label == "problem"], extract(text)


def test_a_british_spelling_of_a_drug_is_no_icd_title_fragment():
    """"Oestrogen" was coded Z17 ("Estrogen, and other hormones and factors receptor
    status"): the title's first word is dropped as a form in its American spelling only."""
    ents = extract("She takes oestrogen for her menopause symptoms.")
    assert [(e.text, e.label, e.code) for e in ents if e.text == "oestrogen"] == \
        [("oestrogen", "drug", "estrogen")]


def test_warts_and_all_is_an_idiom():
    assert extract("I told him everything, warts and all.") == []
    assert [e.code for e in extract("She has warts on both hands.")
            if e.label == "problem"] == ["B07.9"]


@pytest.mark.parametrize("text,ingredient", [
    ("She takes senna at night.", "sennosides"),
    ("On thyroxine 100 micrograms a day.", "levothyroxine"),
    ("HRT with oestradiol gel.", "estradiol"),
    ("He was started on testosterone injections.", "testosterone"),
])
def test_common_medicines_the_drug_source_lacks(text, ingredient):
    assert ingredient in [e.code for e in extract(text) if e.label == "drug"], extract(text)


@pytest.mark.parametrize("text", ["Low testosterone level.",
                                  "Her progesterone was checked on day 21."])
def test_a_hormone_level_is_no_medicine(text):
    assert not [e for e in extract(text) if e.label == "drug"], extract(text)


@pytest.mark.parametrize("text,code", [
    ("I get hot flushes at night.", "R23.2"), ("I found a lump in my neck.", "R22.9"),
    ("I have been peeing a lot.", "R35.0"), ("Any bad breath?", "R19.6"),
    ("He looks pale.", "R23.1"), ("I have had nightmares since the accident.", "F51.5"),
    ("I keep losing my balance.", "R26.81"), ("She bruises easily.", "R23.3"),
])
def test_common_symptoms_in_everyday_words(text, code):
    assert code in [e.code for e in extract(text) if e.label == "problem"], extract(text)


@pytest.mark.parametrize("text", ["They paid a lump sum.", "The walls are pale blue.",
                                  "It was thirsty work."])
def test_symptom_words_in_other_senses(text):
    assert not [e for e in extract(text) if e.label == "problem"], extract(text)


@pytest.mark.parametrize("text,test_text", [
    ("We will arrange an HIV test for you.", "HIV test"),
    ("Her COVID swab was negative.", "COVID swab"), ("He had a chlamydia screen.",
                                                     "chlamydia screen"),
    ("Check his vitamin D level.", "vitamin D level"), ("Digoxin levels were high.",
                                                        "Digoxin levels"),
    ("Sputum sample sent.", "Sputum sample"),
])
def test_what_a_test_looks_for_is_no_problem_or_drug(text, test_text):
    """"HIV test" was HIV, present (coded R75); "vitamin D level" a drug."""
    ents = extract(text)
    assert [(e.text, e.label) for e in ents] == [(test_text, "test")], ents


def test_a_vaccine_names_no_problem_and_hiv_is_coded_as_the_disease():
    assert extract("Have you had the flu jab?") == []
    assert [(e.text, e.code) for e in extract("She has HIV.")] == [("HIV", "B20")]
    assert [e.label for e in extract("We checked her BMI.") if e.text == "BMI"] == ["test"]
    # with its value it is the measurement
    assert [(e.label, e.normalized) for e in extract("Her BMI is 32.")] == [
        ("vital", "32 kg/m²")]


@pytest.mark.parametrize("name", ["smear test", "lateral flow test", "mammogram", "DEXA scan",
                                  "hearing test", "urine culture", "24-hour tape"])
def test_common_tests_by_their_everyday_names(name):
    assert [(e.text, e.label) for e in extract(f"We will arrange a {name} for you.")] == \
        [(name, "test")]


def test_smear_the_verb_is_no_test():
    assert extract("I'll smear some cream on it.") == []


def test_a_chapter_r_code_is_a_symptom_in_the_summary():
    """The lexicon filed "shortness of breath" (R06.02) as a diagnosis, so the scribe's
    summary listed it among the diagnoses; ICD-10-CM's chapter R is symptoms and signs."""
    assert _one("I feel short of breath.").category == "symptom"
    assert _one("Severe sepsis.").category == "diagnosis"  # R65.2: a diagnosis in chapter R
    assert _one("She has asthma.").category == "diagnosis"
    assert _one("I weigh about 11 stone.", "vital").normalized == "69.9 kg"


@pytest.mark.parametrize("text, code", [
    ("She has Parkinson's.", "G20.A1"),  # the eponym alone; G20.C is parkinsonism
    ("My dad had Alzheimer's.", "G30.9"),
    ("He has Crohn's.", "K50.90"),
    ("Alzheimers disease.", "G30.9"),  # written without the apostrophe
    ("Hodgkins lymphoma.", "C81.90"),  # matched only "lymphoma": non-Hodgkin, C85.90
    ("Non-Hodgkin's lymphoma.", "C85.90"),
])
def test_eponyms_as_they_are_said_and_written(text, code):
    assert _one(text, "problem").code.startswith(code)


@pytest.mark.parametrize("text", ["Mr Parkinson's car is outside.", "We went to Wilson's.",
                                  "She rang the Bell's number."])
def test_a_persons_possessive_is_no_eponym(text):
    assert [e for e in extract(text) if e.label == "problem"] == []


def test_a_sentence_split_across_segments_is_read_whole():
    """The recogniser ends a segment where its window ends: "He denies shortness" | "of
    breath." lost the term and its negation when segments were read one by one."""
    def seg(text, start, speaker, words):
        return {"text": text, "start_s": start, "end_s": start + 2.0, "speaker": speaker,
                "words": [{"word": f" {w}", "start_s": start + 0.4 * i,
                           "end_s": start + 0.4 * i + 0.3} for i, w in enumerate(words)]}

    segments = [seg(" He denies shortness", 0.0, "A", ["He", "denies", "shortness"]),
                seg(" of breath.", 2.0, "A", ["of", "breath."]),
                seg(" Chest pain?", 4.0, "B", ["Chest", "pain?"]),
                seg(" No.", 6.0, "A", ["No."])]
    found = extract(segments)
    sob = next(e for e in found if e.normalized == "shortness of breath")
    assert sob.assertion == "absent" and sob.speaker == "A"
    assert (sob.start_s, sob.end_s) == (0.8, 2.7)  # "shortness" to "breath."
    joined = " ".join(s["text"].strip() for s in segments)
    assert joined[sob.start:sob.end] == "shortness of breath"
    # another speaker's segment is not read into the first's sentence
    pain = next(e for e in found if e.normalized == "chest pain")
    assert pain.speaker == "B" and pain.assertion != "absent"


@pytest.mark.parametrize("text, name, code", [
    ("He had a broken wrist two years ago.", "fracture of wrist", "S62"),
    ("She fractured her left ankle.", "fracture of ankle", "S82"),
    ("I think I cracked a rib.", "fracture of rib", "S22.3"),
    ("He has a fractured neck of femur.", "fracture of neck of femur", "S72.0"),
    ("He broke his arm as a child.", "fracture of arm", None),  # several categories
])
def test_a_broken_bone_is_a_fracture_of_its_site(text, name, code):
    e = _one(text, "problem")
    assert (e.normalized, e.code) == (name, code)


@pytest.mark.parametrize("text", ["My heart is broken.", "I broke my phone.",
                                  "The broken bits are on my back."])
def test_broken_without_a_bone_is_no_fracture(text):
    assert [e for e in extract(text) if e.label == "problem"] == []


def test_number_words_are_whole_words():
    """"ninety four" was read as "nine" (the first number word that fits), so "sats ninety
    four percent" and "pulse of ninety" gave no vital."""
    assert _one("Sats ninety four percent on air.", "vital").normalized == "94 %"
    assert _one("Pulse of ninety.", "vital").normalized == "90 /min"
    assert _one("Any history of TB?", "problem").code == "A15.9"


@pytest.mark.parametrize("text, mention, expected", [
    # an episode placed in the past by a remote time and a verb in the simple past
    ("He had a DVT in 2015.", "dvt", "historical"),
    ("When I was younger I had seizures.", "seizures", "historical"),
    ("I had shingles a couple of months back.", "shingles", "historical"),
    ("He had tonsillitis twice last winter.", "tonsillitis", "historical"),
    ("Last year I was treated for a kidney infection.", "kidney infection", "historical"),
    ("She had gestational diabetes in her first pregnancy.", "gestational diabetes",
     "historical"),
    # ... not a complaint that goes on, nor a recent one (the presenting complaint)
    ("I've had a cough since 2015.", "cough", "present"),
    ("I've had diabetes for ten years.", "diabetes", "present"),
    ("I had a headache yesterday and it's still there.", "headache", "present"),
    ("The cough started two years ago.", "cough", "present"),
    # what the patient did and does no more
    ("She used to get migraines.", "migraines", "historical"),
    ("I used to take omeprazole.", "omeprazole", "historical"),
    ("I stopped the amlodipine last month.", "amlodipine", "historical"),
    ("I was taking naproxen until last week.", "naproxen", "historical"),
    ("I don't get the headaches any more.", "headaches", "historical"),
    ("I don't get headaches.", "headaches", "absent"),
    # resolution said with a contraction and a recent time
    ("I had a fever yesterday, but it's gone now.", "fever", "historical"),
    ("I had a rash but it's settled.", "rash", "historical"),
    ("A cough, but it's going to be fine.", "cough", "present"),
])
def test_past_episodes_and_what_stopped_are_historical(text, mention, expected):
    assert _assertions_of(text, {mention: expected}) == {mention: expected}


@pytest.mark.parametrize("text, mention, expected", [
    # a denial hedged in conversation
    ("I wouldn't say I'm breathless.", "breathless", "absent"),
    ("I can't say I've noticed any swelling.", "swelling", "absent"),
    # family words of British consultations
    ("My grandad died of a heart attack.", "heart attack", "family"),
    ("My nan had diabetes.", "diabetes", "family"),
    # a diagnosis offered as a question is doubt; a yes/no question about a finding is not
    ("Could this be a migraine?", "migraine", "possible"),
    ("Have you had a migraine before?", "migraine", "hypothetical"),
    # a drug's effects said of people in general
    ("It can cause drowsiness in some people.", "drowsiness", "hypothetical"),
    ("I think we can give you some pain relief.", "pain relief", "possible"),
])
def test_conversational_hedges_family_words_and_side_effects(text, mention, expected):
    assert _assertions_of(text, {mention: expected}) == {mention: expected}


def test_a_drug_after_the_allergies_heading_sentence_is_taken_not_an_allergy():
    """The allergies section ran on to the next heading, so "Allergies: NKDA. Continue
    ramipril." listed ramipril, which the patient takes, as an allergy."""
    labels = {e.text: e.label for e in extract("Allergies: NKDA. Continue ramipril 5 mg.")}
    assert labels == {"ramipril": "drug"}
    labels = {e.text: e.label for e in extract("Allergies: penicillin, codeine\nMeds: ramipril")}
    assert labels == {"penicillin": "allergy", "codeine": "allergy", "ramipril": "drug"}


@pytest.mark.parametrize("text, stated", [
    ("Allergies: NKDA.", True), ("No known drug allergies.", True),
    ("I'm not allergic to anything.", True), ("Do you have any allergies? No, none.", True),
    ("Any allergies? Um, not that I know of.", True),
    ("Any known allergies?", False), ("No allergies?", False),
    ("Any allergies? No, but I get hay fever.", False), ("He is allergic to penicillin.", False),
])
def test_a_statement_of_no_known_allergies(text, stated):
    from clinivox.nlu.allergies import no_known_allergies

    assert no_known_allergies(text) is stated


@pytest.mark.parametrize("text, drug", [
    ("She took some Night Nurse to help her sleep.", True),
    ("Tried Lemsip, Night Nurse and paracetamol.", True),
    ("I work as a night nurse.", False),  # a person, not the medicine
    ("The night nurse gave him his tablets.", False),
])
def test_night_nurse_is_a_medicine_only_where_something_is_taken(text, drug):
    found = [e.normalized for e in extract(text) if e.label == "drug"]
    assert ("night nurse" in found) is drug, found


@pytest.mark.parametrize("text, code", [
    # ICD-10-CM names these by the eponym in brackets only ("Synovial cyst of popliteal
    # space [Baker]"); clinicians by the eponym
    ("She has a Baker's cyst behind the knee.", "M71.20"),
    ("Dupuytren's contracture of the left hand.", "M72.0"),
    ("He has Dupuytren's.", "M72.0"),
    ("De Quervain's tenosynovitis of the wrist.", "M65.4"),
])
def test_eponyms_icd_10_cm_writes_in_brackets(text, code):
    assert _one(text, "problem").code == code


@pytest.mark.parametrize("text, answers", [
    ("Any chest pain? No.", {"chest pain": "no"}),
    ("Any nausea or vomiting? Not really.", {"nausea": "no", "vomiting": "no"}),
    ("Do you have a fever? Yes, since Tuesday.", {"fever": "yes"}),
    # no plain answer, or one that takes itself back
    ("Any chest pain? No? OK.", {"chest pain": None}),
    ("Any skin problems? Yep. Uh, no.", {"skin problems": None}),
    ("Chest pain? Maybe.", {"chest pain": None}),
    # a yes to a list says not which; a no denies them all
    ("Any cough or fever? Yes.", {"cough": None, "fever": None}),
    # questions whose answer is not about the patient's finding
    ("Anyone in your family with diabetes? No.", {"diabetes": None}),
    ("Did they check for diabetes? Yes.", {"diabetes": None}),
    ("Is it throbbing, or is it a sharp pain? Yes.", {"pain": None}),
    # named again in the reply: its own assertion there
    ("Any nausea or vomiting? No nausea, but I was sick once.", {"nausea": None}),
])
def test_a_question_answered_yes_or_no(text, answers):
    """Most pertinent negatives of a consultation are a question and an answer ("Any chest
    pain?" - "No."); the question's finding stays hypothetical and carries the answer."""
    from clinivox.nlu.dialogue import answered

    asked = text.index("?")  # the question's mentions, not the reply's
    found = {e.text.lower(): e for e in extract(text)
             if e.text.lower() in answers and e.start < asked}
    assert {k: e.attributes.get("answer") for k, e in found.items()} == answers
    for e in found.values():
        assert e.assertion == "hypothetical"
        assert answered(e) == {"no": "absent", "yes": "present"}.get(
            e.attributes.get("answer") or "", "hypothetical")


def test_answers_on_a_transcript_come_from_the_other_speaker():
    segs = [Segment(0, 0.0, 1.0, "Have you had any headaches or dizziness?", speaker="A"),
            Segment(1, 1.0, 2.0, "No, none at all.", speaker="B"),
            Segment(2, 2.0, 3.0, "And any shortness of breath?", speaker="A"),
            Segment(3, 3.0, 4.0, "Yeah, when I climb stairs.", speaker="B"),
            Segment(4, 4.0, 5.0, "Any wheeze?", speaker="A"),
            Segment(5, 5.0, 6.0, "No? OK, and any cough?", speaker="A")]
    got = {e.text: e.attributes.get("answer") for e in extract(segs)}
    assert got == {"headaches": "no", "dizziness": "no", "shortness of breath": "yes",
                   "wheeze": None, "cough": None}  # the same speaker goes on: no answer


@pytest.mark.parametrize("text, mention, expected", [
    # the next sentence gives the finding to a relative with a pronoun
    ("The main one would be heart attack. My, my father passed away of that.",
     "heart attack", "family"),
    ("Bowel cancer. My dad died of it.", "bowel cancer", "family"),
    # ... not when the speaker has it too, or said it of themself
    ("I have asthma. My mother has it too.", "asthma", "present"),
    ("I had a heart attack. My father had a stroke.", "heart attack", "present"),
    # "a faint" is a faint before a time, an adjective before a noun
    ("I had a faint this morning.", "a faint", "present"),
])
def test_a_relative_named_after_with_a_pronoun(text, mention, expected):
    assert _assertions_of(text, {mention: expected}) == {mention: expected}


def test_a_faint_smell_is_no_faint():
    assert [e for e in extract("I had a faint smell of gas.") if e.label == "problem"] == []


@pytest.mark.parametrize("text, mention, expected", [
    # advice on what the patient may take, and treatment said in general
    ("You can take some paracetamol if you're feeling feverish.", "paracetamol",
     "hypothetical"),
    ("The treatment for it is some steroids.", "steroids", "hypothetical"),
    # a drug that ended an earlier episode
    ("Similar episode two weeks ago - resolved with analgesia.", "analgesia", "historical"),
    # a note's doubt in brackets after the finding; not "if any change" elsewhere
    ("Minimal swelling (if any) around the elbow.", "swelling", "possible"),
    ("Use Night Nurse, if any change in your symptoms call us.", "night nurse", "present"),
    # "I think" hedging a symptom felt; a disease stays a doubt
    ("I think I've got a fever.", "fever", "present"),
    ("I think it's a migraine.", "migraine", "possible"),
    # a stutter is no new clause: "has, has"
    ("My mum, my mum has, has migraines.", "migraines", "family"),
    ("No fever, takes paracetamol daily.", "paracetamol", "present"),
])
def test_advice_brackets_hedges_and_note_clauses(text, mention, expected):
    assert _assertions_of(text, {mention: expected}) == {mention: expected}


@pytest.mark.parametrize("text, code", [
    # Story: reading the code of every word of EVERYDAY_CLINICAL found the lexicon's reading
    # of the ICD-10-CM index coding five everyday words wrongly: "arthritis" as rheumatic
    # fever (I00), "burns" as Burns' disease (M92.10, a juvenile osteochondrosis),
    # "inflammation" as phlebitis (I80.3), "paralysis" G83.3, "tumor" at its category (D49)
    ("He has arthritis in his hands.", "M19.90"),
    ("She has burns on her arm.", "T30.0"),
    ("There is some inflammation.", None),
    ("Paralysis of the legs.", "G83.9"),
    ("They found a tumor.", "D49.9"),
    ("He has rheumatoid arthritis.", "M06.9"),  # the more specific names keep theirs
])
def test_everyday_words_the_index_reading_coded_wrongly(text, code):
    problems = [e for e in extract(text) if e.label == "problem"]
    assert len(problems) == 1 and problems[0].code == code, problems


@pytest.mark.parametrize("text, assertion", [
    ("This seems like bursitis.", "possible"),  # an impression, hedged
    ("It looks like eczema to me.", "possible"),
    ("It looks like a rash.", "present"),  # a sign seen (chapter R), as "I think" has it
])
def test_an_impression_that_seems_or_looks_like_a_diagnosis_is_possible(text, assertion):
    (e,) = [e for e in extract(text) if e.label == "problem"]
    assert e.assertion == assertion


@pytest.mark.parametrize("text, found", [
    ("I haven't noticed that it really burns.", []),  # the verb, not an injury
    ("He was vaccinated against measles.", []),  # what a vaccine protects from
    ("She has had jabs for typhoid and hepatitis A.", []),
    ("After the vaccination, fever and a rash.", ["fever", "rash"]),  # what followed it
])
def test_a_verb_and_a_vaccine_name_no_finding(text, found):
    assert [e.text for e in extract(text) if e.label == "problem"] == found


def test_a_reply_about_a_relative_gives_the_finding_to_the_relative():
    """Story: "What about your mother?" - "Ohh yes, so uh, probably is worth mentioning uh,
    she has diabetes." gave the patient diabetes: ConText reads the reply alone, and its
    pronoun has no referent there. Over the 57 PriMock57 consultations (tiers interleaved by
    time) three findings change, all right; "has your mum ever said that you had an
    allergic reaction? Yeah" stays the patient's."""
    from clinivox.nlu.dialogue import answered

    segs = [{"text": "And what about your mother?", "speaker": "doctor"},
            {"text": "She has high blood pressure. And I get headaches.", "speaker": "patient"}]
    assert [(e.text, e.assertion) for e in extract(segs)] == [
        ("high blood pressure", "family"), ("headaches", "present")]
    # a yes to a family-history question: the relative has it; a no says nothing of it
    (asked,) = extract("Any family history of heart disease? Yes, my dad.")
    assert asked.assertion == "hypothetical" and answered(asked) == "family"
    (asked,) = extract("Any family history of heart disease? No.")
    assert answered(asked) == "hypothetical"
    (own,) = [e for e in extract("Has your mum ever said that you had an allergic reaction? "
                                 "Yeah.") if e.label == "problem"]
    assert answered(own) != "family"
    # the speaker's own findings in the reply stay theirs
    found = extract("What about your dad? I have asthma myself. He has diabetes.")
    assert [(e.text, e.assertion) for e in found] == [("asthma", "present"),
                                                      ("diabetes", "family")]


@pytest.mark.parametrize("text, label, normalized", [
    # Story: a PriMock57 patient said "I'm allergic to, Clindamycin." and the NLU listed
    # clindamycin as a drug the patient takes: the words before an allergen were matched
    # only said straight. Fillers, commas and a repeated "to" are now read through.
    ("Uh, yeah, I'm allergic to, Clindamycin.", "allergy", "clindamycin"),
    ("I'm allergic to, to penicillin.", "allergy", "penicillins"),
    ("I have an allergy to, uh, penicillin.", "allergy", "penicillins"),
    ("Um, I'm, I'm allergic to, to peanuts.", "allergy", "peanut"),
    ("He takes penicillin.", "drug", "penicillins"),
])
def test_an_allergy_said_with_fillers_is_an_allergy(text, label, normalized):
    found = [(e.label, e.normalized) for e in extract(text) if e.label in ("drug", "allergy")]
    assert found == [(label, normalized)]


@pytest.mark.parametrize("text, code", [
    ("I was having a bit of chest discomfort.", "R07.89"),
    ("I haven't had any problems with my ears.", "H93.90"),
    ("It quite hurts when I kind of pee.", "R30.0"),
])
def test_more_everyday_findings_of_a_history_batch(text, code):
    assert [e.code for e in extract(text) if e.label == "problem"] == [code]


@pytest.mark.parametrize("text, label", [
    # Story: trying what patients say of a drug that harmed them, "Codeine makes me sick"
    # and "I react badly to codeine" listed codeine as a medicine the patient takes; an
    # adverse reaction belongs in the allergy list (allergies and intolerances)
    ("I react badly to codeine.", "allergy"),
    ("Codeine makes me sick.", "allergy"),
    ("Ibuprofen makes me wheezy.", "allergy"),
    ("Penicillin gave me hives.", "allergy"),
    ("I can't take, uh, ibuprofen, it gives me a rash.", "allergy"),
    ("Amoxicillin doesn't agree with me.", "allergy"),
    ("I can't tolerate statins.", "allergy"),
    # not: a drug taken, a dose missed
    ("I take ibuprofen for my back and it helps.", "drug"),
    ("I couldn't take my inhaler yesterday.", "drug"),
])
def test_an_adverse_reaction_in_everyday_words_is_an_allergy(text, label):
    assert [e.label for e in extract(text) if e.label in ("drug", "allergy")] == [label]


@pytest.mark.parametrize("text, assertions", [
    # Story: trying medication histories, "the doctor took me off amlodipine" and "I've been
    # off the sertraline for a month" left the drug as one the patient takes, and a
    # reconciled list would carry it on. Only the drug said right after counts: the drug
    # switched to stays taken, and "off work with back pain" is no drug's.
    ("The doctor took me off amlodipine.", [("amlodipine", "historical")]),
    ("I have been off the sertraline for a month.", [("sertraline", "historical")]),
    ("She was switched from ramipril to losartan.", [("ramipril", "historical"),
                                                     ("losartan", "present")]),
    ("I have been off work with back pain.", [("back pain", "present")]),
])
def test_a_drug_the_patient_was_moved_off_is_historical(text, assertions):
    assert [(e.text, e.assertion) for e in extract(text)
            if e.label in ("drug", "problem")] == assertions


@pytest.mark.parametrize("text, labels", [
    # Story: trying allergy statements, "allergic to penicillin, codeine and morphine"
    # listed codeine and morphine as drugs the patient takes (only the drug right after
    # "allergic to" was an allergen), "allergic to both penicillin and codeine" neither, and
    # "no allergies apart from penicillin" the penicillin as a drug taken
    ("Allergic to penicillin, codeine and morphine.", ["allergy", "allergy", "allergy"]),
    ("She is allergic to both penicillin and codeine.", ["allergy", "allergy"]),
    ("No allergies apart from penicillin.", ["allergy"]),
    ("Allergic to penicillin and takes codeine for pain.", ["allergy", "drug"]),
    ("Takes ramipril, amlodipine and aspirin.", ["drug", "drug", "drug"]),
])
def test_drugs_listed_after_an_allergen_are_allergens(text, labels):
    assert [e.label for e in extract(text) if e.label in ("drug", "allergy")] == labels


def test_an_exception_to_no_allergies_is_no_statement_of_none():
    from clinivox.nlu.allergies import no_known_allergies

    assert no_known_allergies("No known allergies.")
    assert not no_known_allergies("No allergies apart from penicillin.")
    assert not no_known_allergies("No known drug allergies, but allergic to plasters.")


@pytest.mark.parametrize("text, attributes", [
    # Story: trying orders and prescriptions, "paracetamol one gram four times daily" gave
    # the frequency "daily", "methotrexate 15 mg once a week" none (a weekly drug read as
    # daily is a known fatal error), and "give adrenaline 0.5 mg IM now" no dose or route:
    # the decimal point ended the clause
    ("Paracetamol one gram four times daily.", {"dose": "one gram",
                                                "frequency": "four times daily"}),
    ("Methotrexate 15 mg once a week.", {"dose": "15 mg", "frequency": "once a week"}),
    ("Give adrenaline 0.5 mg IM now.", {"dose": "0.5 mg", "route": "IM"}),
    ("Take 2.5 mg warfarin daily.", {"dose": "2.5 mg", "frequency": "daily"}),
    ("Ramipril 5mg. Aspirin 75 mg daily.", {"dose": "5mg"}),  # the next sentence is not its
])
def test_dose_route_and_frequency_as_orders_say_them(text, attributes):
    first = next(e for e in extract(text) if e.label == "drug")
    assert first.attributes == attributes


@pytest.mark.parametrize("text, assertions", [
    # Story: trying note styles, "Chest pain: none." and "Rash - absent." gave findings the
    # patient has, and "No longer smoking, no cough." an old cough (the longest trigger in
    # scope won over the nearer "no")
    ("Chest pain: none.", ["absent"]),
    ("Rash - absent.", ["absent"]),
    ("Chest pain: none, SOB: yes.", ["absent", "present"]),
    ("Cough - no sputum.", ["present", "absent"]),  # the answer belongs to the next word
    ("No longer smoking, no cough.", ["absent"]),
    ("She no longer has a cough.", ["historical"]),
])
def test_a_notes_answer_after_a_colon_and_the_nearer_negation(text, assertions):
    assert [e.assertion for e in extract(text) if e.label == "problem"] == assertions


@pytest.mark.parametrize("text", ["Safety-netted re meningitis.", "Warned about drowsiness.",
                                  "Safety netted re chest pain, SOB and collapse."])
def test_safety_netting_is_advice_not_a_finding(text):
    """Story: "Safety-netted re meningitis." (a British note's advice on what to come back
    for) listed meningitis as a diagnosis the patient has."""
    found = [e.assertion for e in extract(text) if e.label == "problem"]
    assert found and set(found) == {"hypothetical"}


@pytest.mark.parametrize("text, assertions", [
    # Story: trying histories, "He had a stroke last year and now has weakness in his left
    # arm." gave an old weakness (the past episode's time reached the clause after "and
    # now"), and "Known epileptic" no epilepsy at all
    ("He had a stroke last year and now has weakness in his left arm.",
     [("stroke", "historical"), ("weakness", "present")]),
    ("He had a heart attack two years ago and is now breathless.",
     [("heart attack", "historical"), ("breathless", "present")]),
    ("He had a DVT in 2015.", [("DVT", "historical")]),
    ("Known epileptic.", [("epileptic", "present")]),
    ("He had an epileptic fit.", [("epileptic fit", "present")]),
])
def test_the_present_after_a_past_episode_and_epilepsy_by_its_adjective(text, assertions):
    assert [(e.text, e.assertion) for e in extract(text) if e.label == "problem"] == assertions


def test_tests_not_named_and_a_blood_pressure_taken():
    """Batch 13 (ninth session) missed "going for tests" and "when did you last take your
    blood pressure?": a test said without its name, and the measurement (not the problem,
    which is "high blood pressure")."""
    found = [(e.text, e.label) for e in extract(
        "We'll do some more tests and check your blood pressure.")]
    assert found == [("tests", "test"), ("blood pressure", "test")]
    assert [(e.text, e.label) for e in extract("He has high blood pressure.")] == [
        ("high blood pressure", "problem")]
    assert not [e for e in extract("The tests of the fire alarm are on Monday, "
                                   "blood pressure aside.") if e.label == "test"][1:]


@pytest.mark.parametrize("text, expected", [
    # a hedge with "to me" between: doubt
    ("It seems to me like this is eczema.", {"eczema": "possible"}),
    # "he" the last person named, and a relative named in the sentence before: his
    ("I'm sorry about your father. How old was he when he had the heart attack?",
     {"heart attack": "family"}),
    # ... not when the question turns to "you" after him
    ("Your father is well. Did he say you had a heart attack?",
     {"heart attack": "hypothetical"}),
    # advice said after the treatment, and "also" inside the advice
    ("Paracetamol would be advisable.", {"paracetamol": "hypothetical"}),
    ("You can also try cetirizine.", {"cetirizine": "hypothetical"}),
    # a differential weighed
    ("We need to think about things like malaria.", {"malaria": "possible"}),
    # an episode weeks ago said in the emphatic past
    ("I did have a similar headache a few weeks ago.", {"headache": "historical"}),
    # ... not a complaint that has lasted weeks
    ("I've had a headache for a few weeks.", {"headache": "present"}),
    # a fourth round (batch 16): what a finding does in general, a finding described in
    # general, a question that takes the finding as given, advice after "which"
    ("Sometimes stress can affect your sleep.", {"stress": "hypothetical"}),
    ("Like when you black out and start shaking.", {"black out": "hypothetical"}),
    ("In what way has work been stressful?", {"stressful": "present"}),
    ("Cetirizine or loratadine, which can help the itch.",
     {"cetirizine": "hypothetical", "loratadine": "hypothetical"}),
    # round six (batch 18): the patient's known condition is not doubted, a hedge's clause
    # goes on after "it's", a drug remembered with "I think" is taken, a restarted article
    # does not use up the negation's reach, a question of its own after a comma
    ("Is this similar to your usual eczema, do you think?", {"eczema": "present"}),
    ("So, it looks like, it's just a viral infection.", {"viral infection": "possible"}),
    ("I think I take ramipril for that.", {"ramipril": "present"}),
    ("I don't feel that you're having a, an, an, a life-threatening, uh, allergic reaction.",
     {"allergic reaction": "absent"}),
    ("When you say it's not helping, is it bringing the temperature down?",
     {"temperature": "present"}),
    # round seven (batch 19): advice on what to get or buy; the clinician's own step is no
    # condition; what a treatment helps with is there
    ("You can get Piriton over the counter.", {"piriton": "hypothetical"}),
    ("If I send it to your pharmacy, start the trimethoprim today.",
     {"trimethoprim": "present"}),
    ("You can also try cetirizine, it can help with the itchiness.",
     {"cetirizine": "hypothetical", "itchiness": "present"}),
    ("If you get a rash, the cream will help with the rash.", {"rash": "hypothetical"}),
    # round eight (batch 20): a movement that makes a finding worse keeps it; a body word
    # before "discomfort" begins the finding's name; what is "worth using" is advice
    ("If I lean forward, yeah, the headache gets worse.", {"headache": "present"}),
    ("If you get a headache that gets worse, come back.", {"headache": "hypothetical"}),
    ("So you've still got the chest discomfort right now?", {"chest discomfort": "present"}),
    ("It's also worth using antihistamines.", {"antihistamines": "hypothetical"}),
])
def test_assertions_the_fresh_batches_showed(text, expected):
    """Assertion rules made from the ninth session's fresh validation batches (13-20),
    in general forms; the sentences are my own."""
    assert _assertions_of(text, expected) == expected


def test_tests_of_a_rheumatology_screen_and_the_empty_stomach():
    found = [(e.text, e.label) for e in extract(
        "Bloods for inflammatory markers and autoimmune antibodies. Take it on an empty "
        "stomach.")]
    assert ("inflammatory markers", "test") in found
    assert ("autoimmune antibodies", "test") in found
    assert ("stomach", "anatomy") not in found
    assert [(e.text, e.assertion) for e in extract("Any blood in your stools?")] == [
        ("blood in your stools", "hypothetical")]


def test_a_naming_phrase_does_not_use_up_a_triggers_reach():
    """Batch 17: "It sounds like you could be going into what we say an a, an anaphylactic
    reaction" was present: "what we say" pushed "could be" out of the trigger's 8 words."""
    assert _assertions_of("It sounds like you could be going into what we say an a, an "
                          "anaphylactic reaction.", {"anaphylactic reaction": ""}) == {
        "anaphylactic reaction": "possible"}
    assert _assertions_of("It doesn't look to me like that's something called, excuse me, "
                          "septic arthritis.", {"septic arthritis": ""}) == {
        "septic arthritis": "absent"}


def test_a_product_of_the_drug_source_is_coded_by_its_ingredient():
    """"Salbutamol inhalers" is its own canonical name in the drug source; its ingredient
    is salbutamol's (albuterol)."""
    assert [(e.code, e.label) for e in extract("I use salbutamol inhalers.")] == [
        ("albuterol", "drug")]


@pytest.mark.parametrize("text", ["Have you been around anyone unwell?",
                                  "They say you should feed a cold."])
def test_someone_elses_illness_and_a_saying_are_no_finding(text):
    assert [e for e in extract(text) if e.label == "problem"] == []


@pytest.mark.parametrize("text, expected", [
    # medicines named by what they treat, and a blood pressure that is a hypertension
    ("I'm on blood pressure tablets.", [("blood pressure tablets", "drug",
                                         "antihypertensive agents")]),
    ("I take water tablets.", [("water tablets", "drug", "diuretics")]),
    ("What do you take for your blood pressure?", [("blood pressure", "problem", "I10")]),
    ("I have blood pressure problems.", [("blood pressure problems", "problem", "I10")]),
    # ... not its check, nor its control
    ("Come in for your blood pressure check.", [("blood pressure check", "test", None)]),
    ("There's no problems with your blood pressure control.", []),
])
def test_everyday_names_of_blood_pressure_and_its_medicines(text, expected):
    assert [(e.text, e.label, e.code) for e in extract(text)
            if e.label in ("drug", "problem", "test")] == expected
