"""Synthetic assertion examples (clinivox.train.data.assertions): deterministic, every span
on the words it names, every class and template used, and no torch needed."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from clinivox.nlu.context import ASSERTIONS
from clinivox.train.data.assertions import TEMPLATES, synthesise, vocabulary


def test_the_same_seed_gives_the_same_examples_and_another_seed_others():
    a = list(synthesise(50, seed=3))
    assert a == list(synthesise(50, seed=3))
    assert a != list(synthesise(50, seed=4))


def test_every_span_holds_a_problem_or_drug_of_the_vocabulary():
    problems, drugs = vocabulary()
    names = {"problem": set(problems), "drug": set(drugs)}
    examples = list(synthesise(400, seed=0))
    assert len(examples) > 400  # most templates hold more than one mention
    for ex in examples:
        written = ex.text[ex.start:ex.end]
        assert written.lower() in names[ex.label], (ex.template, written)
        # whole words: the span neither starts nor ends inside a word
        assert ex.start == 0 or not ex.text[ex.start - 1].isalnum(), ex.text
        assert ex.end == len(ex.text) or not ex.text[ex.end].isalnum(), ex.text


def test_every_class_and_every_template_is_drawn():
    examples = list(synthesise(2000, seed=0))
    assert set(Counter(ex.assertion for ex in examples)) == set(ASSERTIONS)
    assert {ex.template for ex in examples} == set(range(len(TEMPLATES)))


def test_an_empty_frequency_leaves_no_space_before_the_stop_and_spans_follow():
    # "{S} {be} on {D} {freq}." with no frequency: "He is on aspirin." not "aspirin ."
    k = next(i for i, (t, _) in enumerate(TEMPLATES) if t == "{S} {be} on {D} {freq}.")
    seen = [ex for ex in synthesise(3000, seed=1) if ex.template == k]
    assert seen
    for ex in seen:
        assert " ." not in ex.text
        assert ex.text[ex.start:ex.end].lower() in vocabulary()[1]


def test_a_scope_template_gives_each_clause_its_own_class():
    # "No {P1}, but {s} {have} had some {P3} since yesterday.": absent, then present
    k = next(i for i, (t, _) in enumerate(TEMPLATES) if t.startswith("No {P1}, but"))
    ex = [e for e in synthesise(3000, seed=2) if e.template == k][:2]
    assert [e.assertion for e in ex] == ["absent", "present"]
    assert ex[0].text == ex[1].text and ex[0].end < ex[1].start


def test_synthesis_never_imports_torch():
    code = ("import sys; from clinivox.train.data.assertions import synthesise; "
            "list(synthesise(20)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
