"""`load_biaser`: a `MedicalBiaser` from the lexicon, user terms, domain LM and profile,
with defaults in the clinivox cache (`clinivox lexicon build`, `lm build`, `tune`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clinivox.asr.models import model_record
from clinivox.biasing.hook import MedicalBiaser
from clinivox.biasing.knowledge import bpe_plain_word
from clinivox.biasing.profile import BiasProfile, resolve_profile
from clinivox.errors import InputError
from clinivox.medical.lexicon import Lexicon, LexiconEntry, load_user_vocabulary
from clinivox.medical.lm import NGramLM
from clinivox.medical.phonetics import SOUND_KEY_VERSION
from clinivox.medical.terms import common_words_from_tokenizer
from clinivox.medical.vocabulary import (
    default_lm_path,
    domain_prompt_path,
    load_lexicon,
    medical_dir,
)

MAX_USER_TERMS = 500  # terms given inline (a stream's config), at most
MAX_TERM_CHARS = 100


def user_entries(terms: Sequence[object]) -> list[LexiconEntry]:
    """Lexicon entries for terms given inline; InputError for anything but short strings."""
    if len(terms) > MAX_USER_TERMS:
        raise InputError(f"at most {MAX_USER_TERMS} vocabulary terms, got {len(terms)}")
    out = []
    for t in terms:
        if not isinstance(t, str) or not t.strip() or len(t) > MAX_TERM_CHARS:
            raise InputError(f"vocabulary terms must be non-empty strings of at most "
                             f"{MAX_TERM_CHARS} characters")
        out.append(LexiconEntry(t.strip(), t.strip(), "user"))
    return out


def trained_with_term_prompts(engine: Any) -> bool:
    """Whether the engine's model was fine-tuned by clinivox with term-list prompts (the
    clinical builds, `clinical.json`; `clinivox finetune` exports, `clinivox.json`)."""
    path = getattr(getattr(engine, "ref", None), "path", None)
    if path is None:
        return False
    if (Path(path) / "clinical.json").is_file():
        return True
    info = model_record(Path(path), "clinivox.json")
    return info is not None and bool(info.get("term_prompts", True))


def load_biaser(engine: Any, *, lexicon: str | Path | None = None,
                vocab_files: Sequence[str | Path] = (), lm: str | Path | None = None,
                profile: str | Path | None = None, user_only: bool = False,
                user_terms: Sequence[str] = ()) -> MedicalBiaser:
    """A biaser for `engine` (its tokenizer decides which words count as everyday words).

    user_only: bias with the user vocabulary alone (no built-in lexicon). user_terms: terms
    given inline (a stream's `vocab`), beside `vocab_files`."""
    inline = user_entries(user_terms)
    if user_only:
        lex = Lexicon()
        for vocab in vocab_files:
            lex.extend(load_user_vocabulary(vocab))
    else:
        lex = load_lexicon(lexicon, vocab_files)
    lex.extend(inline)
    lm_model = None
    prompt = None
    # a model trained with term-list prompts gets the profile tuned for such models
    prof = BiasProfile.load(resolve_profile(profile, clinical=trained_with_term_prompts(engine)))
    if prof.verifier:  # a missing or damaged verifier: a clear error now, not mid-decode
        from clinivox.biasing.verifier import load_verifier

        load_verifier(prof.verifier)
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
    return MedicalBiaser(lex, lm=lm_model, profile=prof, common_words=common,
                         key_cache=key_cache, plain_word=bpe_plain_word(engine.hf_tokenizer),
                         domain_prompt=prompt)
