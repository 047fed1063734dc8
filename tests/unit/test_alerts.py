"""Critical-alert detection: wordings, negation, non-acute context, dedup, custom categories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clinivox.alerts import AlertMonitor, AlertOptions, builtin_categories, load_categories
from clinivox.asr.streaming import StreamEvent
from clinivox.errors import InputError
from clinivox.nlu.context import assertion


@pytest.fixture(scope="module")
def lexical():
    return AlertMonitor(options=AlertOptions(semantic=False))


@pytest.mark.parametrize("text, category", [
    # wordings not in the shared streams
    ("I can't feel a pulse, start CPR now", "cardiac_arrest"),
    ("He's in VF, charge the defib", "cardiac_arrest"),
    ("She has no signs of life", "cardiac_arrest"),
    ("He has stopped breathing", "respiratory_arrest"),
    ("She's apnoeic, bag her", "respiratory_arrest"),
    ("Pressure is seventy over forty", "shock"),
    ("BP 75/40 and she is mottled", "shock"),
    ("We can't get a blood pressure on him", "shock"),
    ("He is bleeding out from the groin", "hemorrhage"),
    ("She has lost a lot of blood", "hemorrhage"),
    ("Her lips and tongue are swelling up", "anaphylaxis"),
    ("Get the EpiPen", "anaphylaxis"),
    ("His speech is slurred and his face is drooping", "stroke"),
    ("She suddenly can't lift her right arm", "stroke"),
    ("He's fitting again", "seizure"),
    ("She's been convulsing for five minutes", "seizure"),
    ("He's choking on a piece of meat", "airway"),
    ("There's stridor, get ready for intubation", "airway"),
])
def test_wordings_are_detected(lexical, text, category):
    assert category in {d.category for d in lexical.detect(text)}


@pytest.mark.parametrize("text", [
    "No history of seizures.",
    "He denies chest pain or any bleeding.",
    "There's no evidence of a stroke on the scan.",
    "She had a stroke two years ago.",
    "Has he ever had a seizure?",
    "Watch for signs of anaphylaxis after the first dose.",
    "Blood pressure is one thirty over eighty.",
    "I've got a mild headache and a runny nose.",
    "Stroke was ruled out.",
    # family and hypothetical, through the NLU's assertions (the alert monitor's own
    # negation list, before the NLU was its one matcher, alerted on all three)
    "Her mother died of a cardiac arrest.",
    "Her grandmother had a stroke.",
    "If you notice your lips swelling, use the EpiPen.",
    "Have you ever had a fit",
])
def test_negated_historical_hypothetical_and_benign_do_not_alert(lexical, text):
    assert lexical.detect(text) == []


def test_positive_phrases_that_contain_negation_words():
    assert assertion("She's not breathing", 6, 19).value == "present"
    m = AlertMonitor(options=AlertOptions(semantic=False))
    assert {d.category for d in m.detect("There is no pulse")} == {"cardiac_arrest"}


def _event(kind, text, end_s, utt=0):
    return StreamEvent(kind, utt, text, text, end_s - 2.0, end_s, end_s + 0.3, 0.3)


def test_deduplication_across_partials_finals_and_repeats(lexical):
    lexical = AlertMonitor(options=AlertOptions(semantic=False, dedup_window_s=30.0))
    assert len(lexical.process(_event("partial", "He's seizing", 10.0))) == 1
    assert lexical.process(_event("partial", "He's seizing, time it", 10.5)) == []
    assert lexical.process(_event("final", "He's seizing, time the seizure.", 11.0)) == []
    assert lexical.process(_event("final", "Still seizing", 30.0, utt=1)) == []
    again = lexical.process(_event("final", "He's seizing again", 45.0, utt=2))
    assert [a.category for a in again] == ["seizure"]
    alert = again[0]
    assert alert.audio_end_s == 45.0 and alert.emitted_s == pytest.approx(45.3)
    assert alert.latency_s == pytest.approx(0.3) and alert.source == "final"


def test_partials_can_be_ignored():
    m = AlertMonitor(options=AlertOptions(semantic=False, fire_on_partials=False))
    assert m.process(_event("partial", "cardiac arrest", 5.0)) == []
    assert len(m.process(_event("final", "cardiac arrest", 5.0))) == 1


def test_custom_categories_from_toml_and_json(tmp_path):
    toml = tmp_path / "cats.toml"
    toml.write_text('[sepsis]\nphrases = ["septic", "sepsis six"]\n'
                    'patterns = ["lactate (?:of |is )?[4-9]"]\n'
                    'examples = ["I think he is septic"]\n')
    cats = load_categories(toml)
    m = AlertMonitor(builtin_categories() + cats, AlertOptions(semantic=False))
    assert {d.category for d in m.detect("Lactate is 6, start the sepsis six")} == {"sepsis"}
    assert m.detect("No sign of sepsis") == []
    js = tmp_path / "cats.json"
    js.write_text(json.dumps({"fall": {"phrases": ["fell from a ladder"]}}))
    assert load_categories(js)[0].name == "fall"


def test_categories_by_code_use_the_nlu_entities(tmp_path):
    """A problem the NLU codes under a category's ICD-10-CM prefix alerts, asserted now
    only; user categories may list codes."""
    m = AlertMonitor(options=AlertOptions(semantic=False))
    dets = m.detect("The CT shows a cerebral infarction")
    assert [(d.category, d.method) for d in dets] == [("stroke", "entity")]
    assert m.detect("No evidence of cerebral infarction") == []
    p = tmp_path / "cats.toml"
    p.write_text('[pe]\ncodes = ["I26"]\n')
    pe = AlertMonitor(load_categories(p), AlertOptions(semantic=False))
    assert {d.category for d in pe.detect("CT confirms a pulmonary embolism")} == {"pe"}
    assert pe.detect("A pulmonary embolism was ruled out") == []
    p.write_text('[pe]\ncodes = ["pulmonary"]\n')
    with pytest.raises(InputError, match="not an ICD-10-CM code"):
        load_categories(p)


@pytest.mark.parametrize("content, message", [
    ("[sepsis]\nphrases = 'septic'\n", "must be a list"),
    ("[Sepsis]\nphrases = ['x']\n", "lower_snake_case"),
    ("[sepsis]\nwords = ['x']\n", "unknown field"),
    ("[sepsis]\npatterns = ['(unclosed']\n", "invalid pattern"),
    ("[sepsis\n", "not valid TOML"),
    ("[sepsis]\n", "no phrases, patterns, examples or codes"),
])
def test_malformed_category_files(tmp_path, content, message):
    p = tmp_path / "bad.toml"
    p.write_text(content)
    with pytest.raises(InputError, match=message):
        load_categories(p)


def test_semantic_layer_is_lazy_and_torch_free():
    import subprocess
    import sys

    m = AlertMonitor(options=AlertOptions(semantic=True, semantic_threshold=0.6))
    assert m._examples is not None and m._examples.shape[1] == 384
    # torch-free, checked in a fresh interpreter (this test session imports torch in
    # tests/train, so this process's sys.modules depended on the order of the tests)
    code = ("import sys; from clinivox.alerts import AlertMonitor, AlertOptions; "
            "m = AlertMonitor(options=AlertOptions(semantic=True)); "
            "m.detect('she has collapsed'); assert 'torch' not in sys.modules, 'torch'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    # A paraphrase with no lexicon pattern, matched by meaning alone.
    dets = m.detect("I think she is having a heart attack and has collapsed completely")
    assert all(d.method in ("semantic", "lexicon") for d in dets)


def test_minilm_embeddings_rank_paraphrases_above_unrelated():
    from clinivox.nlp.embeddings import default_encoder

    v = default_encoder().encode(["He has gone into cardiac arrest", "His heart has stopped",
                                  "I like the weather today"])
    assert abs(float((v**2).sum(1)[0]) - 1.0) < 1e-4
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]


def test_minilm_cache_returns_the_uncached_embeddings_and_stays_bounded():
    from clinivox.nlp.embeddings import SentenceEncoder

    enc = SentenceEncoder(cache_size=3)
    texts = ["chest pain radiating to the left arm", "he stopped breathing", "call the team"]
    fresh = enc._forward(texts)
    first = enc.encode(texts[:2])
    again = enc.encode([texts[1], texts[2], texts[1]])  # one cached, one new, one repeated
    np.testing.assert_allclose(first, fresh[:2], atol=1e-5)
    np.testing.assert_allclose(again, fresh[[1, 2, 1]], atol=1e-5)
    again[0] = 0.0  # callers own what they get back
    np.testing.assert_allclose(enc.encode([texts[1]])[0], fresh[1], atol=1e-5)
    enc.encode(["a fourth clause", "a fifth clause"])
    assert len(enc._cache) == 3
    assert not any(isinstance(k, str) for k in enc._cache)  # no transcript text kept


_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _spoken(n: int, shorthand: bool) -> str:
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    low = " ".join(w for w in (_TENS[tens], _UNITS[units]) if w) if rest >= 20 else \
        ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"][rest]
    if not hundreds:
        return low
    if shorthand and rest >= 10:
        return f"{_UNITS[hundreds]} {low}"
    return f"{_UNITS[hundreds]} hundred" + (f" and {low}" if low else "")


def test_spoken_blood_pressure_numbers_parse():
    from hypothesis import given
    from hypothesis import strategies as st

    from clinivox.alerts.categories import _number

    @given(st.integers(1, 299), st.booleans())
    def check(n, shorthand):
        assert _number(_spoken(n, shorthand)) == n

    check()
