"""clinivox.medical.icd10cm: ICD-10-CM read once from simple-icd-10-cm, then from a cache.

Story: every process that coded a problem imported simple-icd-10-cm, which parses its XML
(98,505 items, about 4 s on two CPU cores) before `clinivox extract` printed anything.
The NLU now reads a cached copy of what it asks of ICD-10-CM; these tests hold the copy to
the package's own answers."""

from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys

import pytest

cm = pytest.importorskip("simple_icd_10_cm")

from clinivox.medical import icd10cm  # noqa: E402
from clinivox.medical.icd10cm import Tabular, tabular  # noqa: E402


@pytest.fixture(scope="module")
def table() -> Tabular:
    return Tabular.from_package()


def test_the_table_answers_as_the_package_for_every_code(table):
    codes = cm.get_all_codes(True) + cm.get_all_codes(False)
    assert table.codes(False) == cm.get_all_codes(False)
    wrong = [c for c in codes
             if table.description(c) != cm.get_description(c)
             or table.children(c) != cm.get_children(c)
             or table.is_leaf(c) != cm.is_leaf(c)]
    assert not wrong, wrong[:5]
    # a block and the category it holds share a name ("B99"): the category, as the package
    assert table.children("B99") == cm.get_children("B99") == ["B99.8", "B99.9"]
    for code in ("R07.9", "R079", "A00-A09", "1", "r07.9", "R07.99", "A00-B99", "", " R07"):
        assert table.is_valid(code) == cm.is_valid_item(code), code
    with pytest.raises(ValueError, match="not an ICD-10-CM code"):
        table.description("R07.99")


def test_the_cache_round_trips_owner_only(table, tmp_path):
    path = tmp_path / "icd.json.gz"
    table.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = Tabular.load(path)
    assert len(back) == len(table) and back.codes() == table.codes()
    assert back.children("R07") == table.children("R07")
    assert back.description("D68.61") == "Antiphospholipid syndrome"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_a_later_process_codes_without_importing_the_package(tmp_path):
    """The first process writes the cache; the second codes the same from it and never
    imports simple-icd-10-cm."""
    env = {**os.environ, "CLINIVOX_HOME": str(tmp_path)}
    probe = ("import sys, json; from clinivox.nlu.codes import default_code; "
             "print(json.dumps([default_code(c, n) for c, n in "
             "[('R07', 'chest pain'), ('G20', 'parkinson disease'), ('E11', 'diabetes'), "
             "('J45', 'asthma'), ('R07.9', ''), ('Q99.99', '')]])); "
             "print('simple_icd_10_cm' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=env, check=True).stdout.split("\n") for _ in range(2)]
    assert runs[0][0] == runs[1][0]
    assert json.loads(runs[0][0])[4:] == ["R07.9", "Q99.99"]  # a leaf; an unknown code
    assert runs[0][1] == "True" and runs[1][1] == "False"
    assert list((tmp_path / "medical").glob("icd10cm-*.json.gz"))


def test_a_damaged_cache_is_rebuilt_not_fatal(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CLINIVOX_HOME", str(tmp_path))
    version = icd10cm.package_version()
    assert version
    path = icd10cm.cache_path(version)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not gzip")
    tabular.cache_clear()
    try:
        table = tabular()
        assert table is not None and table.description("R07.9") == "Chest pain, unspecified"
        assert "rebuilding the ICD-10-CM cache" in caplog.text
        with gzip.open(path, "rt") as f:  # rewritten whole
            assert json.load(f)["format"] == icd10cm.FORMAT
    finally:
        tabular.cache_clear()


def test_without_the_package_codes_are_kept_as_given(monkeypatch):
    from clinivox.nlu.codes import default_code

    monkeypatch.setattr(icd10cm, "package_version", lambda: None)
    tabular.cache_clear()
    default_code.cache_clear()
    try:
        assert tabular() is None
        assert default_code("R07", "chest pain") == "R07"
    finally:
        tabular.cache_clear()
        default_code.cache_clear()


def test_an_unwritable_cache_is_a_typed_error_and_codes_still_work(table, tmp_path,
                                                                  monkeypatch, caplog):
    from clinivox.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        table.save(blocker / "medical" / "icd.json.gz")
    monkeypatch.setenv("CLINIVOX_HOME", str(blocker))  # a file: no cache under it
    tabular.cache_clear()
    try:
        got = tabular()
        assert got is not None and got.description("R07.9") == "Chest pain, unspecified"
        assert "cannot cache ICD-10-CM" in caplog.text
    finally:
        tabular.cache_clear()
