"""The NLU's term matcher, built once and read back by later processes.

`entities._matcher()` builds the forms the NLU recognises from the medical lexicon (80,000
entries), ICD-10-CM's leaf titles and the bundled tokenizer's everyday words, then prunes
and respells them (92,000 forms): about 4.5 s on two CPU cores, paid by every `clinivox
extract`, `redact`, `scribe` and server start before it answers
(bench/bench_cold_start.py). The built forms are written to
`$CLINIVOX_HOME/medical/nlu-forms.v<FORMAT>.json.gz` (owner-only, whole or not at all)
and read back in a fraction of that.

A stale cache would silently change what is matched, so the file holds a key over
everything the build reads, and is used only when the key is the one computed now:

- the lexicon file's bytes (rebuilt when its sources or its version change);
- the installed simple-icd-10-cm version (the leaf titles);
- the bytes of the tokenizer the everyday words come from (or that there is none);
- the bytes of every Python file of the clinivox package: the build's rules, word lists
  and the functions it calls live in several modules, and an edit to any of them must
  rebuild (hashing the whole package takes about 15 ms).

A file that cannot be read, or holds another key, is rebuilt; one that cannot be written
leaves the matcher built in memory (a warning, no error).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import astuple, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from clinivox.errors import OutputError

log = logging.getLogger(__name__)

FORMAT = 1  # of the cache file


def cache_path() -> Path:
    from clinivox.medical.vocabulary import medical_dir

    return medical_dir() / f"nlu-forms.v{FORMAT}.json.gz"


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """`tree_digest` of the clinivox package (the folder above this module's)."""
    return tree_digest(Path(__file__).resolve().parents[1])


def tree_digest(root: Path) -> str:
    """sha256 over the Python files under `root` (names and bytes), in path order."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _file_digest(path: Path | None) -> str:
    if path is None or not path.is_file():
        return "none"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_key(lexicon_path: Path, tokenizer_path: Path | None) -> str:
    """The key of a build from these files with the installed code and packages."""
    from clinivox.medical.icd10cm import package_version

    parts = [f"format={FORMAT}", f"lexicon={_file_digest(lexicon_path)}",
             f"icd10cm={package_version()}", f"tokenizer={_file_digest(tokenizer_path)}",
             f"source={_source_digest()}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def save(path: Path, key: str, forms: dict[str, Any], max_words: int) -> None:
    """Write the forms (each distinct entry once) under `key`; an OutputError when the
    file cannot be written."""
    from clinivox.io.writers import write_gzip_text

    index: dict[int, int] = {}
    entries: list[list[Any]] = []
    pairs: list[list[Any]] = []
    for form, entry in forms.items():
        i = index.get(id(entry))
        if i is None:
            i = index[id(entry)] = len(entries)
            entries.append(list(astuple(entry)))
        pairs.append([form, i])

    write_gzip_text(path, lambda f: json.dump(
        {"format": FORMAT, "key": key, "max_words": max_words, "entries": entries,
         "forms": pairs}, f, separators=(",", ":")), compresslevel=1)


def load(path: Path, key: str) -> tuple[dict[str, Any], int] | None:
    """(forms, max_words) from the file when it holds `key`; None when it holds another.
    A file that is not a cache of this format raises ValueError (or OSError, EOFError)."""
    from clinivox.medical.lexicon import LexiconEntry

    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if data.get("format") != FORMAT:
        raise ValueError(f"{path.name}: format {data.get('format')!r}, not {FORMAT}")
    if data.get("key") != key:
        return None
    names = [f.name for f in fields(LexiconEntry)]
    at = names.index("variants")
    entries = []
    for row in data["entries"]:
        if len(row) != len(names):
            raise ValueError(f"{path.name}: an entry of {len(row)} fields")
        row[at] = tuple(row[at])
        entries.append(LexiconEntry(*row))
    forms = {form: entries[i] for form, i in data["forms"]}
    return forms, int(data["max_words"])


def cached_forms(build: Callable[[], tuple[dict[str, Any], int]], lexicon_path: Path,
                 tokenizer_path: Path | None) -> tuple[dict[str, Any], int]:
    """The built forms from the cache when its key matches, else `build()` (then cached).
    `lexicon_path` must exist: the key is taken over its bytes."""
    path = cache_path()
    key = build_key(lexicon_path, tokenizer_path)
    if path.is_file():
        try:
            got = load(path, key)
        except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError) as exc:
            log.warning("rebuilding the NLU forms cache %s (%s)", path.name,
                        type(exc).__name__)
        else:
            if got is not None:
                return got
            log.info("the NLU forms cache is for other sources or code: rebuilding")
    forms, max_words = build()
    try:
        save(path, key, forms, max_words)
    except OutputError:
        log.warning("cannot cache the NLU forms under %s", path.parent)
    return forms, max_words
