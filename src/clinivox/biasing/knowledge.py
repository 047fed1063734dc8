"""What the biasing stages know about words: the lexicon's matcher and sound index, and
which written words are everyday words, correctly spelt medical words or term words.

Kept apart from the stages so that each stage reads the same judgement of a word, and so
that it is built once per biaser (the sound index takes seconds) and shared by every chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from clinivox.biasing.rewrites import Correction, dress
from clinivox.medical.lexicon import Lexicon, LexiconEntry, everyday_clinical_names
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import (
    TermHit,
    TermIndex,
    TermMatcher,
    is_everyday,
    preferred_spelling,
    singulars,
)


def bpe_plain_word(hf_tokenizer: Any) -> Callable[[str], bool]:
    """word -> whether Whisper's BPE writes it in at most two pieces: an ordinary word, not
    a name the model tried to spell ("dixifenivate"). Cached per word."""
    @cache
    def plain_word(word: str) -> bool:
        return len(hf_tokenizer.encode(" " + word, add_special_tokens=False).ids) <= 2
    return plain_word


class TermKnowledge:
    def __init__(self, lexicon: Lexicon, *, common_words: frozenset[str] = frozenset(),
                 key_cache: Path | None = None,
                 plain_word: Callable[[str], bool] | None = None) -> None:
        self.lexicon = lexicon
        self.plain_word = plain_word
        self.matcher = TermMatcher(lexicon, common_words)
        self.index = TermIndex(lexicon, common_words=common_words, key_cache=key_cache,
                               plain_word=plain_word, screen_names=everyday_clinical_names())
        # words of multi-word lexicon terms ("rheumatoid" of rheumatoid arthritis): written
        # alone, they are medical words Whisper spelt correctly, not garbled names
        self.term_words = frozenset(
            w for form in self.matcher.forms if " " in form
            for w in form.split() if len(w) > 3 and w.isalpha())

    @property
    def common_words(self) -> frozenset[str]:
        return self.index.common_words

    @property
    def sound_key(self) -> Callable[[str], str]:
        """A form's reduced phoneme key (how it sounds), from the index's phonemizer."""
        return self.index.phonemizer.key

    def is_form(self, words: list[str]) -> bool:
        """The words (punctuation and case aside) are a lexicon form."""
        return " ".join(words_of(" ".join(words))) in self.matcher.forms

    def plain_span(self, written: list[str]) -> bool:
        """Everyday words and correctly spelt medical words only (see `medical_word`). A
        hyphenated word counts only when each part is an everyday word ("three-day"):
        hyphens are also how Whisper spells out a word it does not know ("ankle-o-sinks
        bond lighters" for ankylosing spondylitis)."""
        common = self.common_words
        for w in written:
            parts = w.strip("-").split("-")
            if len(parts) > 1 and not all(p in common for p in words_of(" ".join(parts))):
                return False
        return all(is_everyday(w, common) or self.medical_word(w)
                   for w in words_of(" ".join(written)))

    def plural(self, form: str) -> bool:
        """A lexicon form that is the regular plural of another ("antihistamines")."""
        return any(stem in self.matcher.forms for stem in singulars(form.lower()))

    def term_word(self, written: str) -> bool:
        """A written word that is not an everyday word and is a lexicon term or an
        inflection of one ("fevers": the screen had rewritten "fevers, um" as fortum)."""
        common = self.common_words
        forms = self.matcher.forms
        for w in words_of(written):
            if is_everyday(w, common):
                continue
            if w in forms or any(st in forms for st in stems(w)):
                return True
        return False

    def medical_word(self, w: str) -> bool:
        """A word of a multi-word lexicon term ("rheumatoid"), or an inflection of a term or
        of such a word ("fevers", "coughing"): a medical word Whisper spelt correctly."""
        if w in self.term_words:
            return True
        return any(st in self.term_words or st in self.matcher.forms
                   or st in self.common_words for st in stems(w))

    def new_terms(self, text: str, have: set[str]) -> list[TermHit]:
        """The lexicon terms in a re-decoded `text` whose canonical is not in `have` (the
        span's own). An external cause (ICD-10-CM V00-Y99: "terrorism", "fall") is not a
        term a clinician says."""
        return [h for h in self.matcher.find(text)
                if h.entry.canonical not in have and not external_cause(h.entry)]

    def respell(self, text: str) -> tuple[str, list[Correction]]:
        """`text` with drug names that are only variant spellings of their ingredient
        written as the ingredient name, and a correction (score 0) for each."""
        out, fixed, last = [], [], 0
        for hit in self.matcher.find(text):
            written = preferred_spelling(hit.term.lower(), hit.entry, self.sound_key)
            if written == hit.term.lower():
                continue
            out += [text[last:hit.start], dress(written, [hit.term])]
            last = hit.end
            fixed.append(Correction(hit.term, written, 0.0, 1.0, hit.entry.category,
                                    hit.entry.code))
        return "".join(out) + text[last:], fixed

    def terms(self, text: str) -> list[dict]:
        """The lexicon terms in `text`, with category and code."""
        return [h.to_dict() for h in self.matcher.find(text)]


def stems(w: str) -> list[str]:
    """What an inflected word may be an inflection of ("fevers" -> fever, "coughing" ->
    cough, "wheezed" -> wheez, wheeze)."""
    out = []
    for end in ("s", "es", "ing", "ed"):
        if w.endswith(end) and len(w) > len(end) + 2:
            out += [w[:-len(end)], w[:-len(end)] + "e"]
    return out


def external_cause(entry: LexiconEntry) -> bool:
    """An ICD-10-CM external cause of morbidity (chapter 20, V00-Y99), not a diagnosis."""
    return entry.category == "diagnosis" and (entry.code or " ")[0] in "VWXY"
