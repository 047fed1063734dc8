"""The medical knowledge in the clinivox cache: the lexicon (`clinivox lexicon build`), user
terms, the domain LM and its prompt (`clinivox lm build`). The biaser that uses them is
built by `clinivox.biasing.load_biaser`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from clinivox.errors import OutputError
from clinivox.medical.lexicon import (
    Lexicon,
    LexiconFileError,
    build_lexicon,
    load_user_vocabulary,
)
from clinivox.medical.phonetics import SOUND_KEY_VERSION
from clinivox.medical.terms import common_words_from_tokenizer

log = logging.getLogger(__name__)
# Bumped when the built-in sources change what the lexicon holds, so a cached build from an
# older clinivox is rebuilt rather than silently used (2: ICD titles without qualifiers;
# 3: ICD-10-CM inclusion terms; 4: drugs without a MedlinePlus monograph marked rare;
# 5: drug classes and common names of conditions, `vocab_data`).
LEXICON_VERSION = 5


def medical_dir() -> Path:
    from clinivox.asr.models import cache_dir

    return cache_dir() / "medical"


def default_lexicon_path() -> Path:
    return medical_dir() / f"lexicon.v{LEXICON_VERSION}.jsonl.gz"


def default_lm_path() -> Path:
    return medical_dir() / "lm.arpa.gz"


def domain_prompt_path(lm_path: str | Path) -> Path:
    """The domain prompt written beside an LM by `clinivox lm build` (lm.arpa.gz ->
    lm.prompt.txt)."""
    lm_path = Path(lm_path)
    stem = lm_path.name
    for ext in (".gz", ".arpa"):
        stem = stem.removesuffix(ext)
    return lm_path.with_name(f"{stem}.prompt.txt")


def everyday_words(model: str = "tiny.en") -> frozenset[str]:
    """`common_words_from_tokenizer` for a model, from its tokenizer file alone."""
    import tokenizers

    from clinivox.asr.models import resolve_model

    path = resolve_model(model).path / "tokenizer.json"
    return common_words_from_tokenizer(tokenizers.Tokenizer.from_file(str(path)))


def caches_ready() -> bool:
    """Whether the lexicon and its sound keys are cached (else the first load builds them)."""
    return default_lexicon_path().is_file() and \
        (medical_dir() / f"sound_keys.v{SOUND_KEY_VERSION}.json.gz").is_file()


def load_lexicon(path: str | Path | None = None, vocab_files: Sequence[str | Path] = ()
                 ) -> Lexicon:
    """The lexicon at `path`, else the cached build, else a fresh build (then cached)."""
    lex = None
    if path is not None:
        lex = Lexicon.load(Path(path))
    elif default_lexicon_path().is_file():
        try:
            lex = Lexicon.load(default_lexicon_path())
        except LexiconFileError as exc:  # a damaged cache (a full disk, an edit): rebuilt
            log.warning("rebuilding the lexicon cache (%s)", exc)
    if lex is None:
        lex = build_lexicon()
        try:
            lex.save(default_lexicon_path())
        except OutputError:
            log.warning("cannot cache the lexicon under %s", default_lexicon_path())
    for vocab in vocab_files:
        lex.extend(load_user_vocabulary(vocab))
    return lex
