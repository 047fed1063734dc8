"""The medical lexicon: sources, size, codes, spellings, user vocabulary files."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from clinivox.medical.lexicon import (
    Lexicon,
    VocabularyError,
    _clean_title,
    build_lexicon,
    load_user_vocabulary,
    spelling_variants,
)


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return build_lexicon()


def test_size_and_categories(lexicon):
    assert len(lexicon) >= 10_000
    cats = lexicon.by_category()
    assert cats["drug"] > 5_000 and cats["diagnosis"] > 3_000
    for c in ("symptom", "procedure", "anatomy", "lab", "abbreviation"):
        assert cats[c] > 20


def test_entries_carry_codes(lexicon):
    by_term = {(e.term, e.category): e for e in lexicon.entries}
    assert by_term[("eliquis", "drug")].code == "apixaban"  # brand -> ingredient
    assert by_term[("furosemide", "drug")].canonical == "furosemide"
    assert by_term[("essential hypertension", "diagnosis")].code == "I10"
    assert by_term[("type 2 diabetes mellitus", "diagnosis")].code == "E11"
    assert any(e.language == "zh" and e.canonical == "aspirin" for e in lexicon.entries)


def test_icd_titles_give_the_name_before_the_qualifier(lexicon):
    # "Hypothyroidism, unspecified" is said "hypothyroidism"; the qualified title alone
    # would leave the plain disease name out of the lexicon
    by_term = {(e.term, e.category): e for e in lexicon.entries}
    assert by_term[("hypothyroidism", "diagnosis")].code == "E03.9"
    assert by_term[("dermatitis", "diagnosis")].canonical == "Dermatitis, unspecified"
    assert _clean_title("Tinnitus, right ear") == ["tinnitus"]
    # [ ] at the end holds a synonym said on its own ("chickenpox" itself is now one of
    # the common names, coded to B01.9, the billable code under B01)
    assert "chickenpox" in _clean_title("Varicella [chickenpox]")
    assert by_term[("chickenpox", "diagnosis")].code == "B01.9"
    assert by_term[("hyperthyroidism", "diagnosis")].canonical.startswith("Thyrotoxicosis")
    # a comma inside parentheses is not the qualifier's comma
    assert _clean_title("Disease (a, b) of x, left") == ["disease of x"]


def test_icd_inclusion_terms_are_names_of_their_code(lexicon):
    # ICD-10-CM lists the names a condition also goes by under its code: "Eczema NOS" under
    # L30.9, "Cardiac angina" under I20.9, "high blood pressure" in I10's Includes note
    codes: dict[str, set[str]] = {}
    for e in lexicon.entries:
        if e.category == "diagnosis":
            codes.setdefault(e.term, set()).add(e.code)
    assert "L30.9" in codes["eczema"]
    assert {"I20.9"} <= codes["angina"] and "I20.9" in codes["cardiac angina"]
    assert "I10" in codes["high blood pressure"]
    assert not [t for t in codes if t.endswith(" nos") or " nos " in t]
    # external causes (V-Y) describe events, and their inclusion terms are not names
    assert not any(c[0] in "VWXY" for c in codes.get("accident", ()))


def test_drugs_without_a_medlineplus_monograph_are_rare(lexicon):
    drugs = {e.term: e for e in lexicon.entries if e.category == "drug"}
    for common in ("apixaban", "eliquis", "loperamide", "chlorpropamide", "cefotan"):
        assert not drugs[common].rare, common  # brands follow their ingredient
    for rare in ("carpropamide", "pantethine", "lofepramine"):
        assert drugs[rare].rare, rare
    share = sum(e.rare for e in drugs.values()) / len(drugs)
    assert 0.5 < share < 0.95  # most of the package's names, far from all
    assert not any(e.rare for e in lexicon.entries if e.category != "drug")


def test_british_and_american_spellings(lexicon):
    assert spelling_variants("haemorrhagic stroke") == {"hemorrhagic stroke"}
    assert spelling_variants("anemia") == {"anaemia"}
    diarrhoea = next(e for e in lexicon.entries if e.term == "diarrhoea")
    assert "diarrhea" in diarrhoea.variants


def test_save_and_load_roundtrip(lexicon, tmp_path):
    small = Lexicon(lexicon.entries[:500])
    small.save(tmp_path / "lex.jsonl.gz")
    assert Lexicon.load(tmp_path / "lex.jsonl.gz").entries == small.entries


def test_a_saved_lexicon_is_owner_only_and_whole(lexicon, tmp_path):
    import stat

    path = tmp_path / "lex.jsonl.gz"
    Lexicon(lexicon.entries[:50]).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["lex.jsonl.gz"]  # no temporary left


# Story: `transcribe --medical --lexicon FILE` with a missing file or one that was not gzip
# printed a Python traceback (exit 1), and a bad line an error that named neither the
# file nor the entry. (Named ids: gzip writes the time into its bytes, and pytest-xdist
# workers must collect the same test names.)
@pytest.mark.parametrize("content, message", [
    (None, "no such lexicon file"),
    (b"term,canonical\nasthma,asthma\n", "is not a lexicon from `clinivox lexicon build`"),
    (gzip.compress(b'{"term": "asthma", "canonical": "Asthma", "category": "diagnosis"}\n'
                   b'{"term": "copd"\n'), "lex.gz: entry 2 is not JSON"),
    (gzip.compress(b'{"term": "asthma", "canonical": "Asthma", "category": "diagnosis"}\n'
                   b'{"term": "copd", "colour": "red"}\n'), "lex.gz: entry 2 is not a lexicon"),
    (gzip.compress(b"[1, 2]\n"), "entry 1 is not a lexicon entry"),
    (gzip.compress(b"\xff\xfe not text"), "is not a lexicon"),
], ids=["missing", "csv", "bad json", "unknown field", "not an object", "not utf-8"])
def test_a_file_that_is_no_lexicon_is_a_typed_error(tmp_path, content, message):
    from clinivox.errors import InputError
    from clinivox.medical.lexicon import LexiconFileError

    path = tmp_path / "lex.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LexiconFileError, match=message) as err:
        Lexicon.load(path)
    assert isinstance(err.value, InputError)  # exit code 2, HTTP 400


def test_entries_without_variants_load(tmp_path):
    path = tmp_path / "lex.gz"
    path.write_bytes(gzip.compress(
        b'{"term": "asthma", "canonical": "Asthma", "category": "diagnosis"}\n\n'))
    (entry,) = Lexicon.load(path).entries
    assert entry.term == "asthma" and entry.variants == () and entry.code is None


def test_a_damaged_lexicon_cache_is_rebuilt(tmp_path, monkeypatch, caplog):
    from clinivox.medical import vocabulary
    from clinivox.medical.lexicon import LexiconEntry

    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path))
    path = vocabulary.default_lexicon_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b'{"term": "asth'))  # cut off mid-write
    small = Lexicon([LexiconEntry("asthma", "Asthma", "diagnosis", code="J45.909")])
    monkeypatch.setattr(vocabulary, "build_lexicon", lambda: Lexicon(list(small.entries)))
    assert vocabulary.load_lexicon().entries == small.entries
    assert "rebuilding the lexicon cache" in caplog.text
    assert Lexicon.load(path).entries == small.entries  # rewritten whole


def test_user_vocabulary_text_and_csv(tmp_path):
    txt = tmp_path / "terms.txt"
    txt.write_text("# ward terms\napixaban | 2.5 | a pix a ban; apixa ban | Apixaban\n\n"
                   "tirzepatide\n")
    entries = load_user_vocabulary(txt)
    assert [e.term for e in entries] == ["apixaban", "tirzepatide"]
    assert entries[0].weight == 2.5 and entries[0].variants == ("a pix a ban", "apixa ban")
    assert entries[0].canonical == "Apixaban" and entries[1].canonical == "tirzepatide"
    csv_file = tmp_path / "terms.csv"
    csv_file.write_text("term,weight,variants,canonical\nsemaglutide,1.5,sema glue tide,\n")
    (e,) = load_user_vocabulary(csv_file)
    assert e.term == "semaglutide" and e.weight == 1.5 and e.variants == ("sema glue tide",)


@pytest.mark.parametrize("content, message", [
    ("ok term\nbad | heavy\n", "terms.txt:2: weight 'heavy' is not a number"),
    ("a | 1 | b | c | d\n", "terms.txt:1: too many fields"),
    ("x | 50\n", "terms.txt:1: weight must be"),
    ("# only comments\n\n", "no terms found"),
])
def test_malformed_user_vocabulary_names_the_line(tmp_path, content, message):
    p = tmp_path / "terms.txt"
    p.write_text(content)
    with pytest.raises(VocabularyError, match=message):
        load_user_vocabulary(p)


def test_cli_build_with_user_terms(tmp_path):
    vocab = tmp_path / "v.txt"
    vocab.write_text("zilebesiran\n")
    out = tmp_path / "lex.jsonl.gz"
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lexicon", "build",
                           "--out", str(out), "--vocab", str(vocab)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["entries"] >= 10_000 and stats["by_category"]["user"] == 1
    bad = tmp_path / "bad.txt"
    bad.write_text("fine\nbroken | nope\n")
    proc = subprocess.run([sys.executable, "-m", "clinivox.cli.main", "lexicon", "build",
                           "--out", str(out), "--vocab", str(bad)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "bad.txt:2" in proc.stderr and "Traceback" not in proc.stderr


def test_transcribe_with_a_bad_lexicon_exits_2_without_a_traceback(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    from clinivox.cli.main import main

    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    (tmp_path / "terms.csv").write_text("asthma,asthma\n")
    for bad, message in [(tmp_path / "missing.gz", "no such lexicon file"),
                         (tmp_path / "terms.csv", "terms.csv is not a lexicon")]:
        assert main(["transcribe", str(wav), "--medical", "--lexicon", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
