"""The learned span tagger: training lowers the loss and learns its examples, the export
loads in the numpy model (no torch at inference) and gives the probabilities torch gave,
and the targets and the cutting are the same at training and inference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from clinivox.nlu.span_model import CHUNK, TAGS, SpanModel  # noqa: E402
from clinivox.train.finetune.spans import (  # noqa: E402
    SpanExample,
    export,
    fit,
    pieces,
    probabilities,
)


def _ex(text: str, *marked: tuple[str, str]) -> SpanExample:
    return SpanExample(text, [(text.index(w), text.index(w) + len(w), lab)
                              for w, lab in marked])


EXAMPLES = [
    _ex("It burns when I pee.", ("burns", "problem")),
    _ex("I take metformin every morning.", ("metformin", "drug")),
    _ex("My knee feels stiffer than normal.", ("knee", "anatomy"), ("stiffer", "problem")),
    _ex("We will do a blood test.", ("blood test", "test")),
    _ex("Thanks, see you next week.",),
    _ex("I have been coughing a lot.", ("coughing", "problem")),
] * 2


def test_pieces_cut_a_long_text_as_the_model_reads_it_and_keep_the_spans_inside() -> None:
    text = "I feel fine today. " * 30 + "It burns when I pee."
    s = text.index("burns")
    cut = pieces(text, [(s, s + 5, "problem")])
    assert len(cut) == 2 and all(len(p.text) <= CHUNK for p in cut)
    a, b, lab = cut[-1].spans[0]
    assert cut[-1].text[a:b] == "burns" and lab == "problem"
    assert not cut[0].spans


def test_a_text_longer_than_a_chunk_is_refused_not_truncated_silently() -> None:
    with pytest.raises(ValueError, match="pieces"):
        fit([SpanExample("word " * 100)], epochs=1)


def test_training_learns_its_examples_and_the_numpy_export_matches_torch(tmp_path) -> None:
    losses: list[float] = []
    net = fit(EXAMPLES, epochs=8, lr=3e-3, batch_size=4,
              progress=lambda epoch, loss: losses.append(loss))
    assert losses[-1] < losses[0] / 2
    texts = [e.text for e in EXAMPLES[:6]]
    want = probabilities(net, texts)
    path = tmp_path / "spans.npz"
    export(net, path, threshold=0.5, added_labels=("problem",))
    model = SpanModel(path)
    assert model.threshold == 0.5 and model.added == ("problem",)
    got = model.probabilities(texts)
    for (e1, p1), (e2, p2) in zip(want, got, strict=True):
        assert e1.ids == e2.ids and p1.shape == p2.shape == (len(e1.ids), len(TAGS))
        assert np.abs(p1 - p2).max() < 5e-3  # float16 adapter factors
    # what it was taught it finds again, with the labels it was taught
    found = {(e.text[s.start:s.end], s.label) for e in EXAMPLES[:6]
             for s in model.spans(e.text)}
    assert {("burns", "problem"), ("metformin", "drug"), ("stiffer", "problem")} <= found
    assert not [s for s in model.spans("Thanks, see you next week.")]
