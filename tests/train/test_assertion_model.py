"""The learned assertion model: training lowers the loss, the export loads in the numpy
model (no torch at inference) and gives the probabilities torch gave, and the marking of
the mention is the same at training and inference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from clinivox.nlu.assertion_model import AssertionModel, marked, window  # noqa: E402
from clinivox.train.finetune.assertion import (  # noqa: E402
    CLASSES,
    AssertionExample,
    export,
    fit,
    probabilities,
)


def _ex(text: str, mention: str, label: str, assertion: str) -> AssertionExample:
    s = text.index(mention)
    return AssertionExample(text, s, s + len(mention), label, assertion)


EXAMPLES = [
    _ex("He has had chest pain since Monday.", "chest pain", "problem", "present"),
    _ex("No chest pain at all.", "chest pain", "problem", "absent"),
    _ex("Have you had any headaches?", "headaches", "problem", "hypothetical"),
    _ex("My mother had a stroke.", "stroke", "problem", "family"),
    _ex("She takes metformin every morning.", "metformin", "drug", "present"),
    _ex("It might be a migraine.", "migraine", "problem", "possible"),
    _ex("He had asthma as a child.", "asthma", "problem", "historical"),
    _ex("If you get a fever, call us.", "fever", "problem", "hypothetical"),
]


def test_marked_puts_the_mention_between_markers_at_the_offsets_it_returns() -> None:
    s, a, b = marked("No chest pain today.", 3, 13, "problem")
    assert s == "problem : No  [ chest pain ]  today."  # as in training: spaces kept
    assert s[a:b] == "[ chest pain ]"


def test_window_keeps_the_line_and_cuts_a_long_one_at_sentence_ends() -> None:
    text = "Line one has asthma.\nNo chest pain.\nLast line."
    a, b = window(text, text.index("chest"), text.index("chest") + 10)
    assert text[a:b] == "No chest pain."
    long = "Filler words here. " * 30 + "No chest pain now. " + "More filler text. " * 30
    s = long.index("chest pain")
    a, b = window(long, s, s + 10)
    assert long[a:b].startswith("Filler words here.") and long[a:b].endswith(".")
    assert b - a < 2 * 240 + 20 and a <= s and b >= s + 10


def test_training_lowers_the_loss_and_the_numpy_export_matches_torch(tmp_path) -> None:
    losses: list[float] = []
    net = fit(EXAMPLES, epochs=4, lr=3e-3, batch_size=4,
              progress=lambda epoch, loss: losses.append(loss))
    assert losses[-1] < losses[0]
    want = probabilities(net, EXAMPLES)
    path = tmp_path / "assertion.npz"
    export(net, path, rule_weight=0.3)
    model = AssertionModel(path)
    assert model.classes == CLASSES and model.rule_weight == 0.3
    got = model.probabilities([(e.text, e.start, e.end, e.label) for e in EXAMPLES])
    # float16 adapter factors: the probabilities agree to well under a percent
    assert np.abs(got - want).max() < 5e-3
    assert (got.argmax(1) == want.argmax(1)).all()


def test_the_rule_weight_decides_between_an_unsure_model_and_the_rules(tmp_path) -> None:
    net = fit(EXAMPLES[:2], epochs=1, batch_size=2)
    path = tmp_path / "assertion.npz"
    export(net, path, rule_weight=0.5)
    model = AssertionModel(path)
    p = np.full(len(CLASSES), 0.1, np.float32)
    p[CLASSES.index("hypothetical")] = 0.5
    assert model.decide("present", p) == "present"  # 0.1 + 0.5 > 0.5 - unsure: the rules
    p[CLASSES.index("hypothetical")] = 0.9
    assert model.decide("present", p) == "hypothetical"  # confident: the model
    # (not for negation, which is the rules' alone however sure the model: `combine`)
    p = np.full(len(CLASSES), 0.01, np.float32)
    p[CLASSES.index("absent")] = 0.95
    assert model.decide("present", p) == "present"
