"""Symptoms said as clauses (`clinivox.nlu.lay`): a body part and what it does, what the
patient cannot do, sensations in everyday words. A check of 106 everyday phrasings found 26
with the symptom tables alone (docs/nlu.md, "A sixth session")."""

from __future__ import annotations

import pytest

from clinivox.nlu import extract


def _problems(text: str) -> list[tuple[str, str | None, str, str | None]]:
    return [(e.text, e.code, e.assertion, e.attributes.get("site"))
            for e in extract(text) if e.label == "problem"]


@pytest.mark.parametrize("text, code, site", [
    # a part and what it does: the pain coded by its site, as ICD-10-CM's index codes it
    ("My knee hurts.", "M25.569", "knee"),
    ("My left wrist has been really sore.", "M25.539", "wrist"),
    ("My back is killing me.", "M54.9", "back"),
    ("Her jaw aches at night.", "R68.84", "jaw"),
    ("He has aching legs.", "M79.606", "legs"),
    ("I've got a sore foot.", "M79.673", "foot"),
    ("The light is hurting my eyes.", "H57.10", "eyes"),
    ("My tummy hurts after meals.", "R10.9", "tummy"),
    ("My fingers are numb.", "R20.0", "fingers"),
    ("My hands are stiff in the morning.", "M25.60", "hands"),
    ("My breasts are tender.", "N64.4", "breasts"),
    # a site said after the pain
    ("I have pain in my wrist.", "M25.539", "wrist"),
    ("There is an ache in the left knee.", "M25.569", "knee"),
])
def test_a_part_and_what_it_does_is_the_pain_of_that_site(text, code, site):
    found = _problems(text)
    assert [(c, s) for _, c, _, s in found] == [(code, site)], found
    assert found[0][2] == "present"


def test_a_part_after_a_preposition_stays_an_anatomy_entity():
    labels = [(e.text, e.label) for e in extract("I have pain in my wrist.")]
    assert ("wrist", "anatomy") in labels


@pytest.mark.parametrize("text, assertion", [
    ("My knee doesn't hurt.", "absent"),  # the negation stays outside the mention
    ("Does your knee hurt?", "hypothetical"),
    ("My knee hurts when I walk.", "present"),
    ("If your ankle aches, rest it.", "hypothetical"),
])
def test_the_assertion_of_a_clause_is_read_around_its_predicate(text, assertion):
    found = _problems(text)
    assert len(found) == 1 and found[0][2] == assertion, found


@pytest.mark.parametrize("text, code", [
    ("I can't catch my breath.", "R06.00"),
    ("Some days I can't breathe.", "R06.00"),
    ("She can't keep anything down.", "R11.10"),
    ("I can't swallow properly.", "R13.10"),
    ("I can't walk properly.", "R26.2"),
    ("I couldn't move my left arm.", "R53.1"),
    ("I can't feel my toes.", "R20.0"),
    ("He can't hear out of his left ear.", "H91.90"),
    ("I can't see properly.", "H53.9"),
    ("It hurts when I pee.", "R30.0"),
    ("It stings when I wee.", "R30.0"),
    ("I feel faint.", "R55"),
    ("I've been so drowsy.", "R40.0"),
    ("I've got the shakes.", "R25.1"),
    ("My heart keeps skipping.", "R00.2"),
    ("My heart's been thumping.", "R00.2"),
    ("I've had an upset stomach.", "K30"),
    ("I'm up at night to pee.", "R35.1"),
    ("I've missed a period.", "N91.2"),
    ("My nose is blocked.", "R09.81"),
    ("My voice is croaky.", "R49.0"),
    ("I keep seeing flashing lights.", "H53.19"),
    ("Her urine is cloudy.", "R39.89"),
])
def test_what_the_patient_cannot_do_and_sensations_in_everyday_words(text, code):
    found = _problems(text)
    assert [c for _, c, _, _ in found] == [code], found


@pytest.mark.parametrize("text", [
    # a call's sound, not the patient's hearing or sight
    "Sorry, I can't hear you, you're breaking up.",
    "I can't hear anything, can you say that again?",
    "I can't see why not.",
    "I can't see you on the screen.",
    # other senses of the words
    "I can't walk the dog this week.",
    "I can't remember what it's called.",
    "The tablets come in a blister pack.",
    "We got wind of it yesterday.",
    "He was shaking hands with everyone.",
    "She keeps getting spots on her chin.",  # acne, not a visual disturbance
    "Go to the back of the queue.",
    "It's a sore point with him.",
])
def test_everyday_senses_are_not_symptoms(text):
    assert _problems(text) == []


def test_a_bare_it_hurts_gets_no_code(monkeypatch):
    """"It hurts." names no site, and the tables give it nothing: the pain is coded where
    its referent is named. This sat among the everyday senses above until the checked
    learned spans became the default (thirteenth session), which find "hurts" here. The
    gold set annotates a bare "hurts" as a problem ("it kind of hurts sometimes", "it
    sometimes kind of hurts, uh, my joints"), so the tagger follows the annotation
    guideline, not a bug; what must hold is that it gets no code (a learned span is never
    coded) and that the tables alone still find nothing."""
    assert all(code is None for _, code, _, _ in _problems("It hurts."))
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "lexicon")
    assert _problems("It hurts.") == []


def test_a_name_the_tables_know_keeps_its_entity_and_gains_its_site():
    found = _problems("No cough, sore throat or runny nose.")
    throat = [p for p in found if p[0] == "sore throat"]
    assert throat == [("sore throat", "J02.9", "absent", "throat")]


def test_a_clause_on_a_transcript_gets_its_time_span():
    from clinivox.asr.types import Segment, Word
    words = (Word(0.0, 0.2, "My", 0.9), Word(0.2, 0.5, " knee", 0.9),
             Word(0.5, 0.9, " hurts.", 0.9))
    seg = Segment(0, 0.0, 0.9, "My knee hurts.", words=words)
    (e,) = [e for e in extract([seg]) if e.label == "problem"]
    assert (e.code, e.start_s, e.end_s) == ("M25.569", 0.5, 0.9)


@pytest.mark.parametrize("text, code", [
    # an organ with "problems": the organ's unspecified disorder
    ("My mother had some heart problems.", "I51.9"),
    ("Any problems with your liver?", "K76.9"),
    ("I've got a bad chest.", "J98.9"),
    ("He has kidney trouble.", "N28.9"),
    # a joint the patient calls bad: its pain
    ("I've got a dodgy knee.", "M25.569"),
    # conditions by their everyday names
    ("She is going through the menopause.", "N95.1"),
    ("I've got low iron.", "E61.1"),
    ("He had a clot on the lung.", "I26.99"),
    ("I have a throat infection.", "J02.9"),
    ("I've had a really bad cold.", "J00"),
    ("She had a fit last night.", "R56.9"),
])
def test_organ_problems_and_everyday_condition_names(text, code):
    assert [c for _, c, _, _ in _problems(text)] == [code], _problems(text)


@pytest.mark.parametrize("text, canonical", [
    ("I've got a sprained wrist.", "sprain of wrist"),
    ("I twisted my ankle.", "sprain of ankle"),
    ("I pulled a muscle.", "muscle strain"),
    ("He has a torn ligament.", "tear of ligament"),
    ("She has a dislocated shoulder.", "dislocation of shoulder"),
])
def test_soft_tissue_injuries_in_everyday_words(text, canonical):
    found = [e.normalized for e in extract(text) if e.label == "problem"]
    assert found == [canonical]


@pytest.mark.parametrize("text", [
    "That's a good fit.",  # not a seizure
    "The kettle boils.",
    "He has a fit young son.",
])
def test_everyday_senses_of_condition_words(text):
    assert _problems(text) == []


def test_a_form_that_is_something_else_does_not_hide_one_inside_it():
    # "a cold" before a noun is no cold, and the regex search had consumed the words of
    # "cold sore" with it: the cold sore was lost (found by a list of everyday names)
    assert [c for _, c, _, _ in _problems("I have a cold sore.")] == ["B00.1"]
    assert [c for _, c, _, _ in _problems("A cold drink and a cold sore.")] == ["B00.1"]


@pytest.mark.parametrize("text, code", [
    # a fresh validation batch (batch 10, docs/nlu.md) missed these kinds of phrasing; each
    # pattern is the general form, checked over the 4,559 PriMock57 lines
    ("Any injuries to your head?", "S09.90"),
    ("He was knocked on the head.", "S09.90"),
    ("I banged my head on the cupboard.", "S09.90"),
    ("I get these funny heartbeats.", "R00.2"),
    ("My skin is really dry.", "L85.3"),
    ("Is there any thickened skin?", "L85.9"),
    ("My breathing gets laboured.", "R06.89"),
    ("There's a ringing in my ears.", "H93.19"),
    ("I blacked out at work.", "R55"),
    ("His speech was slurred.", "R47.81"),
    ("Her face drooped on one side.", "R29.810"),
    ("My periods are really heavy.", "N92.0"),
    ("There's blood when I wipe.", "K62.5"),
    ("My memory is getting worse.", "R41.3"),
    ("Food keeps getting stuck.", "R13.10"),
    ("I'm walking slightly differently.", "R26.9"),
    ("I've lost some of my vision.", "H54.7"),
    ("My knee is stiffer than before.", "M25.60"),
])
def test_more_everyday_findings(text, code):
    found = _problems(text)
    assert [c for _, c, _, _ in found] == [code], found


def test_an_injury_to_a_part_is_named_by_the_part():
    (found,) = _problems("I had an injury to my knee.")
    assert found[0] == "injury to my knee" and found[3] == "knee"


@pytest.mark.parametrize("text", [
    "Now, the urgency of those blood tests depends on the examination.",  # not the bladder's
    "I'm banging my head against a brick wall with the council.",
    "The skin of the peach was dry.",
])
def test_everyday_senses_of_the_new_phrasings(text):
    assert _problems(text) == []


@pytest.mark.parametrize("text, assertion", [
    ("My knee is stiffer than before.", "present"),  # a comparison, not an old episode
    ("I had eczema before.", "historical"),
])
def test_than_before_compares_and_before_places_in_the_past(text, assertion):
    found = _problems(text)
    assert [a for _, _, a, _ in found] == [assertion], found


@pytest.mark.parametrize("text, drug, assertion", [
    ("Delayed script for amoxicillin, to start in 48 hours if no better.", "amoxicillin",
     "hypothetical"),
    ("Review with the GP to consider prescribing an epipen.", "epipen", "hypothetical"),
    ("Started amoxicillin today.", "amoxicillin", "present"),
])
def test_a_treatment_only_considered_or_held_back_is_hypothetical(text, drug, assertion):
    drugs = [(e.text, e.assertion) for e in extract(text) if e.label == "drug"]
    assert drugs == [(drug, assertion)]


def test_common_laboratory_tests_by_their_note_names():
    tests = [e.text for e in extract("Bloods: trop T, rheum factor, urate, lipids, ANA and a "
                                     "clotting screen; USS abdomen.") if e.label == "test"]
    assert tests == ["Bloods", "trop T", "rheum factor", "urate", "lipids", "ANA",
                     "clotting screen", "USS"]
    assert not [e for e in extract("Fit and well otherwise.") if e.label == "test"]
    # an organ's function or levels is its test, its problems a disorder
    assert [(e.text, e.label) for e in extract("Your thyroid levels are fine.")] == [
        ("thyroid levels", "test")]
    assert [e.label for e in extract("A thyroid problem.")] == ["problem"]


# Kinds of finding the ninth session's fresh batches (13-20, validation consultations)
# missed, in general forms; the sentences here are my own.
@pytest.mark.parametrize("text, found", [
    # batch 13: a form said with a hyphen, a sense said to be worse than it was, a migraine's
    # aura, a noisy chest, a reaction with a word that makes it one, the heart said as "it"
    ("I've been feeling really run-down lately.", ("run-down", "R53.81")),
    ("She gets rattling noises when she breathes.", ("rattling noises", "R06.89")),
    ("My eyesight isn't what it was.", ("eyesight isn't what it was", "H53.9")),
    ("My hearing's, I mean, not so good these days.", ("hearing's, I mean, not so good",
                                                      "H91.90")),
    ("I saw wavy lines before the migraine.", ("wavy lines", "H53.19")),
    ("It was beating much faster than normal.", ("beating much faster than normal", "R00.2")),
    ("I had a nasty reaction to the plaster.", ("nasty reaction", None)),
    ("Work has been really stressful.", ("stressful", "Z73.3")),
    ("It's been painful since Monday.", ("painful", "R52")),
    ("Any bladder symptoms?", ("bladder symptoms", "R39.9")),
    ("I think it was the virus going around.", ("the virus", "B34.9")),
    # batch 14: urine of a colour that may be blood, blood "at all" in the
    # urine, a sport's injury, a sense that went for a while, sniffles, numbing, light that is
    # too bright, a fit listed with a seizure, a temperature in "a bit of temperature".
    ("Her urine has been a bit pink.", ("urine has been a bit pink", "R82.90")),
    ("He noticed red urine this morning.", ("red urine", "R82.90")),
    ("Any blood at all in your urine?", ("blood at all in your urine", "R31.9")),
    ("It started as a rugby injury.", ("rugby injury", "T14.90")),
    ("My vision went for about a minute.", ("vision went", "H54.7")),
    ("His side vision wasn't there for a while.", ("side vision wasn't there", "H54.7")),
    ("I've had the sniffles all week.", ("the sniffles", "J34.89")),
    ("The numbing started in my fingers.", ("numbing", "R20.0")),
    ("Some sensitivity to bright lights.", ("sensitivity to bright lights", "H53.149")),
    ("No seizures or a fit.", ("a fit", "R56.9")),
    ("I had a bit of temperature on Monday.", ("temperature", "R50.9")),
    # batch 15: a grip that fails, an irritated part, spots and tenderness said
    # of the patient, autoimmune disease in everyday words, a brain scan, the palm.
    ("I keep dropping my cup.", ("keep dropping", "R27.8")),
    ("Have you been dropping things?", ("dropping things", "R27.8")),
    ("My eyes are irritated.", ("irritated", None)),
    ("I've got little red spots on my legs.", ("spots", "R21")),
    ("Is it tender to touch?", ("tender", None)),
    ("My sister has some autoimmune condition.", ("autoimmune condition", "M35.9")),
    # batch 19: organ and joint problems, bleeding said in the past
    ("Any problems with your waterworks?", ("problems with your waterworks", "R39.9")),
    ("You've got a problem with your knee.", ("problem with your knee", "M25.9")),
    ("It has bled a couple of times.", ("bled", "R58")),
    # batch 20: what the patient cannot do ("can't even sleep", "can't quite move
    # my arm"), dryness, the cracking of the skin, the fingertips.
    ("I can't even sleep at night.", ("can't even sleep at night", "G47.00")),
    ("I can't quite move my left arm.", ("can't quite move my left arm", "R53.1")),
    ("It's been dry and itchy.", ("dry", "L85.3")),
    ("There's some cracking of your skin.", ("cracking", "L85.3")),
])
def test_everyday_findings_the_fresh_batches_missed(text, found):
    assert found in [(t, c) for t, c, _, _ in _problems(text)], _problems(text)


@pytest.mark.parametrize("text", [
    "My first reaction was to laugh.",
    "It was a painful decision to sell the house.",
    "We opened a joint account.",
    "She ran a follow-up clinic.",
])
def test_no_finding_from_the_everyday_senses(text):
    assert _problems(text) == []
    assert not [e for e in extract(text) if e.label == "anatomy"]


def test_a_place_on_a_part_is_not_the_back():
    parts = [e.text for e in extract("There's redness at the back of your throat and a cut "
                                     "on the back of my hand.") if e.label == "anatomy"]
    assert parts == ["throat", "hand"]
    assert [e.text for e in extract("A cut on my back.") if e.label == "anatomy"] == ["back"]


@pytest.mark.parametrize("text", [
    "My vision went back to normal.",
    "It was a good fit for the job.",
    "Take the pill with water.",
])
def test_no_finding_or_drug_from_their_everyday_senses(text):
    assert not [e for e in extract(text) if e.label in ("problem", "drug")]


@pytest.mark.parametrize("text, mention, assertion", [
    # a condition on a treatment working: the treatment is there ("if your cough isn't
    # getting any better" already kept the cough)
    ("If the salbutamol isn't working, call us.", "salbutamol", "present"),
    ("If the steroid cream doesn't help, come back.", "steroid cream", "present"),
    ("If you get a fever, come back.", "fever", "hypothetical"),
])
def test_a_condition_on_a_treatment_working(text, mention, assertion):
    assert [(e.text, e.assertion) for e in extract(text)
            if e.label in ("problem", "drug")] == [(mention, assertion)]


def test_the_pill_among_other_medicines():
    assert [(e.text, e.label) for e in extract("Apart from the pill, I take nothing.")] == [
        ("the pill", "drug")]


@pytest.mark.parametrize("text", ["A few spots of rain.", "At a tender age he left home.",
                                  "It was a painful decision."])
def test_spots_and_tender_in_their_everyday_senses(text):
    assert _problems(text) == []


def test_a_brain_scan_and_the_palms():
    found = [(e.text, e.label) for e in extract("We'll arrange a brain scan; the rash is on "
                                                "your palms.")]
    assert ("brain scan", "test") in found and ("palms", "anatomy") in found


def test_the_next_part_of_a_list_and_the_top_of_my_head():
    parts = [e.text for e in extract("It's all over my chest and hands.")
             if e.label == "anatomy"]
    assert parts == ["chest", "hands"]
    assert not [e for e in extract("Not off the top of my head.") if e.label == "anatomy"]
    # ... and only where the word before "and" is a part: not "to the shop and back"
    assert not [e for e in extract("I walked to the shop and back.") if e.label == "anatomy"]


@pytest.mark.parametrize("text", ["Keep it dry.", "Cough is dry, no sputum.",
                                  "The cough? It's quite dry."])
def test_dry_said_of_something_else_is_no_finding(text):
    assert "dry" not in [t for t, _, _, _ in _problems(text)]
