"""ICD-10-CM's tabular list as clinivox reads it: each item's title and children.

The source is the simple-icd-10-cm package, whose import parses its XML into 98,505 items
on every start of a process: about 4 s on two CPU cores, the largest part of what
`clinivox extract` took before it printed anything. What the NLU asks of it (titles,
children, the list of codes) is written once to a cache file beside the lexicon
(`$CLINIVOX_HOME/medical/icd10cm-<package version>.json.gz`, owner-only), which later
processes read in a fifth of the time (bench/bench_cold_start.py). The file is rebuilt
when the package's version changes, or when it cannot be read.

    from clinivox.medical.icd10cm import tabular

    icd = tabular()  # None where simple-icd-10-cm is not installed
    icd.description("R07.9")  # "Chest pain, unspecified"
    icd.children("R07")  # ["R07.0", "R07.1", ...]

Codes are taken as simple-icd-10-cm takes them (with or without the dot; blocks such as
"A00-A09"; where a block and a category share a name, the category).
"""

from __future__ import annotations

import gzip
import json
import logging
from functools import lru_cache
from pathlib import Path

from clinivox.errors import OutputError

log = logging.getLogger(__name__)

FORMAT = 1  # of the cache file


class Tabular:
    """The items of ICD-10-CM: `codes(with_dots)` in the package's order, and for each
    item its description and children (dotted, as the package gives them)."""

    def __init__(self, dotted: list[str], undotted: list[str], titles: list[str],
                 children: list[list[int]]) -> None:
        if not len(dotted) == len(undotted) == len(titles) == len(children):
            raise ValueError("an ICD-10-CM table needs one title and child list per code")
        self._dotted = dotted
        self._undotted = undotted
        self._titles = titles
        self._children = children
        self._index = _last_of(dotted)
        self._index.update(_last_of(undotted))

    def __len__(self) -> int:
        return len(self._dotted)

    def codes(self, with_dots: bool = True) -> list[str]:
        return list(self._dotted if with_dots else self._undotted)

    def is_valid(self, code: str) -> bool:
        return code in self._index

    def description(self, code: str) -> str:
        return self._titles[self._at(code)]

    def children(self, code: str) -> list[str]:
        return [self._dotted[j] for j in self._children[self._at(code)]]

    def is_leaf(self, code: str) -> bool:
        return not self._children[self._at(code)]

    def _at(self, code: str) -> int:
        try:
            return self._index[code]
        except KeyError:
            raise ValueError(f"{code!r} is not an ICD-10-CM code") from None

    # -- the cache file ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write whole or not at all, readable by the owner only (`write_gzip_text`; an
        OutputError when it cannot be written)."""
        from clinivox.io.writers import write_gzip_text

        write_gzip_text(path, lambda f: json.dump(
            {"format": FORMAT, "dotted": self._dotted, "undotted": self._undotted,
             "titles": self._titles, "children": self._children}, f, separators=(",", ":")))

    @classmethod
    def load(cls, path: Path) -> Tabular:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path.name}: format {data.get('format')!r}, not {FORMAT}")
        return cls(data["dotted"], data["undotted"], data["titles"], data["children"])

    @classmethod
    def from_package(cls) -> Tabular:
        """Read simple-icd-10-cm (imports it: seconds)."""
        import simple_icd_10_cm as cm

        dotted = cm.get_all_codes(True)
        undotted = cm.get_all_codes(False)
        at = _last_of(dotted)
        titles = [cm.get_description(c) for c in dotted]
        children = [[at[k] for k in cm.get_children(c)] for c in dotted]
        return cls(dotted, undotted, titles, children)


def _last_of(codes: list[str]) -> dict[str, int]:
    """Each name's position, the last where it occurs twice: 39 names are a block and the
    category it holds ("B99"), the block listed first; the package reads such a name as the
    category unless asked for blocks (prioritize_blocks=False), and so does this table."""
    return {code: i for i, code in enumerate(codes)}


def package_version() -> str | None:
    """simple-icd-10-cm's installed version, read without importing it; None when absent."""
    from importlib import metadata

    try:
        return metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:
        return None


def cache_path(version: str) -> Path:
    from clinivox.medical.vocabulary import medical_dir

    return medical_dir() / f"icd10cm-{version}.v{FORMAT}.json.gz"


@lru_cache(maxsize=1)
def tabular() -> Tabular | None:
    """ICD-10-CM from the cache file, else from simple-icd-10-cm (then cached); None where
    the package is not installed (codes are then taken as the lexicon gives them)."""
    version = package_version()
    if version is None:
        return None
    path = cache_path(version)
    if path.is_file():
        try:
            return Tabular.load(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            log.warning("rebuilding the ICD-10-CM cache %s (%s)", path.name,
                        type(exc).__name__)
    try:
        table = Tabular.from_package()
    except ImportError:
        return None
    try:
        table.save(path)
    except OutputError:
        log.warning("cannot cache ICD-10-CM under %s", path.parent)
    return table
