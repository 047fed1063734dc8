"""The medical layer: sound keys, term spotting, the domain LM, biasing and correction.

Biasing is checked on sentences the Piper voice speaks here, with drug names that do not
occur in the evaluation dev sets, so nothing is tuned to them."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import pytest

from clinivox.asr.engine import ChunkSegment
from clinivox.biasing import BiasProfile, ChunkRewrites, MedicalBiaser, Rewrite
from clinivox.biasing.proposals import merge_segments, propose, respell_proposal
from clinivox.biasing.reselect import reselect
from clinivox.biasing.retrieval import COMMON_SPAN_MIN_SIMILARITY
from clinivox.biasing.scoring import score_packed, score_stretch
from clinivox.biasing.screen import (
    SCREEN_CLINICAL,
    SCREEN_CLINICAL_SIMILARITY,
    screen_forms,
    spread,
)
from clinivox.errors import InputError
from clinivox.eval.metrics import term_recall
from clinivox.eval.tuning import UttRecord, grid_search, parse_grid, score
from clinivox.medical.lexicon import (
    Lexicon,
    LexiconEntry,
    build_lexicon,
    everyday_clinical_names,
)
from clinivox.medical.lm import (
    LMError,
    NGramLM,
    classed_tokens,
    domain_terms,
    format_prompt,
    tokenize,
    train_kneser_ney,
)
from clinivox.medical.phonetics import Phonemizer, reduce_ipa, spelling_key
from clinivox.medical.terms import (
    MAX_SPAN_WORDS,
    RARE_RANK_OFFSET,
    TermIndex,
    TermMatcher,
    preferred_spelling,
    skeleton,
)
from clinivox.testing.synth import synthesize


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return build_lexicon()


@pytest.fixture(scope="module")
def phonemizer() -> Phonemizer:
    return Phonemizer()


# -- sound keys --------------------------------------------------------------------------------
def test_sound_keys_bring_misrecognitions_close(phonemizer):
    from rapidfuzz.distance import Levenshtein

    def sim(a: str, b: str) -> float:
        return Levenshtein.normalized_similarity(skeleton(phonemizer.key(a)),
                                                 skeleton(phonemizer.key(b)))

    assert phonemizer.backend == "espeak-ng"
    assert sim("metformin", "met for men") > 0.85
    assert sim("venetoclax", "venice clacks") > 0.8
    assert sim("apixaban", "the picks up in") > 0.75
    assert sim("metformin", "the weather today") < 0.5
    assert reduce_ipa("ˈæpɪksəbæn") == "apiks@ban"
    assert spelling_key("phenytoin") == spelling_key("fenytoin")


# -- term spotting ---------------------------------------------------------------------------
def test_term_matcher_finds_terms_with_codes(lexicon):
    m = TermMatcher(lexicon, frozenset({"today"}))
    hits = m.find("Started on Eliquis and metformin for type 2 diabetes mellitus; chest pain.")
    found = {h.term.lower(): h.entry for h in hits}
    assert found["eliquis"].code == "apixaban" and found["eliquis"].category == "drug"
    assert found["type 2 diabetes mellitus"].code == "E11"
    assert found["chest pain"].category == "symptom"
    assert "type 2" not in found  # longest match wins


def test_drug_classes_and_common_names_of_conditions_are_coded(lexicon):
    """What clinicians say that the package sources do not list: drug classes ("have you
    used steroids?") and common names of conditions ("heart attack", "septic arthritis"),
    each with its class or a valid ICD-10-CM code, found even where the form is an
    everyday word (the matcher drops such forms only for brand names and ICD titles)."""
    import simple_icd_10_cm as cm

    from clinivox.medical.vocab_data import COMMON_DIAGNOSES, DRUG_CLASSES

    assert all(cm.is_valid_item(code) for _, code in COMMON_DIAGNOSES)
    m = TermMatcher(lexicon, frozenset({"steroids", "steroid", "heart", "attack", "flu"}))
    found = {h.term.lower(): h.entry for h in m.find(
        "Have you used steroids or a steroid cream? He had a heart attack and septic "
        "arthritis last year, then the flu, and now takes blood thinners.")}
    assert found["steroids"].category == "drug" and found["steroids"].code == "corticosteroids"
    assert found["steroid cream"].code == "corticosteroids"
    assert found["blood thinners"].code == "anticoagulants"
    assert found["heart attack"].code == "I21.9" and found["heart attack"].category == "diagnosis"
    assert found["septic arthritis"].code == "M00.9"
    assert found["septic arthritis"].canonical == "Pyogenic arthritis, unspecified"
    assert "flu" not in found  # an everyday word coded to a title that names it otherwise
    coded = {(e.term, e.code) for e in lexicon.entries if e.category == "drug"}
    assert all((name.partition("|")[0], c) in coded
               for c, names in DRUG_CLASSES.items() for name in names)
    # a plural is the same term: "steroid creams" said, "steroid cream" written
    assert found["steroids"].canonical == "steroid"
    assert m.find("steroid creams")[0].entry.canonical == "steroid cream"


def test_the_matcher_reads_regular_plurals_as_their_term(lexicon):
    """The lexicon lists names in the singular; "headaches" and "blurred visions" are the
    same terms (a re-decode that writes "a pair of headaches" brings in a term)."""
    m = TermMatcher(lexicon, frozenset({"headache", "pair", "of"}))
    found = {h.term.lower(): h.entry for h in m.find(
        "A pair of headaches, seizures and blurred visions; two NSTEMIs.")}
    assert found["headaches"].canonical.lower().startswith("headache")
    assert "seizures" in found
    assert found["blurred visions"].canonical == "blurred vision"
    assert "nstemis" not in found  # not an abbreviation's plural
    assert m.find("a pair of wedding dresses") == []


def test_index_retrieves_by_sound_across_the_whole_lexicon(lexicon, phonemizer):
    index = TermIndex(lexicon, phonemizer=phonemizer)
    assert len(index) > 50_000
    hits = index.lookup(["venice clacks", "poly hydro amnios", "quick brown fox"],
                        min_similarity=0.68, per_span=5)
    assert "venetoclax" in [c.form for c in hits[0]]
    assert "polyhydramnios" in [c.form for c in hits[1]]
    assert hits[2] == [] or all(c.similarity < 0.85 for c in hits[2])


def test_variant_spellings_are_written_as_the_ingredient_name():
    def drug(term: str) -> LexiconEntry:
        return LexiconEntry(term, "idarubicin", "drug", "idarubicin")

    assert preferred_spelling("idarubicine", drug("idarubicine")) == "idarubicin"
    assert preferred_spelling("idarubicina", drug("idarubicina")) == "idarubicin"
    assert preferred_spelling("idamycin", drug("idamycin")) == "idamycin"  # a brand
    salt = "idarubicin hydrochloride"
    assert preferred_spelling(salt, drug(salt)) == salt
    # a plural is not a variant spelling to undo
    cls = LexiconEntry("antihistamine", "antihistamine", "drug", "histamine antagonists")
    assert preferred_spelling("antihistamines", cls) == "antihistamines"
    diag = LexiconEntry("diabetes mellitus", "diabetes melitus", "diagnosis", "E14")
    assert preferred_spelling("diabetes mellitus", diag) == "diabetes mellitus"
    # a variant that wins rescoring is written as the ingredient name in the transcript
    rw = Rewrite(0, 1, 3, "idarubicine", drug("idarubicine"), 0.9, d_am=5.0)
    cr = ChunkRewrites([["treated", "ida", "rubicine", "today."]], [rw])
    assert cr.texts(cr.decide(BiasProfile(gate_logprob=0.0))) == ["treated idarubicin today."]


def test_variants_that_sound_like_the_ingredient_are_written_as_it(phonemizer):
    def drug(term: str, canonical: str) -> LexiconEntry:
        return LexiconEntry(term, canonical, "drug", canonical)

    key = phonemizer.key
    # too far apart in spelling for the spelling rule, the same word when spoken
    assert preferred_spelling("cephadroxyl", drug("cephadroxyl", "cefadroxil")) == "cephadroxyl"
    assert preferred_spelling("cephadroxyl", drug("cephadroxyl", "cefadroxil"), key) \
        == "cefadroxil"
    # a brand is a different word: it keeps its form
    assert preferred_spelling("cefotan", drug("cefotan", "cefotetan"), key) == "cefotan"


def test_variant_spellings_already_in_the_text_are_respelt(phonemizer):
    from clinivox.biasing import MedicalBiaser

    lex = Lexicon([LexiconEntry("hydromorphone", "hydromorphone", "drug", "hydromorphone",
                                variants=("hydromorphon",)),
                   LexiconEntry("dilaudid", "hydromorphone", "drug", "hydromorphone")])
    biaser = MedicalBiaser(lex)
    text, fixed = biaser.respell("Allergic to Hydromorphon, and Dilaudid too.")
    assert text == "Allergic to Hydromorphone, and Dilaudid too."
    assert [(c.original, c.replacement, c.code) for c in fixed] == \
        [("Hydromorphon", "hydromorphone", "hydromorphone")]
    assert biaser.respell("Nothing to change here.") == ("Nothing to change here.", [])


def test_key_cache_is_written_and_reused(tmp_path):
    phonemizer = Phonemizer()  # its own: the cache below teaches it a false key
    lex = Lexicon([LexiconEntry("rivaroxaban", "rivaroxaban", "drug", "rivaroxaban")])
    cache = tmp_path / "keys.json.gz"
    TermIndex(lex, phonemizer=phonemizer, key_cache=cache)
    with gzip.open(cache, "rt") as f:
        keys = json.load(f)
    assert keys["rivaroxaban"] == phonemizer.key("rivaroxaban")
    keys["rivaroxaban"] = "zzzzzz"  # a cached key is used as is
    with gzip.open(cache, "wt") as f:
        json.dump(keys, f)
    assert TermIndex(lex, phonemizer=phonemizer, key_cache=cache).keys == ["zzzzzz"]
    # and the phonemizer takes it too: spans are keyed as the forms were
    assert phonemizer.key("rivaroxaban twice") == "zzzzzz" + phonemizer.key("twice")


# -- language model --------------------------------------------------------------------------
def test_kneser_ney_is_normalised_and_roundtrips_arpa(tmp_path):
    sents = [tokenize(s) for s in ["started on <drug> five milligrams",
                                   "she was started on <drug> today", "history of <diagnosis>",
                                   "the pain started today", "i have pain in my chest"]]
    lm = train_kneser_ney(sents * 2, order=3)
    vocab = [ng[0] for ng in lm.probs if len(ng) == 1 and ng[0] != "<s>"]
    for ctx in [("started", "on"), ("of",), ("never", "seen"), ()]:
        total = sum(10 ** lm._word_log10(ctx, w) for w in vocab)
        assert math.isclose(total, 1.0, rel_tol=1e-6), ctx
    assert lm.score_text("started on <drug> today") > lm.score_text("started on the picks up")
    path = tmp_path / "lm.arpa.gz"
    lm.save_arpa(path)
    again = NGramLM.load_arpa(path)
    assert math.isclose(again.score_text("history of <diagnosis>"),
                        lm.score_text("history of <diagnosis>"), rel_tol=1e-4)


def test_malformed_arpa_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\nnot-a-number hello\n")
    with pytest.raises(LMError, match=r"bad\.arpa"):
        NGramLM.load_arpa(bad)
    with pytest.raises(LMError, match="not found"):
        NGramLM.load_arpa(tmp_path / "missing.arpa")


def test_class_tokens_replace_drugs_and_diagnoses(lexicon):
    m = TermMatcher(lexicon)
    assert classed_tokens("started on apixaban for essential hypertension", m) == \
        ["started", "on", "<drug>", "for", "<diagnosis>"]


# -- decisions and tuning ------------------------------------------------------------------------
def _rewrite(form: str, a: int, b: int, d_am: float, span_lp: float = -1.0,
             rare: bool = False) -> Rewrite:
    e = LexiconEntry(form, form, "drug", form, rare=rare)
    return Rewrite(0, a, b, form, e, 0.8, d_am=d_am, span_logprob=span_lp)


def test_decisions_follow_the_weights_and_the_confidence_gate():
    cr = ChunkRewrites([["started", "on", "the", "picks", "up", "in", "today."]],
                       [_rewrite("apixaban", 2, 6, -3.0), _rewrite("pixantrone", 3, 5, -6.0),
                        _rewrite("tody", 6, 7, -1.0, span_lp=-0.01)])
    low = BiasProfile(bias=2.0)
    high = BiasProfile(bias=5.0)
    assert cr.texts(cr.decide(low)) == ["started on the picks up in today."]
    kept = cr.decide(high)
    assert [r.form for r in kept] == ["apixaban"]  # overlapping weaker rewrite dropped
    assert cr.texts(kept) == ["started on apixaban today."]  # punctuation kept
    # "today." was heard clearly (gate), so it is never rewritten however high the bias
    assert all(r.form != "tody" for r in cr.decide(BiasProfile(bias=50.0)))


def test_rare_drugs_need_more_evidence():
    # Whisper prefers the rare sound-alike by 1.5 nats: without the prior it wins
    cr = ChunkRewrites([["taking", "carpropamide", "daily"]],
                       [_rewrite("chlorpropamide", 1, 2, -2.0),
                        _rewrite("carpropamide", 1, 2, -0.5, rare=True)])
    assert [r.form for r in cr.decide(BiasProfile(bias=3.0))] == ["carpropamide"]
    assert [r.form for r in cr.decide(BiasProfile(bias=3.0, rare_penalty=4.0))] \
        == ["chlorpropamide"]


def test_retrieval_ranks_a_rare_drug_below_an_equally_close_common_one(phonemizer):
    lex = Lexicon([LexiconEntry("carpropamide", "carpropamide", "drug", rare=True),
                   LexiconEntry("chlorpropamide", "chlorpropamide", "drug")])
    index = TermIndex(lex, phonemizer=phonemizer)
    sim = {c.form: c.similarity for c in index.lookup(["color propamide"],
                                                       min_similarity=0.5, per_span=2)[0]}
    # the rare fungicide sounds a little closer, by less than the offset
    assert 0 < sim["carpropamide"] - sim["chlorpropamide"] < RARE_RANK_OFFSET
    first = index.lookup(["color propamide"], min_similarity=0.5, per_span=1)[0]
    assert [c.form for c in first] == ["chlorpropamide"]


def test_closest_common_lists_one_form_per_common_drug_however_far(phonemizer):
    """The acoustic screen's short list: the k closest drug forms that are not rare, one
    spelling per drug, down to a low floor (a garbled name is only loosely like the drug)."""
    lex = Lexicon([LexiconEntry("vardenafil", "vardenafil", "drug"),
                   LexiconEntry("vardenafilum", "vardenafil", "drug"),
                   LexiconEntry("levitra", "vardenafil", "drug"),
                   LexiconEntry("perindopril", "perindopril", "drug"),
                   LexiconEntry("vardenafilox", "vardenafilox", "drug", rare=True),
                   LexiconEntry("arterial disease", "arterial disease", "diagnosis")])
    index = TermIndex(lex, phonemizer=phonemizer)
    far = index.lookup(["of art and apple"], min_similarity=0.68, per_span=4)[0]
    assert "vardenafil" not in [c.form for c in far]  # too far for the sound lookup
    got = index.closest_common(["of art and apple"], k=2, min_similarity=0.4)[0]
    assert [c.entry.canonical for c in got] == ["vardenafil", "perindopril"]
    assert got[0].form == "vardenafil" and got[0].similarity >= got[1].similarity
    assert all(not c.entry.rare and c.entry.category == "drug" for c in got)
    assert index.closest_common(["of art and apple"], k=5, min_similarity=0.95) == [[]]
    assert index.closest_common(["a"], k=5, min_similarity=0.0) == [[]]  # too short a key


def test_the_screen_offers_clinical_names_beside_the_drugs_not_in_their_place(phonemizer):
    """Everyday-worded clinical names ("steroids") are never looked up by sound (ordinary
    speech would be rewritten into them) but the screen offers the closest of them for
    Whisper to score, after the drugs and without taking a drug's slot."""
    lex = Lexicon([LexiconEntry("steroids", "steroid", "drug", code="corticosteroids"),
                   LexiconEntry("stereos", "stereos", "drug"),  # not a clinical name
                   LexiconEntry("sertraline", "sertraline", "drug"),
                   LexiconEntry("serevent", "salmeterol", "drug"),
                   LexiconEntry("tinnitus", "tinnitus", "symptom")])
    common = frozenset({"steroids", "stereos", "series"})
    names = everyday_clinical_names()
    assert {"steroids", "headache", "tinnitus", "septic arthritis"} <= names
    index = TermIndex(lex, phonemizer=phonemizer, common_words=common, screen_names=names)
    assert len(index) == 3  # sertraline, serevent, tinnitus: everyday forms are not looked up
    assert all(c.form != "steroids" for c in
               index.lookup(["series"], min_similarity=0.3, per_span=5)[0])
    drugs_only = index.closest_common(["series"], k=2, min_similarity=0.3)[0]
    assert {c.form for c in drugs_only} == {"serevent", "sertraline"}  # not "stereos"
    got = index.closest_common(["series"], k=2, min_similarity=0.3, k_clinical=1,
                               clinical_similarity=0.6)[0]
    assert [c.form for c in got[:2]] == [c.form for c in drugs_only]  # the drugs first
    assert [c.form for c in got[2:]] == ["steroids"]
    # a clinical name is offered only that close
    assert index.closest_common(["series"], k=2, min_similarity=0.3, k_clinical=1,
                                clinical_similarity=0.95)[0] == drugs_only


def test_two_segments_cutting_a_term_become_one_with_their_rewrites():
    """Whisper's segment boundary fell inside "septic arthritis" ("...excuse me, set the
    car" | "through to us."): a proposal over the boundary merges the two segments, and the
    rewrites already found and the confidences kept per segment follow their words."""
    result = types.SimpleNamespace(segments=[
        ChunkSegment(0.0, 2.5, " Something called, set the car", [1, 2, 3]),
        ChunkSegment(2.5, 3.4, " through to us.", [4, 5]),
        ChunkSegment(3.6, 6.0, " So we worry about the joint.", [6])])
    words = [seg.text.split() for seg in result.segments]
    in_second = Rewrite(1, 0, 2, "tritace", LexiconEntry("tritace", "ramipril", "drug"), 0.7)
    in_third = Rewrite(2, 4, 5, "jointum", LexiconEntry("jointum", "jointum", "drug"), 0.7)
    in_first = Rewrite(0, 1, 2, "kalid", LexiconEntry("kalid", "kalid", "drug"), 0.7)
    cr = ChunkRewrites(words, [in_first, in_second, in_third])
    ctx = MedicalBiaser(Lexicon()).context(None, None, 0, result, None)
    ctx.conf = {0: "first", 1: "second", 2: "third"}
    merge_segments(ctx, cr, 0)
    assert [seg.text for seg in result.segments] == [
        " Something called, set the car through to us.", " So we worry about the joint."]
    merged = result.segments[0]
    assert (merged.start_s, merged.end_s, merged.tokens) == (0.0, 3.4, [1, 2, 3, 4, 5])
    assert cr.words == [["Something", "called,", "set", "the", "car", "through", "to", "us."],
                        ["So", "we", "worry", "about", "the", "joint."]]
    assert (in_first.seg, in_first.a, in_first.b) == (0, 1, 2)
    assert (in_second.seg, in_second.a, in_second.b) == (0, 5, 7)
    assert cr.words[0][in_second.a:in_second.b] == ["through", "to"]
    assert (in_third.seg, in_third.a, in_third.b) == (1, 4, 5)
    assert ctx.conf == {1: "third"}  # the merged segment's is read again


def test_a_plural_term_after_an_article_takes_the_article_in(biaser):
    """ "I have tried uh antihistamines" came out "tried a handy system means": "a" before
    a plural is a filler Whisper wrote as an article, and the span with it is a candidate."""
    assert biaser.knowledge.plural("antihistamines") and biaser.knowledge.plural("Steroids")
    assert not biaser.knowledge.plural("tinnitus") and not biaser.knowledge.plural("diabetes")
    assert not biaser.knowledge.plural("antihistamine")


def test_length_weight_charges_per_word_collapsed():
    # "like if I lean" -> one drug name: the class LM would reward losing three words
    collapse = _rewrite("glycafilin", 0, 4, -1.0)
    respell = _rewrite("apixaban", 4, 5, -1.0)
    assert (collapse.d_len, respell.d_len) == (-3, 0)
    cr = ChunkRewrites([["like", "if", "I", "lean", "apixiban"]], [collapse, respell])
    assert {r.form for r in cr.decide(BiasProfile(bias=3.0))} == {"glycafilin", "apixaban"}
    assert [r.form for r in cr.decide(BiasProfile(bias=3.0, length_weight=1.0))] \
        == ["apixaban"]


def test_grid_search_picks_the_weights_that_lower_wer():
    cr = ChunkRewrites([["started", "on", "the", "picks", "up", "in"]],
                       [_rewrite("apixaban", 2, 6, -3.0)])
    rec = UttRecord("started on apixaban", ["apixaban"], "en", [cr])
    assert score([rec], BiasProfile(bias=1.0)).term_recall == 0.0
    best, best_score, table = grid_search([rec], BiasProfile(), {"bias": (1.0, 2.0, 4.0)})
    assert best.bias == 4.0 and best_score.wer == 0.0 and len(table) == 3


def test_verifier_learns_which_rewrites_are_right_and_decide_skips_the_others(tmp_path):
    """The verifier is fit on rewrites labelled by the reference; a rewrite it rejects
    leaves its span to the next candidate, which may be the right one."""
    import numpy as np

    from clinivox.biasing.verifier import FEATURES, Verifier, features, fit, load_verifier

    def rw(form, sim, rare, d_am=-1.0):
        e = LexiconEntry(form, form, "drug", form, rare=rare)
        return Rewrite(0, 1, 2, form, e, sim, d_am=d_am, span_logprob=-1.0)

    p = BiasProfile(bias=4.0, min_score=0.0)
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for _ in range(300):  # right when the form sounds like the words and is no rare drug
        sim, rare = float(rng.uniform(0.6, 1.0)), bool(rng.random() < 0.3)
        rows.append(features(rw("x", sim, rare, float(rng.normal(-1, 1))), p))
        labels.append(float(sim > 0.8 and not rare))
    v = fit(np.asarray(rows), np.asarray(labels), l2=1.0, threshold=0.5)
    assert v.probability(rw("x", 0.95, False), p) > 0.8
    assert v.probability(rw("x", 0.95, True), p) < 0.2
    assert v.probability(rw("x", 0.65, False), p) < 0.2
    # the rare sound-alike wins on gain; rejected, it leaves the span to the common drug
    cr = ChunkRewrites([["takes", "carpropamide", "daily"]],
                       [rw("carpropamide", 0.9, True, d_am=0.0),
                        rw("chlorpropamide", 0.9, False, d_am=-1.0)])
    assert [r.form for r in cr.decide(p)] == ["carpropamide"]
    assert [r.form for r in cr.decide(p, v)] == ["chlorpropamide"]
    # saved and named in a profile, it is what decide uses
    path = tmp_path / "v.json"
    v.save(path, rows=3)
    assert Verifier.load(path) == v and Verifier.load(path).meta["rows"] == 3
    assert [r.form for r in cr.decide(BiasProfile(bias=4.0, verifier=str(path)))] \
        == ["chlorpropamide"]
    # damaged, for other features, or missing: clear errors
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(InputError, match="cannot read rewrite verifier"):
        Verifier.load(bad)
    d = json.loads(path.read_text())
    d["names"] = list(FEATURES[:-1])
    bad.write_text(json.dumps(d))
    with pytest.raises(InputError, match="other features"):
        Verifier.load(bad)
    with pytest.raises(InputError, match="rewrite verifier not found"):
        load_verifier(str(tmp_path / "nosuch.json"))
    with pytest.raises(InputError, match="too few rewrites"):
        fit(np.asarray(rows[:5]), np.asarray(labels[:5]))
    # a profile's threshold overrides the verifier's own; 0 lets every rewrite through
    assert [r.form for r in cr.decide(BiasProfile(bias=4.0, verifier=str(path),
                                                  verifier_threshold=0.0))] == ["carpropamide"]
    for bad_t in (1.5, -0.1, "0.5", True):
        bad.write_text(json.dumps({"weights": {"verifier_threshold": bad_t}}))
        with pytest.raises(InputError, match="verifier_threshold must be a number"):
            BiasProfile.load(bad)
    # the clinical models' profile names the shipped verifier, for these features
    from clinivox.biasing.profile import CLINICAL_PROFILE

    shipped = load_verifier(BiasProfile.load(CLINICAL_PROFILE).verifier)
    assert shipped.names == FEATURES and 0 < shipped.threshold < 1


def test_fit_verifier_chooses_its_threshold_out_of_fold(lexicon):
    """`tune --verifier`: trained on replayed records, its threshold chosen on held-out
    blocks; here the right rewrites sound like the words and the wrong ones are rare drugs
    written over ordinary speech, so it keeps the first and drops the second."""
    from clinivox.eval.tuning import fit_verifier

    def rw(form, sim, rare):
        e = LexiconEntry(form, form, "drug", form, rare=rare)
        return Rewrite(0, 1, 3, form, e, sim, d_am=-1.0, span_logprob=-1.0)

    records = []
    for i in range(40):
        if i % 2 == 0:  # "started on a pick saban" -> apixaban: right
            cr = ChunkRewrites([["started", "pick", "saban", "today"]],
                               [rw("apixaban", 0.85 + 0.003 * i, False)])
            records.append(UttRecord("started apixaban today", ["apixaban"], "en", [cr]))
        else:  # "she picks up today" -> a rare drug: wrong
            cr = ChunkRewrites([["she", "picks", "up", "today"]],
                               [rw("pixantrone", 0.70 + 0.003 * i, True)])
            records.append(UttRecord("she picks up today", [], "en", [cr]))
    matcher = TermMatcher(lexicon)
    p = BiasProfile(bias=4.0, min_score=0.0)
    v, report = fit_verifier(records, p, matcher, insertion_cost=3.0, folds=4)
    assert report["rewrites"] == 40 and report["right"] == 20
    assert score(records, p, matcher).inserted_terms == 20
    checked = score(records, p, matcher, v)
    assert checked.inserted_terms == 0 and checked.term_recall == 1.0
    chosen = report["cross_validated"][str(report["threshold"])]
    assert chosen["inserted_terms"] == 0


def test_grid_search_weighs_an_inserted_term_above_the_word_errors_it_saves(lexicon):
    """Plain WER trades a wrong drug written into one record for a right one in another
    that saves more words; with an insertion cost the tuner keeps the bias low."""
    right = ChunkRewrites([["started", "on", "the", "pick", "say", "bun"]],
                          [_rewrite("apixaban", 2, 6, -3.5)])  # needs bias > 3.5
    wrong = ChunkRewrites([["she", "picks", "up", "today"]],
                          [_rewrite("apixaban", 1, 3, -2.5)])  # needs bias > 2.5
    records = [UttRecord("started on apixaban", ["apixaban"], "en", [right]),
               UttRecord("she picks up today", [], "en", [wrong])]
    matcher = TermMatcher(lexicon)
    grid = {"bias": (1.0, 4.0)}
    wer_best, wer_score, _ = grid_search(records, BiasProfile(min_score=0.0), grid,
                                         matcher=matcher)
    assert wer_best.bias == 4.0 and wer_score.errors == 2 and wer_score.inserted_terms == 1
    safe, safe_score, table = grid_search(records, BiasProfile(min_score=0.0), grid,
                                          matcher=matcher, insertion_cost=3.0)
    assert safe.bias == 1.0 and safe_score.errors == 4 and safe_score.inserted_terms == 0
    assert {p.bias: s.inserted_terms for p, s in table} == {1.0: 0, 4.0: 1}
    # only the weights a replay can change are tunable; an unknown one is a clear error
    with pytest.raises(InputError, match="cannot tune min_similarity by replay"):
        grid_search(records, BiasProfile(), {"min_similarity": (0.6, 0.7)})
    with pytest.raises(InputError, match="NAME=V1,V2"):
        parse_grid(["per_span=2,4"])
    assert parse_grid(["min_score=0,6"])["min_score"] == (0.0, 6.0)
    assert parse_grid(["bias=2"])["bias"] == (2.0,)


# -- end to end on synthesised speech (the `biaser` fixture is in conftest.py) ----------------


def _transcribe(recognizer, biaser, audio) -> tuple[str, list]:
    segments = list(recognizer.transcribe(audio, biaser=biaser)[0])
    return " ".join(s.text for s in segments), [c for s in segments for c in s.corrections]


# drugs that the dev sets do not contain
HELD_OUT = [("We will add spironolactone for the heart failure.", "spironolactone"),
            ("She takes clopidogrel every morning.", "clopidogrel"),
            ("The patient was started on rivaroxaban after the scan.", "rivaroxaban"),
            ("Continue levetiracetam twice daily for the seizures.", "levetiracetam")]


def test_biasing_recovers_unseen_drug_names(recognizer, biaser):
    plain_found = biased_found = 0
    for sentence, drug in HELD_OUT:
        audio = synthesize(sentence)
        plain = " ".join(s.text for s in recognizer.transcribe(audio)[0])
        biased, corrections = _transcribe(recognizer, biaser, audio)
        plain_found += term_recall([drug], plain)[0]
        biased_found += term_recall([drug], biased)[0]
        for c in corrections:
            assert c.replacement.lower() in biased.lower() and c.score > 0
            assert c.original and c.category in ("drug", "diagnosis", "symptom", "procedure",
                                                 "anatomy", "lab", "abbreviation", "user")
    assert biased_found >= plain_found + 2, (plain_found, biased_found)


def test_min_score_keeps_only_corrections_above_it(recognizer, biaser):
    """`--min-score`: a correction is applied only when its gain exceeds the minimum; the
    gains of the corrections made at the default bound which ones survive a higher one."""
    from dataclasses import replace

    audio = synthesize(HELD_OUT[0][0])
    _, corrections = _transcribe(recognizer, biaser, audio)
    scored = [c for c in corrections if c.score > 0]
    assert scored
    top = max(c.score for c in scored)
    strict = biaser.with_profile(replace(biaser.profile, min_score=top + 1.0))
    _, none = _transcribe(recognizer, strict, audio)
    assert [c for c in none if c.score > 0] == []
    mid = biaser.with_profile(replace(biaser.profile, min_score=top - 1e-3))
    _, kept = _transcribe(recognizer, mid, audio)
    assert all(c.score > top - 1e-3 for c in kept if c.score > 0)
    assert any(c.score > 0 for c in kept)


def test_corrections_carry_the_verifiers_probability(recognizer, biaser):
    """With a verifier, each correction says how likely it found the term to be right (for
    the reviewer: JSON `verified`, the scribe's review marker); without one, no such key."""
    from dataclasses import replace

    from clinivox.scribe.report import _review

    audio = synthesize(HELD_OUT[0][0])
    _, plain_fixes = _transcribe(recognizer, biaser, audio)
    assert plain_fixes and all("verified" not in c.to_dict() for c in plain_fixes)
    checked = biaser.with_profile(replace(biaser.profile, verifier="clinical",
                                          verifier_threshold=0.0))
    _, fixes = _transcribe(recognizer, checked, audio)
    scored = [c for c in fixes if c.score > 0]
    assert scored and all(0.0 <= c.verified <= 1.0 for c in scored)
    assert all(c.to_dict()["verified"] == round(c.verified, 3) for c in scored)
    assert "% likely right" in _review(scored)


@pytest.mark.parametrize("sentence", [
    "The quick brown fox jumps over the lazy dog.",
    "I walked to the station and bought a newspaper.",
    "My brother painted the kitchen blue last summer.",
])
def test_correction_leaves_common_speech_alone(recognizer, biaser, sentence):
    audio = synthesize(sentence)
    plain = " ".join(s.text for s in recognizer.transcribe(audio)[0])
    biased, corrections = _transcribe(recognizer, biaser, audio)
    assert corrections == [] and biased == plain


def test_everyday_and_correctly_spelt_medical_words_are_guarded(biaser):
    """Spans that only a very close sound may rewrite: everyday words (contractions too,
    which Whisper writes as two tokens) and one correctly spelt medical word. On the dev
    conversations these were rewritten into obscure names: "rheumatoid" -> remicade,
    "fevers, um" -> faverin, "I'll lately" -> nulytely."""
    from clinivox.medical.terms import is_everyday

    common = biaser.index.common_words
    for word in ("i'll", "it's", "don't", "can't", "we're", "the"):
        assert is_everyday(word, common), word
    for word in ("apixiban", "lopramide", "'s"):
        assert not is_everyday(word, common), word
    assert biaser.knowledge.plain_span(["I'm", "Mom."])
    assert biaser.knowledge.plain_span(["rheumatoid"])  # a word of "rheumatoid arthritis"
    assert biaser.knowledge.plain_span(["fevers,", "and"])  # the plural of a lexicon term
    assert biaser.knowledge.plain_span(["coughing"])
    assert not biaser.knowledge.plain_span(["Lopramide"])  # a garbled name stays open to rewrites
    assert not biaser.knowledge.plain_span(["the", "Lopramide"])
    # Whisper spelling out a word it does not know
    assert not biaser.knowledge.plain_span(["ankle-o-sinks", "bond", "lighters,"])
    assert biaser.knowledge.plain_span(["a", "three-day", "course."])


def test_cli_rejects_out_of_range_precision_knobs(tmp_path):
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(wav, synthesize("Started on metformin."), 16000)
    for flag, value, message in (("--min-score", "-1", "--min-score must be >= 0"),
                                 ("--verifier-threshold", "2",
                                  "--verifier-threshold must be between 0 and 1")):
        proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "transcribe",
                               str(wav), "--medical", flag, value],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_transcribe_medical_lists_terms_with_codes(tmp_path):
    import soundfile as sf

    audio = synthesize("Started on metformin for essential hypertension.")
    wav = tmp_path / "dictation.wav"
    sf.write(wav, audio, 16000)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "transcribe", str(wav),
                           "--medical", "--output-dir", str(out), "--output-format", "json",
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "dictation.json").read_text())
    terms = {t["term"].lower(): t for t in doc["terms"]}
    assert terms["metformin"]["category"] == "drug" and terms["metformin"]["code"] == "metformin"
    assert any(t["code"] == "I10" for t in doc["terms"]), doc["text"]


def test_cli_bad_vocabulary_names_the_line(tmp_path):
    vocab = tmp_path / "terms.txt"
    vocab.write_text("apixaban\nrivaroxaban | heavy\n")
    wav = tmp_path / "a.wav"
    import soundfile as sf

    sf.write(wav, synthesize("Hello."), 16000)
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "transcribe", str(wav),
                           "--vocab", str(vocab), "--quiet"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert "terms.txt:2" in proc.stderr and "weight" in proc.stderr


def test_lm_build_leaves_out_the_verbatim_words_of_a_written_style_manifest(tmp_path):
    """Story: `clinivox data synth` writes a consultation line's reference in Whisper's
    written style ("Okay. And any pain?") and keeps the words its voice spoke in `spoken`
    ("OK. Um, and any pain?"). `lm build --exclude-manifest` compared the corpus's lines
    with `text` only, so the held-out consultations' lines stayed in the LM that the
    validation runs used. It now leaves out both forms; a manifest without references (an
    alert stream) excludes nothing instead of failing."""
    corpus = tmp_path / "consultation.txt"
    corpus.write_text("OK. Um, and any pain?\nstarted on apixaban five milligrams\n"
                      "history of asthma\n")
    manifest = tmp_path / "validation.jsonl"
    manifest.write_text(json.dumps({"audio": "a.flac", "text": "Okay. And any pain?",
                                    "spoken": "OK. Um, and any pain?"}) + "\n")
    streams = tmp_path / "streams.jsonl"
    streams.write_text(json.dumps({"audio": "s.wav", "critical": ["chest pain"]}) + "\n")
    out = tmp_path / "lm.arpa.gz"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                           "--corpus", str(corpus), "--out", str(out), "--exclude-manifest",
                           str(manifest), "--exclude-manifest", str(streams)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["excluded_sentences"] == 1 and report["sentences"] == 2
    assert ("um",) not in NGramLM.load_arpa(out).probs
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                           "--corpus", str(corpus), "--out", str(out), "--exclude-manifest",
                           str(bad)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "bad.jsonl:1" in proc.stderr


def test_lm_build_cli(tmp_path):
    corpus = tmp_path / "notes.txt"
    corpus.write_text("started on apixaban five milligrams\nhistory of asthma\n"
                      "they all call me a Yankee, any other questions\n")
    out = tmp_path / "lm.arpa.gz"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                           "--corpus", str(corpus), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lm = NGramLM.load_arpa(out)
    assert ("<drug>",) in lm.probs and ("apixaban",) not in lm.probs
    # The LM was trained with the bare lexicon matcher, which the biaser does not score
    # with: every "all" (ALL, a leukaemia) and "other" (an ICD title's "[other]") became
    # <diagnosis>, so hypotheses with those words were scored as unseen words and
    # <diagnosis> was made as common as "the". Its classes are now the biaser's.
    assert ("all",) in lm.probs and ("other",) in lm.probs
    assert ("call", "me", "a") in lm.probs and ("they", "<diagnosis>", "call") not in lm.probs
    assert json.loads(proc.stdout)["sentences"] == 3
    # the domain prompt beside the LM: here no term is named in two sentences
    prompt = tmp_path / "lm.prompt.txt"
    assert json.loads(proc.stdout)["prompt"] is None and not prompt.exists()
    corpus.write_text("\n".join(PRIMING_CORPUS) + "\n")
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                           "--corpus", str(corpus), "--out", str(out), "--prompt-terms", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert prompt.read_text() == "Headache, antihistamines.\n"
    assert json.loads(proc.stdout)["prompt"] == str(prompt)
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                           "--corpus", str(corpus), "--out", str(out), "--prompt-terms", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and not prompt.exists()  # no stale prompt beside a new LM
    bad = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                          "--corpus", str(corpus), "--out", str(out), "--prompt-terms", "-1"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--prompt-terms" in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lm", "build",
                              "--corpus", str(tmp_path / "nope"), "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "corpus path not found" in missing.stderr


PRIMING_CORPUS = ["I have a headache and some nausea.", "The headache is worse at night.",
                  "Take paracetamol for the headache.", "Any nausea or vomiting?",
                  "I took paracetamol this morning.", "She has asthma.",
                  "My GP said it was fine.", "Call the GP.", "A pain near the heart.",
                  "The heart sounds normal.", "Try an antihistamine.",
                  "Antihistamines did not help.", "Were the antihistamines any good?"]


def test_the_domain_prompt_lists_the_corpus_most_named_clinical_terms(lexicon):
    """Most often named first, once per sentence; a term named once is left out (asthma),
    as are abbreviations (GP) and anatomy (heart); one form per concept (antihistamines,
    not antihistamine as well)."""
    from clinivox.medical.vocabulary import everyday_words

    matcher = TermMatcher(lexicon, everyday_words())
    terms = domain_terms(PRIMING_CORPUS, matcher, max_terms=10)
    assert terms == ["headache", "antihistamines", "nausea", "paracetamol"]
    assert domain_terms(PRIMING_CORPUS, matcher, max_terms=2) == ["headache", "antihistamines"]
    assert domain_terms([], matcher) == []
    assert format_prompt(terms) == "Headache, antihistamines, nausea, paracetamol."
    assert format_prompt([]) == ""


def test_bias_profile_roundtrip_and_errors(tmp_path):
    p = BiasProfile(bias=3.5, lm_weight=0.2, rare_penalty=4.0, reprime=3)
    path = tmp_path / "profile.json"
    p.save(path, dev_wer=0.1)
    assert BiasProfile.load(path) == p
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"weights": {"bogus": 1}}))

    with pytest.raises(InputError, match="bias profile"):
        BiasProfile.load(bad)
    for field_, value in (("n_best", 0), ("score_tail", -1), ("score_tail", 2.5),
                          ("reprime", -1), ("reprime", "3"), ("screen", -2),
                          ("screen_keep", 0), ("screen_words", 1.5), ("propose", -1),
                          ("propose", True), ("fallback_beam", -1), ("fallback_beam", 2.0)):
        bad.write_text(json.dumps({"weights": {field_: value}}))
        with pytest.raises(InputError, match=f"{field_} must be a whole number"):
            BiasProfile.load(bad)
    assert BiasProfile.__module__ == "clinivox.biasing.profile"
    # built-in profiles by name; anything else must be a file
    from clinivox.biasing.profile import BUILTIN_PROFILES, resolve_profile

    assert resolve_profile("fast") == BUILTIN_PROFILES["fast"]
    assert resolve_profile(path) == path
    # the default screens; `fast` does not; `thorough` (the old name) is the default
    assert BiasProfile.load(resolve_profile(None)).screen > 0
    assert BiasProfile.load(resolve_profile("fast")).screen == 0
    # the default proposes from a primed re-decode; `fast` does not
    assert BiasProfile.load(resolve_profile(None)).propose > 0
    assert BiasProfile.load(resolve_profile("fast")).propose == 0
    # `primed` is the default plus domain priming
    primed = BiasProfile.load(resolve_profile("primed"))
    assert primed.prime and not BiasProfile.load(resolve_profile(None)).prime
    assert dataclasses.replace(primed, prime=False) == BiasProfile.load(resolve_profile("default"))
    bad.write_text(json.dumps({"weights": {"prime": "yes"}}))
    with pytest.raises(InputError, match="prime must be true or false"):
        BiasProfile.load(bad)
    assert resolve_profile("thorough") == resolve_profile("default")
    with pytest.raises(InputError, match=r"bias profile not found: nosuch.*fast"):
        resolve_profile(tmp_path / "nosuch")


def test_tune_replays_what_a_live_decode_writes(recognizer, biaser, tmp_path):
    """`tune` chooses weights on replayed decisions, so under the biaser's own profile the
    replay must be the live transcript. Story: collecting scored the spans Whisper was sure
    of too (its gate open) under the same per-segment cap, so they took places of
    candidates a live decode scores, and packed with them changed their scores: on the
    clinical corpus's noisy validation audio 3 of 60 rows replayed another drug than the
    live transcript held ("naltrexone and bupropion" -> "... and triamcinolone"), 0 of 60
    since those spans are scored apart. (Clean synthesised speech did not show it; this
    keeps the invariant, with a tight cap.)"""
    import copy

    import soundfile as sf

    from clinivox.asr.types import TranscribeOptions
    from clinivox.eval.tuning import collect
    from clinivox.io.manifest import ManifestRow

    b = copy.copy(biaser)
    b.profile = dataclasses.replace(biaser.profile, max_candidates=2)
    rows = []
    for i, (sentence, drug) in enumerate(HELD_OUT):
        wav = tmp_path / f"u{i}.wav"
        sf.write(wav, synthesize(sentence), 16000)
        rows.append(ManifestRow(i + 1, wav, sentence, "en", (drug,), None))
    records = collect(recognizer, b, rows, TranscribeOptions())
    assert any(cr.rewrites for r in records for cr in r.chunks)
    for row, rec in zip(rows, records, strict=True):
        live = " ".join(s.text for s in recognizer.transcribe(str(row.audio), biaser=b)[0])
        assert rec.hypothesis(b.profile).split() == live.split()


def test_a_tuned_profile_is_used_with_the_kind_of_model_it_was_tuned_for(tmp_path,
                                                                        monkeypatch):
    """Regression: `clinivox tune --model tiny.en-clinical` wrote the cache's one profile,
    which `--medical` then used with the bundled tiny.en (weights for another model) and
    never with the clinical model (it always took the shipped clinical profile)."""
    from clinivox.biasing.profile import (
        CLINICAL_PROFILE,
        DEFAULT_PROFILE,
        default_profile_path,
        resolve_profile,
    )

    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path))
    assert default_profile_path(clinical=True) != default_profile_path()
    assert resolve_profile(None) == DEFAULT_PROFILE
    assert resolve_profile(None, clinical=True) == CLINICAL_PROFILE
    BiasProfile(bias=1.5).save(default_profile_path(clinical=True))
    assert resolve_profile(None) == DEFAULT_PROFILE  # Whisper as released: untouched
    assert BiasProfile.load(resolve_profile(None, clinical=True)).bias == 1.5
    BiasProfile(bias=2.5).save(default_profile_path())
    assert BiasProfile.load(resolve_profile(None)).bias == 2.5
    assert BiasProfile.load(resolve_profile(None, clinical=True)).bias == 1.5
    assert resolve_profile("fast", clinical=True).name == "fast_profile.json"  # a name wins


def test_tune_cli_writes_a_loadable_profile(tmp_path):
    import soundfile as sf

    rows = []
    for i, (sentence, drug) in enumerate(HELD_OUT[:2]):
        wav = tmp_path / f"u{i}.wav"
        sf.write(wav, synthesize(sentence), 16000)
        rows.append(json.dumps({"audio": wav.name, "text": sentence, "terms": [drug]}))
    manifest = tmp_path / "dev.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    out = tmp_path / "profile.json"
    out.write_text('{"previous": "profile"}')  # the active profile is never lost (#23)
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "tune", "--manifest",
                           str(manifest), "--rows", "0:1", "--confirm", str(manifest),
                           "--confirm-rows", "1:2", "--grid", "min_score=0,6", "--out",
                           str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == 1 and report["confirm"]["rows"] == 1
    assert report["grid_points"] == 2 * 640 and report["insertion_cost"] == 3.0
    assert report["best"]["weights"]["min_score"] in (0.0, 6.0)
    assert report["best"]["wer"] <= report["start"]["wer"]
    assert {"wer", "term_recall", "inserted_terms_per_1k_words"} <= set(report["confirm"]["best"])
    assert BiasProfile.load(out).bias == report["best"]["weights"]["bias"]
    assert Path(report["backup"]).read_text() == '{"previous": "profile"}'
    # a weight a replay cannot change, or rows that select nothing: a clear error, no traceback
    # (and a verifier wants more than two utterances' rewrites to learn from)
    for bad in (["--grid", "per_span=2,4"], ["--rows", "5:9"], ["--rows", "3"],
                ["--keep-weights", "--verifier"], ["--insertion-cost", "-1"]):
        proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "tune", "--manifest",
                               str(manifest), "--out", str(tmp_path / "x.json"), "--quiet",
                               *bad], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (bad, proc.stderr)
        assert "per_span" in proc.stderr or "rows" in proc.stderr or \
            "too few rewrites" in proc.stderr or "--insertion-cost must be >= 0" in proc.stderr


# -- retrieval keys from the beam and packed scoring ---------------------------------------------
def test_other_beam_hypotheses_key_the_spans_where_they_differ():
    from clinivox.biasing.retrieval import alternative_keys

    words = [["Discontinue", "it."], ["Switched", "to", "Esther", "Mustang", "at", "night."]]
    keys = alternative_keys(words, [
        "Discontinue it. Switched to estromustine at night.",  # one word for two
        "Discontinue it. Switched to Esther Mustang at night.",  # the same: no key
        "Discontinue. It switched to Esther Mustang at night.",  # across segments: no key
    ])
    assert keys == [((1, 2, 4), "estromustine")]


def test_packed_scoring_matches_scoring_each_rewrite_alone(recognizer, biaser):
    """Rewrites far apart share a decoder row; each is read from its own tokens and the
    few after them. The decoder is causal, so this is the score a row of its own gives
    over the same stretch, up to the context the other rewrite changes."""
    import dataclasses

    import numpy as np

    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    audio = synthesize("Started on rivaroxaban today, and the clopidogrel was stopped last week.")
    options = TranscribeOptions(language="en")
    feats = engine.log_mel(audio, options)[None]
    row = np.asarray(engine._encode(feats[:, :, :1500]))[0]
    words = ["Started", "on", "river", "ox", "a", "ban", "today,", "and", "the", "clop", "it",
             "a", "grill", "was", "stopped", "last", "week."]
    tok = engine.tokenizer("en", "transcribe")
    base_tokens = tok.encode(" " + " ".join(words))
    base = engine.token_logprobs(row, audio.shape[0], "en", "transcribe", [base_tokens])[0]

    def n_tokens(k: int) -> int:
        return len(tok.encode(" " + " ".join(words[:k]))) if k else 0

    def rewrites():
        e1 = LexiconEntry("rivaroxaban", "rivaroxaban", "drug", "rivaroxaban")
        e2 = LexiconEntry("clopidogrel", "clopidogrel", "drug", "clopidogrel")
        return [Rewrite(0, 2, 6, "rivaroxaban", e1, 0.9), Rewrite(0, 9, 13, "clopidogrel", e2, 0.9)]

    decoded = types.SimpleNamespace(language="en", segments=[])
    ctx = biaser.with_profile(dataclasses.replace(biaser.profile, score_tail=4)).context(
        engine, row, audio.shape[0], decoded, options)
    packed = rewrites()
    score_packed(ctx, row, audio.shape[0], None, words, base, base_tokens, n_tokens, packed)
    alone = []
    for rw in rewrites():
        score_packed(ctx, row, audio.shape[0], None, words, base, base_tokens, n_tokens, [rw])
        alone.append(rw)
    # the first rewrite's stretch ends before the second starts: the same tokens in both
    assert packed[0].d_am == pytest.approx(alone[0].d_am, abs=0.05)
    # the second is read after "rivaroxaban" instead of "river ox a ban": a drug before it
    # makes a drug more likely (1.8 nats here when this test was written)
    assert packed[1].d_am == pytest.approx(alone[1].d_am, abs=2.5)
    assert all(r.d_am > 0 for r in packed)  # the spoken names beat the sound-alike words
    # the length term counts words: four written words became one name
    assert [r.d_len for r in packed] == [-3, -3]
    # a whole row per rewrite (score_tail 0) agrees on which spans gain
    ctx = biaser.with_profile(dataclasses.replace(biaser.profile, score_tail=0)).context(
        engine, row, audio.shape[0], decoded, options)
    full = rewrites()
    score_packed(ctx, row, audio.shape[0], None, words, base, base_tokens, n_tokens, full)
    assert all(r.d_am > 0 for r in full)


def test_token_positions_take_each_tokens_first_place_on_the_path():
    from clinivox.asr.engines.whisper_ct2 import token_positions

    # token 2 is never visited: it takes the place of token 3, the next one that is
    path = [(0, 3), (0, 4), (1, 4), (1, 5), (3, 9), (3, 10), (4, 12)]
    assert token_positions(path, 4).tolist() == [3, 4, 9, 9]
    assert token_positions([], 2).tolist() == [0, 0]


def test_the_screen_scores_a_stretch_as_the_whole_segment_ranks_it(recognizer, biaser):
    """The screen scores its forms on the words around the unsure span and their audio
    only (`_score_stretch`): the rows are shorter, and the form Whisper prefers is the
    same as when the whole segment is scored."""
    import numpy as np

    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    audio = synthesize("The patient was stable overnight and we started rivaroxaban today "
                       "for the clot in his leg.")
    options = TranscribeOptions(language="en")
    feats = engine.log_mel(audio, options)[None]
    row = np.asarray(engine._encode(feats[:, :, :1500]))[0]
    words = ["The", "patient", "was", "stable", "overnight", "and", "we", "started", "river",
             "ox", "a", "ban", "today", "for", "the", "clot", "in", "his", "leg."]
    tok = engine.tokenizer("en", "transcribe")
    base_tokens = tok.encode(" " + " ".join(words))
    base, at = engine.token_logprobs(row, audio.shape[0], "en", "transcribe", [base_tokens],
                                     positions=True)[0]
    assert len(at) == len(base_tokens) and np.all(np.diff(at) >= 0)
    assert at[-1] * 0.02 <= audio.shape[0] / 16_000 + 0.5  # positions lie in the audio
    ends = [len(tok.encode(" " + " ".join(words[:k]))) if k else 0
            for k in range(len(words) + 1)]
    forms = ["rivaroxaban", "ribavirin", "rifaximin", "riociguat"]

    def rewrites():
        return [Rewrite(0, 8, 12, f, LexiconEntry(f, f, "drug", f), 0.7) for f in forms]

    ctx = biaser.context(engine, row, audio.shape[0],
                         types.SimpleNamespace(language="en", segments=[]), options)
    whole, stretch = rewrites(), rewrites()
    score_packed(ctx, row, audio.shape[0], None, words, base, base_tokens, ends.__getitem__,
                 whole)
    score_stretch(ctx, row, at, words, ends, stretch)
    best = [max(group, key=lambda r: r.d_am).form for group in (whole, stretch)]
    assert best == ["rivaroxaban", "rivaroxaban"]
    # by a wide margin in both (12 and 11 nats over the runner-up when this was written);
    # only the order is used: the screen's picks are scored again with the rest
    for group in (whole, stretch):
        ranked = sorted(r.d_am for r in group)
        assert ranked[-1] - ranked[-2] > 5


def test_forms_left_out_of_the_glossary_are_scored_again_under_their_own(recognizer, biaser):
    """The scoring prompt lists a few forms; the best forms it left out are scored again
    under a prompt of their own (`reprime`), with the words as written scored under that
    prompt in the same call."""
    import dataclasses

    import numpy as np

    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    audio = synthesize("Discontinue the medicine and switch to maprotiline at night.")
    options = TranscribeOptions(language="en")
    feats = engine.log_mel(audio, options)[None]
    row = np.asarray(engine._encode(feats[:, :, :1500]))[0]
    words = ["Discontinue", "the", "medicine", "and", "switch", "to", "mapper", "tilling",
             "at", "night."]
    tok = engine.tokenizer("en", "transcribe")
    base_tokens = tok.encode(" " + " ".join(words))

    def n_tokens(k: int) -> int:
        return len(tok.encode(" " + " ".join(words[:k]))) if k else 0

    def rewrite():
        e = LexiconEntry("maprotiline", "maprotiline", "drug", "maprotiline")
        return Rewrite(0, 6, 8, "maprotiline", e, 0.7)

    ctx = biaser.context(engine, row, audio.shape[0],
                         types.SimpleNamespace(language="en", segments=[]), options)
    listed, unlisted = rewrite(), rewrite()
    own = tok.encode(" maprotiline.")
    other = tok.encode(" mirpan, mapracorat.")
    # base None: the words as written are scored under the prompt in the same call
    score_packed(ctx, row, audio.shape[0], own, words, None, base_tokens, n_tokens, [listed])
    base_own = engine.token_logprobs(row, audio.shape[0], "en", "transcribe", [base_tokens],
                                     prompt=own)[0]
    check = rewrite()
    score_packed(ctx, row, audio.shape[0], own, words, base_own, base_tokens, n_tokens,
                 [check])
    assert listed.d_am == pytest.approx(check.d_am, abs=0.05)
    base_other = engine.token_logprobs(row, audio.shape[0], "en", "transcribe", [base_tokens],
                                       prompt=other)[0]
    score_packed(ctx, row, audio.shape[0], other, words, base_other, base_tokens, n_tokens,
                 [unlisted])
    # shown the name, the model scores it several nats higher: why reprime exists
    assert listed.d_am > unlisted.d_am + 2.0

    # in `collect`: with a one-form glossary, the next forms get a second prompt
    prompts = []
    real = engine.token_logprobs

    def spy(*args, prompt=None, **kw):
        prompts.append(tok.decode(prompt) if prompt else "")
        return real(*args, prompt=prompt, **kw)

    b2 = biaser.with_profile(dataclasses.replace(biaser.profile, glossary=1, reprime=2,
                                                 reprime_floor=-1e9, gate_logprob=0.0))
    engine.token_logprobs = spy
    seg = types.SimpleNamespace(text=" " + " ".join(words), start_s=0.0,
                                end_s=audio.shape[0] / 16_000)
    result = types.SimpleNamespace(language="en", segments=[seg], alternatives=[])
    try:
        cr = b2.candidates(b2.context(engine, row, audio.shape[0], result, options))
    finally:
        del engine.token_logprobs
    firsts = [p for p in prompts if p and "," not in p]
    seconds = [p for p in prompts if p.count(",") == 1]
    assert len(firsts) >= 1 and len(seconds) == 1  # one-form glossary, then two more forms
    first_form = firsts[0].strip(" .")
    assert first_form not in seconds[0].strip(" .").split(", ")
    rescored = [r for r in cr.rewrites if r.form in seconds[0]]
    assert len(rescored) >= 2


def test_the_screen_offers_different_drugs_and_leaves_spelt_terms_alone(biaser):
    """The screen's slots hold different drugs: "Trimter and" is closest to triamterene's
    foreign spellings (triamterena, triamteren, ...), which are screened once, as
    triamterene. And a word Whisper spelt as a medical term ("eczema" in "eczema see you")
    is not part of a span the screen rewrites, nor is an inflection of one ("fevers"); the
    everyday words around it still are."""
    ws = ["currently", "taking", "Trimter", "and", "lefamulin."]
    k = biaser.profile.screen
    raw = {c.form for found in biaser.index.closest_common(["Trimter", "Trimter and"], k=k,
                                                            min_similarity=0.5)
           for c in found}
    assert {"triamterene", "triamterena"} <= raw  # one drug, two of the lookup's slots
    screened = screen_forms(biaser.context(None, None, 0, None, None), 0, ws,
                            [(2, 3), (2, 4)])
    forms = [r.form for r in screened if r.form not in biaser.index.screen_names]
    assert len(forms) == k == len(set(forms))
    # and at most a few clinical names beside them, close enough
    named = [r for r in screened if r.form in biaser.index.screen_names]
    assert len(named) <= SCREEN_CLINICAL
    assert all(r.similarity >= SCREEN_CLINICAL_SIMILARITY for r in named)
    assert "triamterena" not in forms and "prometazina" not in forms  # foreign spellings
    (tri,) = [r for r in screened if r.form == "triamterene"]
    assert (tri.a, tri.b) == (2, 4)  # at the span it is closest to ("Trimter and")
    assert tri.similarity > max(r.similarity for r in screened if r is not tri)

    assert biaser.knowledge.term_word("eczema") and biaser.knowledge.term_word("Paracetamol,")
    # inflections of a term, spelt right: "fevers, um" had been screened into fortum
    assert biaser.knowledge.term_word("fevers,") and biaser.knowledge.term_word("rashes")
    assert not any(biaser.knowledge.term_word(w) for w in ("see", "you.", "Trimter", "headache",
                                                  "things", "Trimters"))


def _with_small_lm(biaser, profile: BiasProfile) -> MedicalBiaser:
    """`biaser` with `profile` and a domain LM. The screen's penalty assumes a domain LM
    (`clinivox lm build`), which the tests' fresh cache lacks: a small one from a few
    clinical sentences written here stands in for it."""
    out = biaser.with_profile(profile)
    corpus = ["The patient takes metformin every day.", "She takes lisinopril at night.",
              "He was started on amlodipine last week.", "Continue atorvastatin at night.",
              "The patient takes aspirin with food.", "Stop the ibuprofen for now.",
              "She takes omeprazole every morning before breakfast.",
              "I have been taking sertraline for two years.", "Any allergies to penicillin?",
              "We will increase the dose of furosemide.", "The patient has a headache.",
              "Take paracetamol every morning with food if the pain comes back."]
    out.lm = train_kneser_ney([classed_tokens(t, biaser.matcher) for t in corpus])
    return out


def test_the_acoustic_screen_recovers_names_the_sound_lookup_cannot(recognizer, biaser):
    """Drugs the dev sets do not hold, in a sentence frame they do not use. Whisper writes
    "everybody in" for ivabradine and "all life mass in" for solifenacin: everyday words
    only loosely like the names (0.6-0.7), which the sound lookup does not offer. The default
    profile screens the closest common drug forms with Whisper where it was unsure, and
    writes both; the same profile without the screen writes neither."""
    from clinivox.biasing.profile import BUILTIN_PROFILES

    thorough = BiasProfile.load(BUILTIN_PROFILES["default"])
    assert thorough.screen > 0 and thorough.screen_penalty > 0
    screened = _with_small_lm(biaser, thorough)
    unscreened = screened.with_profile(dataclasses.replace(screened.profile, screen=0))
    for sentence, drug in (("The patient takes ivabradine every morning with food.",
                            "ivabradine"),
                           ("The patient takes solifenacin every morning with food.",
                            "solifenacin")):
        audio = synthesize(sentence)
        without, _ = _transcribe(recognizer, unscreened, audio)
        assert drug not in without.lower(), without
        text, corrections = _transcribe(recognizer, screened, audio)
        assert drug in text.lower(), text
        fix = [c for c in corrections if c.replacement == drug]
        assert len(fix) == 1 and fix[0].score > 0 and fix[0].category == "drug"
        # everyday words, which the sound lookup rewrites only into a form at least this close
        assert fix[0].similarity < COMMON_SPAN_MIN_SIMILARITY
        assert "every morning with food" in text


def test_spread_takes_the_best_positions_apart():
    assert spread([5, 6, 3, 9], 2, 2) == [5, 3]
    assert spread([5, 6, 3, 9], 3, 2) == [5, 3, 9]
    assert spread([5, 6, 3, 9], 3, 4) == [5, 9]
    assert spread([5, 6], 2, 2) == [5] and spread([], 2, 2) == []


def test_the_screen_reaches_the_second_of_two_names_close_together(recognizer, biaser):
    """"Currently taking X and Y": the two garbled names are two words apart. Screening
    only words at least a span's length apart (4) reached the first name alone; the
    default screens both (drugs the dev sets do not hold). The screen is what is tested, so
    every correction it wins is applied (min_score 0): the default's min_score drops the
    first name's, whose gain is small here (test_default_min_score_drops_small_gains)."""
    from clinivox.biasing.profile import BUILTIN_PROFILES
    from clinivox.biasing.screen import Screen

    screened = _with_small_lm(biaser, dataclasses.replace(
        BiasProfile.load(BUILTIN_PROFILES["default"]), min_score=0.0))
    audio = synthesize("Currently taking ivabradine and sitagliptin.")
    text, _ = _transcribe(recognizer, screened, audio)
    assert "ivabradine" in text.lower() and "sitagliptin" in text.lower(), text
    apart_only = screened.with_profile(screened.profile, screen=Screen(gap=MAX_SPAN_WORDS))
    apart, _ = _transcribe(recognizer, apart_only, audio)
    assert ("ivabradine" in apart.lower()) + ("sitagliptin" in apart.lower()) == 1, apart


def test_default_min_score_drops_small_gains(recognizer, biaser):
    """The built-in profiles apply a correction only when its rescoring gain exceeds their
    min_score (chosen on the clinical corpus's validation split: fewer inserted terms, the
    same recall there). A correction the screen wins by a small gain is left as Whisper
    wrote it, and every applied correction carries a gain above the threshold."""
    from clinivox.biasing.profile import BUILTIN_PROFILES

    default = BiasProfile.load(BUILTIN_PROFILES["default"])
    assert default.min_score > 0
    audio = synthesize("Currently taking ivabradine and sitagliptin.")
    kept = _with_small_lm(biaser, default)
    every = _with_small_lm(biaser, dataclasses.replace(default, min_score=0.0))
    _, all_corrections = _transcribe(recognizer, every, audio)
    _, applied = _transcribe(recognizer, kept, audio)
    gains = [c.score for c in all_corrections]
    assert any(g <= default.min_score for g in gains)  # this sentence has a small gain
    assert all(c.score > default.min_score for c in applied)
    assert len(applied) < len(gains)


def test_a_primed_decode_is_rescored_without_its_prompt(recognizer, biaser):
    """With `prime`, the engine decodes with the domain prompt where the user gave none,
    and the biaser keeps, of the beam's hypotheses, the one Whisper prefers without it
    (with the LM and length terms): the words said over words the prompt shifted."""
    from clinivox.asr.engine import ChunkResult
    from clinivox.asr.types import TranscribeOptions
    from clinivox.biasing.context import encoder_rows

    engine = recognizer.engine
    primed = biaser.with_profile(dataclasses.replace(biaser.profile, prime=True),
                                 domain_prompt="Headache, nausea, paracetamol.")
    assert primed.prompt == primed.domain_prompt
    assert dataclasses.replace(primed.profile, prime=False).prime is False

    sentence = "Please mend the coat before you go out."
    shifted = "Please men the goat before you go out."
    audio = synthesize(sentence)
    opts = TranscribeOptions(initial_prompt=primed.prompt)
    row = encoder_rows(engine._encode(engine.log_mel(audio, opts)[None]))[0]
    tok = engine.tokenizer("en", "transcribe")
    seconds = audio.shape[0] / 16000

    def hyp(text: str) -> list[int]:
        return [tok.timestamp_begin, *tok.encode(" " + text), tok.timestamp_begin + 100]

    def result(*texts: str) -> ChunkResult:
        r = ChunkResult(engine.split(hyp(texts[0]), tok, seconds), "en", 1.0, -0.3, 0.01,
                        1.2, 0.0)
        r.hypotheses = [hyp(t) for t in texts]
        return r

    r = result(shifted, sentence, shifted)
    reselect(primed.context(engine, row, audio.shape[0], r, opts))
    assert " ".join(s.text for s in r.segments).strip() == sentence
    assert r.alternatives == [shifted]
    assert r.hypotheses == [hyp(sentence), hyp(shifted)]  # best first, one per text
    r = result(sentence, shifted)
    before = r.segments
    reselect(primed.context(engine, row, audio.shape[0], r, opts))
    assert r.segments is before  # the best stays

    class Spy:  # what the engine hands the biaser hook
        n_best = 1
        prompt = primed.prompt

        def apply(self, engine, encoded, chunks, results, options) -> list:
            self.seen = options.initial_prompt
            return results

    spy = Spy()
    engine.decode_batch([audio], TranscribeOptions(), spy)
    assert spy.seen == primed.prompt
    engine.decode_batch([audio], TranscribeOptions(initial_prompt="Mine."), spy)
    assert spy.seen == "Mine."  # a user's own prompt is kept


def test_a_damaged_domain_prompt_is_a_clear_error_for_the_profiles_that_read_it(recognizer,
                                                                                tmp_path):
    from clinivox.biasing import load_biaser
    from clinivox.medical.vocabulary import domain_prompt_path

    lex = tmp_path / "lexicon.jsonl.gz"
    Lexicon([LexiconEntry("paracetamol", "acetaminophen", "drug", "acetaminophen")]).save(lex)
    lm = tmp_path / "lm.arpa.gz"
    train_kneser_ney([classed_tokens("take paracetamol for the headache", None)]).save_arpa(lm)
    domain_prompt_path(lm).write_bytes(b"Paracetamol, \xff\xfe headache.\n")
    # primed decodes with it; the default proposes from it (`propose`)
    for profile in ("primed", None):
        with pytest.raises(InputError,
                           match=r"cannot read the domain prompt lm\.prompt\.txt"):
            load_biaser(recognizer.engine, lexicon=lex, lm=lm, profile=profile)
    fast = load_biaser(recognizer.engine, lexicon=lex, lm=lm, profile="fast")  # not read
    assert fast.prompt is None and fast.domain_prompt is None
    domain_prompt_path(lm).write_text("Paracetamol, headache.\n")
    primed = load_biaser(recognizer.engine, lexicon=lex, lm=lm, profile="primed")
    assert primed.prompt == "Paracetamol, headache."
    default = load_biaser(recognizer.engine, lexicon=lex, lm=lm)
    assert default.prompt is None  # the default never decodes a whole chunk with it
    assert default.domain_prompt == "Paracetamol, headache."


def test_continue_text_decodes_what_follows_a_forced_prefix(recognizer):
    from clinivox.asr.types import TranscribeOptions
    from clinivox.biasing.context import encoder_rows

    engine = recognizer.engine
    audio = synthesize("Please mend the coat before you go out.")
    row = encoder_rows(engine._encode(engine.log_mel(audio, TranscribeOptions())[None]))[0]
    tok = engine.tokenizer("en", "transcribe")
    prefix = tok.encode(" Please mend the")
    new, ended = engine.continue_text(row, "en", "transcribe", prefix, 20)
    assert ended and "coat before you go out" in tok.decode(new)
    cut, ended = engine.continue_text(row, "en", "transcribe", prefix, 2)
    assert not ended and cut == new[:2]  # stopped at max_new: the words may go on
    # a previous-text prompt conditions it; the forced words are never repeated
    primed, _ = engine.continue_text(row, "en", "transcribe", prefix, 20,
                                     prompt=tok.encode(" Coat, hat, scarf."))
    assert not tok.decode(primed).strip().lower().startswith("please")


def _proposer(biaser, prompt: str) -> MedicalBiaser:
    return biaser.with_profile(dataclasses.replace(biaser.profile, propose=1),
                               domain_prompt=prompt)


def _as_decoded(engine, audio, text: str):
    """`audio` as if Whisper had written `text` for it: its encoder row and chunk result."""
    from clinivox.asr.engine import ChunkResult
    from clinivox.asr.types import TranscribeOptions
    from clinivox.biasing.context import encoder_rows

    row = encoder_rows(engine._encode(engine.log_mel(audio, TranscribeOptions())[None]))[0]
    tok = engine.tokenizer("en", "transcribe")
    tokens = [tok.timestamp_begin, *tok.encode(" " + text),
              tok.timestamp_begin + round(audio.shape[0] / 16000 / 0.02)]
    result = ChunkResult(engine.split(tokens, tok, audio.shape[0] / 16000), "en", 1.0, -0.3,
                         0.01, 1.2, 0.0)
    return row, result


def test_proposals_come_from_a_primed_re_decode_of_the_unsure_words(recognizer, biaser):
    """Words Whisper was unsure of and no rewrite explains are decoded again with the
    domain prompt; a lexicon term it writes there is a candidate with the words around it,
    scored without the prompt, and rewrites the span when its gain is positive."""
    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    b = _proposer(biaser, "Headache, nausea, paracetamol, ibuprofen.")
    opts = TranscribeOptions()
    audio = synthesize("You can take some paracetamol if you are feeling feverish.")
    # how tiny.en heard the same words in reverb (medical_dictation)
    row, r = _as_decoded(engine, audio, "You can take some pairs that involve your feeling "
                                        "feverish.")
    ctx = b.context(engine, row, audio.shape[0], r, opts)
    cr = b.candidates(ctx)
    found = propose(ctx, cr, [], b.domain_prompt)
    para = [rw for rw in found if rw.form == "paracetamol"]
    assert para, [(rw.form, rw.text) for rw in found]
    best = max(para, key=lambda rw: rw.gain(b.profile))
    assert best.proposed and "paracetamol" in best.text
    assert {"pairs", "that"} <= set(cr.words[best.seg][best.a:best.b])
    assert best.gain(b.profile) > 0 and best.d_am > 0  # Whisper prefers it, unprompted
    cr.rewrites += found
    b.rewrite(ctx, cr, cr.decide(b.profile))
    text = " ".join(s.text for s in r.segments)
    assert "paracetamol" in text and "pairs" not in text
    assert any(c.replacement == best.text for s in r.segments for c in s.corrections)


@pytest.mark.parametrize("sentence", ["Please mend the coat before you go out.",
                                      "The pencils have all been used."])
def test_proposals_leave_ordinary_speech_alone(recognizer, biaser, sentence):
    from clinivox.asr.types import TranscribeOptions

    engine = recognizer.engine
    b = _proposer(biaser, "Headache, nausea, paracetamol, ibuprofen, cough, fever.")
    audio = synthesize(sentence)
    row, r = _as_decoded(engine, audio, sentence)
    opts = TranscribeOptions()
    ctx = b.context(engine, row, audio.shape[0], r, opts)
    cr = b.candidates(ctx)
    found = propose(ctx, cr, cr.decide(b.profile), b.domain_prompt)
    assert not [rw for rw in found if rw.gain(b.profile) > 0]


def test_external_causes_are_not_proposed_as_terms():
    from clinivox.biasing.knowledge import external_cause as _external_cause

    assert _external_cause(LexiconEntry("terrorism", "terrorism", "diagnosis", "Y38"))
    assert _external_cause(LexiconEntry("fall on same level", "fall", "diagnosis", "W18"))
    assert not _external_cause(LexiconEntry("asthma", "asthma", "diagnosis", "J45"))
    assert not _external_cause(LexiconEntry("valsartan", "valsartan", "drug", "V"))


def test_a_re_decoded_slip_is_read_as_the_forms_it_sounds_like(biaser):
    """The primed re-decode wrote "paracetamolis first line" for "Paracetamol as first
    line": a word that is not an everyday word and sounds close to lexicon forms is offered
    as each of them, for Whisper's score to choose; everyday words are left as written."""
    readings = respell_proposal(biaser.knowledge, "paracetamolis first line", set())
    texts = [t for t, _ in readings]
    assert "paracetamol first line" in texts
    assert all(t.endswith(" first line") for t in texts)
    for text, hits in readings:
        assert hits and hits[0].term.lower() == text.split()[0]
    # a term the span already holds is not proposed again, nor are everyday words respelt
    assert respell_proposal(biaser.knowledge, "paracetamolis first line",
                                    {h.entry.canonical for _, hs in readings for h in hs}) == []
    assert respell_proposal(biaser.knowledge, "pairs that I'm all", set()) == []


def test_sound_key_cache_writers_do_not_share_a_temporary_file(tmp_path):
    """Story: two evaluations started at once both built their biasers and saved the
    sound-key cache through the same `sound_keys.v2.json.tmp`; the first rename moved it
    away and the second failed with FileNotFoundError, ending a 10-minute run. Each writer
    now has a temporary file of its own: the old shared name in the way (here a folder
    another writer left) changes nothing, and writers at once leave one valid cache."""
    import threading

    from clinivox.medical.terms import _load_key_cache, _save_key_cache

    path = tmp_path / "sound_keys.v2.json.gz"
    path.with_suffix(".tmp").mkdir()
    _save_key_cache(path, {"apixaban": "APKSBN"})
    assert _load_key_cache(path) == {"apixaban": "APKSBN"}
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(10):
                _save_key_cache(path, {f"w{i}": str(j)})
        except BaseException as exc:  # any failure fails the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(_load_key_cache(path)) == 1  # one writer's whole cache, never a torn file
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.with_suffix(".tmp").name]
