"""Loading the medical layer: lexicon, user terms, domain LM and bias profile, with defaults
in the clinivox cache (`clinivox lexicon build`, `clinivox lm build`, `clinivox tune`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from clinivox.errors import InputError
from clinivox.medical.biasing import BiasProfile, MedicalBiaser
from clinivox.medical.lexicon import Lexicon, build_lexicon, load_user_vocabulary
from clinivox.medical.lm import NGramLM
from clinivox.medical.phonetics import SOUND_KEY_VERSION
from clinivox.medical.terms import common_words_from_tokenizer

log = logging.getLogger(__name__)
DEFAULT_PROFILE = Path(__file__).with_name("default_profile.json")
# Profiles shipped with clinivox, by name (`--bias-profile fast`). `thorough` (the acoustic
# screen) became the default on 2026-12-02; the name is kept for existing scripts.
# `primed` adds domain priming (`BiasProfile.prime`), for conversational clinical audio.
BUILTIN_PROFILES = {"default": DEFAULT_PROFILE,
                    "fast": Path(__file__).with_name("fast_profile.json"),
                    "primed": Path(__file__).with_name("primed_profile.json"),
                    "thorough": DEFAULT_PROFILE}
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


def default_profile_path() -> Path:
    return medical_dir() / "profile.json"


def resolve_profile(profile: str | Path | None) -> Path:
    """The bias profile file: `profile` as a path, or the name of a built-in profile
    (`fast`); None: the cache's tuned profile, else the built-in default."""
    if profile is None:
        cached = default_profile_path()
        return cached if cached.is_file() else DEFAULT_PROFILE
    path = Path(profile)
    if path.is_file():
        return path
    if str(profile) in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[str(profile)]
    raise InputError(f"bias profile not found: {path.name} (give a profile file from "
                     f"`clinivox tune`, or one of: {', '.join(BUILTIN_PROFILES)})")


def caches_ready() -> bool:
    """Whether the lexicon and its sound keys are cached (else the first load builds them)."""
    return default_lexicon_path().is_file() and \
        (medical_dir() / f"sound_keys.v{SOUND_KEY_VERSION}.json.gz").is_file()


def load_lexicon(path: str | Path | None = None, vocab_files: Sequence[str | Path] = ()
                 ) -> Lexicon:
    """The lexicon at `path`, else the cached build, else a fresh build (then cached)."""
    if path is not None:
        lex = Lexicon.load(Path(path))
    elif default_lexicon_path().is_file():
        lex = Lexicon.load(default_lexicon_path())
    else:
        lex = build_lexicon()
        try:
            lex.save(default_lexicon_path())
        except OSError:
            log.warning("cannot cache the lexicon under %s", default_lexicon_path())
    for vocab in vocab_files:
        lex.extend(load_user_vocabulary(vocab))
    return lex


def load_biaser(engine, *, lexicon: str | Path | None = None,
                vocab_files: Sequence[str | Path] = (), lm: str | Path | None = None,
                profile: str | Path | None = None, user_only: bool = False) -> MedicalBiaser:
    """A biaser for `engine` (its tokenizer decides which words count as everyday words).

    user_only: bias with the user vocabulary alone (no built-in lexicon)."""
    if user_only:
        lex = Lexicon()
        for vocab in vocab_files:
            lex.extend(load_user_vocabulary(vocab))
    else:
        lex = load_lexicon(lexicon, vocab_files)
    lm_model = None
    prompt = None
    prof = BiasProfile.load(resolve_profile(profile))
    lm_path = Path(lm) if lm is not None else default_lm_path()
    if lm is not None or lm_path.is_file():
        lm_model = NGramLM.load_arpa(lm_path)
        # read only by a profile that primes or proposes: a damaged prompt file leaves the
        # others (`fast`) alone
        prompt_file = domain_prompt_path(lm_path)
        if (prof.prime or prof.propose) and not user_only and prompt_file.is_file():
            try:
                prompt = prompt_file.read_text(encoding="utf-8").strip() or None
            except (OSError, UnicodeDecodeError):
                raise InputError(f"cannot read the domain prompt {prompt_file.name}") from None
    if lm_model is None and prof.lm_weight:
        prof = BiasProfile(**{**prof.__dict__, "lm_weight": 0.0})
    common = common_words_from_tokenizer(engine.hf_tokenizer)
    key_cache = medical_dir() / f"sound_keys.v{SOUND_KEY_VERSION}.json.gz"
    tok = engine.hf_tokenizer

    @cache
    def plain_word(word: str) -> bool:
        return len(tok.encode(" " + word, add_special_tokens=False).ids) <= 2

    return MedicalBiaser(lex, lm=lm_model, profile=prof, common_words=common,
                         key_cache=key_cache, plain_word=plain_word, domain_prompt=prompt)
