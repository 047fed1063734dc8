"""Sound keys for matching what Whisper wrote against lexicon terms.

A term and a misrecognition of it ("apixaban" / "the picks up in") are far apart in spelling
and close in sound. Words go through espeak-ng's grapheme-to-phoneme rules (the espeak build
that Piper ships, no network and no torch), then through a reduction that drops stress and
length and merges vowels Whisper confuses, so the Levenshtein distance between two keys
measures how differently they sound. Without Piper installed a rule-based spelling key is
used instead (weaker, still better than letters).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# IPA as espeak writes it -> one ASCII symbol per sound class.
_VOWELS = {
    "ə": "@", "ɐ": "@", "ʌ": "@", "ɜ": "@", "ɚ": "@r", "ɝ": "@r", "ᵊ": "@",
    "a": "a", "æ": "a", "ɑ": "a", "ɒ": "a",
    "ɪ": "i", "i": "i", "ᵻ": "i", "ɨ": "i", "y": "i",
    "ʊ": "u", "u": "u", "ɯ": "u",
    "ɛ": "e", "e": "e",
    "ɔ": "o", "o": "o", "ɵ": "o",
}
_CONSONANTS = {
    "ɹ": "r", "ɾ": "t", "ð": "D", "θ": "T", "ʃ": "S", "ʒ": "Z", "ŋ": "N", "ɡ": "g",
    "ɬ": "l", "ʲ": "", "ʔ": "", "x": "k", "ç": "h", "ɣ": "g", "ʍ": "w",
}
SOUND_KEY_VERSION = 2  # bump when the reduction changes: cached keys are then rebuilt
_DROP = set("ˈˌːˑ̩̃ ‿-'.,;:!?\"()")


def reduce_ipa(ipa: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFD", ipa):
        if ch in _DROP or unicodedata.combining(ch):
            continue
        out.append(_VOWELS.get(ch) or _CONSONANTS.get(ch, ch))
    key = "".join(out)
    return re.sub(r"(.)\1+", r"\1", key)  # doubled sounds are one sound


_SPELL_RULES = [
    (r"ph", "f"), (r"gh", "g"), (r"ck", "k"), (r"qu", "kw"), (r"q", "k"), (r"x", "ks"),
    (r"c(?=[eiy])", "s"), (r"c", "k"), (r"sch", "sk"), (r"sh", "S"), (r"ch", "S"),
    (r"th", "T"), (r"z", "s"), (r"y(?=[^aeiou]|$)", "i"), (r"[aeiou]+", "@"), (r"h", ""),
]


def spelling_key(text: str) -> str:
    """A phonetic key from spelling rules alone (the fallback without espeak)."""
    s = re.sub(r"[^a-z]", "", text.lower())
    for pat, rep in _SPELL_RULES:
        s = re.sub(pat, rep, s)
    return re.sub(r"(.)\1+", r"\1", s)


class Phonemizer:
    """Text -> reduced sound key. Thread-safe; results are cached per word."""

    def __init__(self, voice: str = "en-us") -> None:
        self.voice = voice
        self._lock = threading.Lock()
        self._espeak = None
        try:
            from piper.phonemize_espeak import EspeakPhonemizer

            self._espeak = EspeakPhonemizer()
        except Exception:  # no Piper/espeak: the spelling key is the fallback
            self._espeak = None
        self._word = lru_cache(maxsize=200_000)(self._word_key)
        self._known: dict[str, str] = {}  # keys computed before (`remember`)

    @property
    def backend(self) -> str:
        return "espeak-ng" if self._espeak is not None else "spelling-rules"

    def _word_key(self, word: str) -> str:
        if not word:
            return ""
        if self._espeak is None:
            return spelling_key(word)
        with self._lock:
            sentences = self._espeak.phonemize(self.voice, word)
        return reduce_ipa("".join(ch for s in sentences for ch in s))

    def key(self, text: str) -> str:
        """The sound key of a word or phrase (words keyed one by one, then joined)."""
        known = self._known
        return "".join(known[w] if w in known else self._word(w) for w in words_of(text))

    def remember(self, keys: dict[str, str]) -> None:
        """Take word keys this phonemizer computed before (the lexicon's key cache), so
        that they are not computed again."""
        self._known.update(keys)


_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words_of(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


_default: Phonemizer | None = None


def default_phonemizer() -> Phonemizer:
    global _default
    if _default is None:
        _default = Phonemizer()
    return _default
