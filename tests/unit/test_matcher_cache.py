"""clinivox.nlu.matcher_cache: the NLU's built forms, cached under a key over their sources.

Story: every `clinivox extract`, `redact`, `scribe` and server start built the NLU's
92,000 forms from the lexicon, ICD-10-CM and the tokenizer before answering: about 4.5 s of
the 7.5 s `clinivox extract` took on two CPU cores (bench/bench_cold_start.py). The built
forms are now cached; a stale cache would silently change what is matched, so the cache is
used only under the key of what it was built from, and these tests change each part.
"""

from __future__ import annotations

import gzip
import json
import stat

import pytest

from clinivox.medical.lexicon import LexiconEntry
from clinivox.nlu import matcher_cache
from clinivox.nlu.matcher_cache import cache_path, cached_forms


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A private CLINIVOX_HOME, a lexicon file and a tokenizer file to key on."""
    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path / "home"))
    lexicon = tmp_path / "lexicon.jsonl.gz"
    lexicon.write_bytes(gzip.compress(b'{"term": "asthma"}\n'))
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text('{"model": {}}')
    return lexicon, tokenizer


class Builder:
    """A build that counts its calls: two forms of one entry, one with every field set."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[dict[str, LexiconEntry], int]:
        self.calls += 1
        asthma = LexiconEntry("asthma", "Asthma", "diagnosis", code="J45.909",
                              variants=("athsma",))
        drug = LexiconEntry("ventolin", "salbutamol", "drug", code="salbutamol", weight=0.5,
                            variants=("ventolin inhaler", "proventil"), rare=True)
        return {"asthma": asthma, "asthmatic": asthma, "ventolin": drug}, 2


def _must_not_build() -> tuple[dict, int]:
    raise AssertionError("built again: the cache was not used")


def test_a_second_load_reads_the_cache_with_equal_entries(sources):
    lexicon, tokenizer = sources
    build = Builder()
    forms, max_words = cached_forms(build, lexicon, tokenizer)
    assert build.calls == 1 and cache_path().is_file()
    again, again_max = cached_forms(_must_not_build, lexicon, tokenizer)
    assert again == forms and again_max == max_words == 2
    # an entry two forms share is one object again, its tuple a tuple
    assert again["asthma"] is again["asthmatic"]
    assert again["ventolin"].variants == ("ventolin inhaler", "proventil")
    assert again["ventolin"].rare is True and again["ventolin"].weight == 0.5


def test_the_cache_is_owner_only(sources):
    lexicon, tokenizer = sources
    cached_forms(Builder(), lexicon, tokenizer)
    assert stat.S_IMODE(cache_path().stat().st_mode) == 0o600


@pytest.mark.parametrize("change", ["lexicon", "tokenizer gone", "icd10cm", "source"])
def test_a_change_of_any_source_rebuilds(sources, monkeypatch, change):
    lexicon, tokenizer = sources
    cached_forms(Builder(), lexicon, tokenizer)
    if change == "lexicon":  # a new lexicon build (new sources, a user's rebuild)
        lexicon.write_bytes(gzip.compress(b'{"term": "asthma"}\n{"term": "copd"}\n'))
    elif change == "tokenizer gone":  # everyday words now empty
        tokenizer.unlink()
    elif change == "icd10cm":
        monkeypatch.setattr("clinivox.medical.icd10cm.package_version", lambda: "9.9.9")
    else:  # an edit to any clinivox module
        monkeypatch.setattr(matcher_cache, "_source_digest", lambda: "edited")
    build = Builder()
    cached_forms(build, lexicon, tokenizer if tokenizer.exists() else None)
    assert build.calls == 1
    cached_forms(_must_not_build, lexicon, tokenizer if tokenizer.exists() else None)


def test_the_source_digest_changes_with_any_module(tmp_path):
    from clinivox.nlu.matcher_cache import tree_digest

    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "entities.py").write_text("NOT_TERMS = {'all'}\n")
    (tmp_path / "terms.py").write_text("MAX = 4\n")
    (tmp_path / "notes.txt").write_text("not code")
    seen = {tree_digest(tmp_path)}
    (tmp_path / "notes.txt").write_text("still not code")
    assert tree_digest(tmp_path) in seen  # only Python files count
    (tmp_path / "nlu" / "entities.py").write_text("NOT_TERMS = {'all', 'other'}\n")
    seen.add(tree_digest(tmp_path))
    (tmp_path / "nlu" / "concepts.py").write_text("")  # a new module, even empty
    seen.add(tree_digest(tmp_path))
    (tmp_path / "terms.py").rename(tmp_path / "nlu" / "terms.py")  # moved, same bytes
    seen.add(tree_digest(tmp_path))
    assert len(seen) == 4


def test_a_damaged_cache_is_rebuilt_not_fatal(sources, caplog):
    lexicon, tokenizer = sources
    cache_path().parent.mkdir(parents=True)
    cache_path().write_bytes(b"not gzip")
    build = Builder()
    forms, _ = cached_forms(build, lexicon, tokenizer)
    assert build.calls == 1 and "asthma" in forms
    assert "rebuilding the NLU forms cache" in caplog.text
    with gzip.open(cache_path(), "rt") as f:  # rewritten whole
        assert json.load(f)["format"] == matcher_cache.FORMAT


def test_a_cache_of_another_shape_is_rebuilt(sources, caplog):
    lexicon, tokenizer = sources
    cached_forms(Builder(), lexicon, tokenizer)
    with gzip.open(cache_path(), "rt") as f:
        data = json.load(f)
    data["entries"][0] = data["entries"][0][:3]  # a field missing
    with gzip.open(cache_path(), "wt") as f:
        json.dump(data, f)
    build = Builder()
    cached_forms(build, lexicon, tokenizer)
    assert build.calls == 1 and "rebuilding the NLU forms cache" in caplog.text


def test_an_unwritable_cache_still_gives_the_forms(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CLINIVOX_HOME", str(blocker))  # a file: nothing can go under it
    lexicon = tmp_path / "lexicon.jsonl.gz"
    lexicon.write_bytes(b"x")
    forms, max_words = cached_forms(Builder(), lexicon, None)
    assert "ventolin" in forms and max_words == 2
    assert "cannot cache the NLU forms" in caplog.text


def test_the_matcher_from_the_cache_is_the_one_built():
    """The real build against what the cache gives back: every form, entry and field."""
    from clinivox.nlu import entities

    built = entities._build_matcher()
    entities._matcher.cache_clear()
    try:
        first = entities._matcher()  # from the cache, or built and cached
        entities._matcher.cache_clear()
        cached = entities._matcher()
    finally:
        entities._matcher.cache_clear()
    assert cache_path().is_file()
    for m in (first, cached):
        assert m.forms == built.forms and m.max_words == built.max_words
    hits = [(h.term, h.entry) for h in cached.find("Known asthma, on salbutamol; no ALL.")]
    assert hits == [(h.term, h.entry) for h in
                    built.find("Known asthma, on salbutamol; no ALL.")]
    assert [t for t, _ in hits][:2] == ["asthma", "salbutamol"]
