"""`clinivox scribe`: a synthetic consultation to a record (chapters, terms with codes,
alerts, summary), and its HTML report opened in headless Chromium.

Set CLINIVOX_SCREENSHOT_DIR to keep a screenshot of the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clinivox.asr.types import Segment
from clinivox.scribe.record import CHAPTERS, build_record, chapter_scores, segment_chapters
from clinivox.testing.synth import silence, synthesize
from tests.unit.test_diarize import shifted_voice

CONSULTATION = [
    ("doctor", "Good morning, what brings you in today?"),
    ("patient", "I have had a bad cough and a fever for five days."),
    ("doctor", "Do you have any other medical conditions or allergies?"),
    ("patient", "I have asthma and I take salbutamol when I need it."),
    ("doctor", "I am going to listen to your chest now. Take a deep breath in."),
    ("patient", "Sorry, I suddenly feel very dizzy and my chest is tight."),
    ("doctor", "I think this is a chest infection. I will prescribe amoxicillin for a week, "
               "and please come back if you get worse."),
]


@pytest.mark.parametrize("with_embeddings", [True, False])
def test_chapters_follow_the_consultation(with_embeddings):
    from clinivox.nlp.embeddings import default_encoder

    texts = [t for _, t in CONSULTATION]
    encoder = default_encoder() if with_embeddings else None
    labels = [CHAPTERS[i] for i in segment_chapters(chapter_scores(texts, encoder))]
    assert labels[0] == "complaint" and labels[-1] == "plan"
    assert "history" in labels and labels.index("history") < labels.index("plan")


def test_record_summary_from_segments():
    segs = [Segment(i, 2.0 * i, 2.0 * i + 1.5, t, speaker="S0" if who == "doctor" else "S1")
            for i, (who, t) in enumerate(CONSULTATION)]

    def terms(text):
        low = text.lower()
        out = []
        for term, cat, code in (("amoxicillin", "drug", "amoxicillin"),
                                ("salbutamol", "drug", "salbutamol"),
                                ("cough", "symptom", None), ("asthma", "diagnosis", "J45")):
            if term in low:
                out.append({"term": term, "canonical": term, "category": cat, "code": code})
        return out

    rec = build_record(segs, {"S0": "clinician", "S1": "patient"}, duration_s=15.0,
                       term_finder=terms)
    s = rec.summary
    assert "cough" in s["presenting_complaint"]
    # medications come from the NLU's entities (the lexicon's ingredient, in order said),
    # no longer from the term finder passed in
    assert s["medications"] == ["albuterol", "amoxicillin"]
    assert any("prescribe amoxicillin" in p for p in s["plan"])
    assert rec.to_dict()["chapters"][0]["name"] == "complaint"


def test_record_terms_come_from_the_nlu_not_the_bare_lexicon():
    # The record's term list (and the report's "Medical terms" table) came from the bare
    # lexicon matcher when the scribe ran without --medical: "they all call me a Yankee"
    # listed Acute lymphoblastic leukemia [ALL] (C91.0), "any other questions" a preterm
    # newborn (P07.3), and "denies any chest pain" a symptom with no assertion, while the
    # summary beside it, read by the NLU, had none of these.
    from clinivox.cli.scribe import _terms

    segs = [Segment(0, 0.0, 4.0, "They all call me a Yankee down here.", speaker="S0"),
            Segment(1, 4.0, 8.0, "Any other questions? He denies any chest pain.",
                    speaker="S1"),
            Segment(2, 8.0, 9.0, "My brother had neurofibromatosis.", speaker="S0")]
    rec = build_record(segs, {"S0": "patient", "S1": "clinician"}, duration_s=9.0,
                       term_finder=_terms(None))
    codes = {t["code"] for t in rec.terms}
    assert "C91.0" not in codes and "P07.3" not in codes
    by_name = {t["canonical"].lower(): t for t in rec.terms}
    assert by_name["chest pain"]["assertion"] == "absent"
    assert by_name["chest pain"]["segment"] == 1
    assert by_name["neurofibromatosis (nonmalignant)"]["assertion"] == "family"


def test_report_marks_every_machine_substitution_for_review():
    """A replaced word can be a wrong drug: the report flags each one (issue #25, item 7)."""
    from clinivox.biasing import Correction
    from clinivox.scribe.report import render_html

    fix = Correction("amoxy selling", "amoxicillin", 3.2, 0.81, "drug", "amoxicillin")
    segs = [Segment(0, 0.0, 2.0, "Good morning.", speaker="S0"),
            Segment(1, 2.0, 4.0, "I will prescribe amoxicillin.", speaker="S0",
                    corrections=(fix,))]
    rec = build_record(segs, {"S0": "clinician"}, duration_s=4.0, term_finder=None)
    page = render_html(rec, "visit.wav")
    assert page.count('class="review"') == 1
    assert "heard “amoxy selling”, written “amoxicillin”" in page
    assert "Machine substitutions to review (1)" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def test_scribe_cli_and_report_in_chromium(tmp_path):
    parts = []
    for who, text in CONSULTATION:
        x = synthesize(text)
        parts += [x if who == "doctor" else shifted_voice(x, 0.78), silence(0.5)]
    wav = tmp_path / "consultation.wav"
    sf.write(wav, np.concatenate(parts), 16_000)
    out = tmp_path / "scribe"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "scribe", str(wav),
                           "--medical", "--output-dir", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "consultation.scribe.json").read_text())
    roles = {s["speaker"]: s["role"] for s in doc["speakers"]}
    assert sorted(roles.values()) == ["clinician", "patient"]
    names = [c["name"] for c in doc["chapters"]]
    assert names[0] == "complaint" and names[-1] == "plan"
    # Both drugs said (salbutamol is albuterol's other name). --medical runs the clinical
    # tiny.en since 2026-12-06; without a domain LM it spells the prescribed drug
    # "amoxacillin" here and the medical layer's gain threshold leaves it (a known miss,
    # docs/models.md "Default for --medical"; the bundled model wrote "amax a psyllin'",
    # which the layer corrected). What the record lists must have been said.
    meds = doc["summary"]["medications"]
    assert "albuterol" in meds and set(meds) <= {"albuterol", "amoxicillin"}, meds
    assert any(t["category"] == "diagnosis" and t["code"] for t in doc["terms"])
    html_path = out / "consultation.scribe.html"
    html = html_path.read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1100,1400", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(html_path.as_uri())
        img = driver.find_element(By.TAG_NAME, "img")
        assert driver.execute_script("return arguments[0].naturalWidth", img) > 400
        rows = driver.find_elements(By.CSS_SELECTOR, "#transcript tr")
        assert len(rows) >= len(CONSULTATION)
        assert driver.find_elements(By.CSS_SELECTOR, "mark.term")
        shots = os.environ.get("CLINIVOX_SCREENSHOT_DIR")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(Path(shots) / "scribe_report.png"))
    finally:
        driver.quit()


@pytest.mark.parametrize("text, order", [
    ("She's arrested, start compressions now.", True),
    ("This is a major haemorrhage, activate the protocol.", True),
    ("There's no respiratory effort, bag him.", True),
    ("Give adrenaline now.", True),
    ("I started feeling better, and then it got worse.", False),
    ("She has a cough and a runny nose.", False),
])
def test_orders_after_a_finding_reach_the_plan(text, order):
    """Emergency speech states the finding, then the order after a comma; the plan took
    only sentences that opened with the order (the ER streams' 'He's gone into cardiac
    arrest, start chest compressions' had an empty plan)."""
    from clinivox.scribe.record import _ORDER

    assert bool(_ORDER.search(text)) is order


@pytest.mark.parametrize("text, plan", [
    ("OK, we will do an ECG and start aspirin 300 milligrams now.", True),
    ("So, what we're going to do is, we're going to send off the prescription.", True),
    ("I'm going to refer you to the TIA clinic.", True),
    ("We'll start you on some antibiotics.", True),
    ("Let's book some bloods.", True),
    ("Let's start with your cough first.", False),
    ("I'll just get my stopwatch up.", False),
    ("I'll be honest with you, it sounds viral.", False),
])
def test_a_stated_next_step_is_plan_wherever_it_is_said(text, plan):
    """A clinician's "we will do an ECG and start aspirin" outside the plan chapter left
    the plan empty: neither an order opening a clause nor in the plan chapter."""
    from clinivox.scribe.record import _INTENT

    assert bool(_INTENT.search(text)) is plan


def _record(lines: list[tuple[str, str]]):
    segs = [Segment(i, 2.0 * i, 2.0 * i + 1.5, t, speaker="S0" if who == "doctor" else "S1")
            for i, (who, t) in enumerate(lines)]
    return build_record(segs, {"S0": "clinician", "S1": "patient"},
                        duration_s=2.0 * len(lines), term_finder=None)


@pytest.mark.parametrize("lines, status, shown", [
    ([("doctor", "Do you have any allergies?"), ("patient", "No, none.")],
     "none known", "none known (stated)"),
    ([("patient", "I'm allergic to penicillin, it gives me a rash.")], "recorded",
     "penicillins"),
    # a drug after the allergies heading's sentence is taken, not an allergy
    ([("doctor", "Allergies: NKDA. He takes ramipril.")], "none known", "none known (stated)"),
    ([("doctor", "What brings you in?"), ("patient", "A cough.")], "not stated", "not stated"),
    # a question is no answer; an allergy asked about in a condition is no allergy
    ([("doctor", "Any known allergies?"), ("patient", "Yes, I'm allergic to peanuts.")],
     "recorded", "peanut"),
])
def test_the_record_tells_no_known_allergies_from_not_asked(lines, status, shown):
    """An empty allergy list read as "none" when nobody asked is a safety problem: the
    summary says "none known" only when it was said, and the report shows which."""
    from clinivox.scribe.report import _allergies

    rec = _record(lines)
    assert rec.summary["allergy_status"] == status
    assert _allergies(rec.summary) == shown
    assert "ramipril" not in rec.summary["allergies"]


def test_the_report_shows_allergies_negatives_history_and_vitals():
    from clinivox.scribe.report import render_html

    rec = _record([("doctor", "Any allergies?"), ("patient", "No."),
                   ("patient", "No chest pain. My father had a stroke."),
                   ("patient", "I had pneumonia in 2015."),
                   ("doctor", "Blood pressure is one forty over ninety.")])
    page = render_html(rec, "visit.wav")
    for row in ("<dt>Allergies</dt><dd>none known (stated)</dd>",
                "<dt>Denied</dt><dd>chest pain</dd>", "<dt>Family history</dt><dd>stroke</dd>",
                "<dt>Past history</dt><dd>Pneumonia, unspecified organism</dd>"):
        assert row in page, row
    assert "<dt>Vitals</dt><dd>blood_pressure 140/90 mmHg</dd>" in page


def test_the_summary_counts_a_question_answered_yes_or_no():
    """"Any chest pain?" - "No." is how a consultation says most pertinent negatives; the
    summary listed neither the denial nor the symptom confirmed with "yes"."""
    rec = _record([("doctor", "What brings you in today?"),
                   ("patient", "I've been feeling unwell."),
                   ("doctor", "Any chest pain?"), ("patient", "No."),
                   ("doctor", "And a cough?"), ("patient", "Yes, a dry one."),
                   ("doctor", "Anyone in your family with diabetes?"), ("patient", "No.")])
    s = rec.summary
    assert "chest pain" in s["denied"] and "diabetes mellitus" not in s["denied"]
    assert "cough" in s["symptoms"]
