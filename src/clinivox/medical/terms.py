"""Lexicon indexes: exact term spotting (what was recognised) and sound-alike retrieval
(what Whisper may have meant).

`TermIndex` holds a sound key for every English lexicon form (terms and their spoken
variants) and answers, for many hypothesis spans at once, which forms sound close. It is one
Levenshtein sweep over all keys in C++ (rapidfuzz), so its cost does not depend on a prompt
budget and 68,000 forms cost tens of milliseconds per chunk.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from clinivox.medical.lexicon import Lexicon, LexiconEntry
from clinivox.medical.phonetics import Phonemizer, default_phonemizer, words_of

MAX_SPAN_WORDS = 4
MIN_KEY_LEN = 4  # shorter keys ("BP", "the") match too much by chance
VARIANT_SPELLING_SIM = 0.8  # a drug form this close to its ingredient name is a spelling variant
MIN_FORM_LETTERS = 6  # lexicon forms shorter than this are not inserted by biasing (user
# terms excepted): short brand and foreign variants ("meks", "selen") sound like anything
_VOWEL_CLASS = re.compile(r"[@aiueo]+")
# A rare drug (`LexiconEntry.rare`) ranks as if this much less similar in sound: four of
# every five drug forms are rare, and without it they fill a span's few slots ahead of the
# real drug ("linoleate mine": ten forms closer than lenalidomide, three with it).
RARE_RANK_OFFSET = 0.05


def rank_score(similarity: float, entry: LexiconEntry) -> float:
    """How retrieval orders candidates: sound similarity, less for a rare drug."""
    return similarity - (RARE_RANK_OFFSET if entry.rare else 0.0)


def sound_score(skeleton_similarity, key_similarity):
    """How close a span sounds to a form: the skeleton (vowel places) and the full key
    together. Scalars or arrays."""
    return 0.7 * skeleton_similarity + 0.3 * key_similarity


def skeleton(key: str) -> str:
    """Vowels are what Whisper and accents vary most: keep their places, not their quality."""
    return _VOWEL_CLASS.sub("V", key)


@dataclass(frozen=True)
class TermHit:
    """A lexicon term found in a text."""

    term: str  # as written in the text
    entry: LexiconEntry
    start: int  # character offsets in the text
    end: int

    def to_dict(self) -> dict:
        return {"term": self.term, "canonical": self.entry.canonical,
                "category": self.entry.category, "code": self.entry.code}


def _plurals(name: str) -> tuple[str, str, str]:
    """A name and its regular plurals ("steroid", "steroids")."""
    return name, name + "s", name + "es"


def singulars(word: str) -> tuple[str, ...]:
    """The names `word` may be the regular plural of (`_plurals` the other way)."""
    if word.endswith("es"):
        return word[:-1], word[:-2]
    return (word[:-1],) if word.endswith("s") else ()


class TermMatcher:
    """Finds lexicon terms (and spoken variants) in text: longest match first, whole words."""

    def __init__(self, lexicon: Lexicon, common_words: frozenset[str] = frozenset()) -> None:
        self.forms: dict[str, LexiconEntry] = {}
        rank = {"user": 0, "symptom": 1, "procedure": 1, "anatomy": 1, "lab": 1,
                "abbreviation": 2, "diagnosis": 3, "drug": 4}
        for e in lexicon.entries:
            if e.language != "en":
                continue
            for form in (e.term, *e.variants):
                words = words_of(form)
                # A brand name that is an everyday word ("today", "alert") is not evidence
                # of a drug; the canonical name itself or its plural ("steroids") is, and
                # curated and user terms are kept as given.
                if e.category in ("drug", "diagnosis") and len(words) == 1 \
                        and words[0] in common_words \
                        and words[0] not in _plurals(e.canonical.lower()):
                    continue
                key = " ".join(words)
                if not key:
                    continue
                old = self.forms.get(key)
                if old is None or rank.get(e.category, 5) < rank.get(old.category, 5):
                    self.forms[key] = e
        self.max_words = max((k.count(" ") + 1 for k in self.forms), default=1)
        self.max_words = min(self.max_words, 12)

    @classmethod
    def from_forms(cls, forms: dict[str, LexiconEntry], max_words: int) -> TermMatcher:
        """A matcher over forms built before (`clinivox.nlu.matcher_cache`)."""
        matcher = cls.__new__(cls)
        matcher.forms = forms
        matcher.max_words = max_words
        return matcher

    def _singular(self, key: str) -> LexiconEntry | None:
        """The term `key` is the regular plural of ("headaches", "panic attacks"): the
        lexicon lists most names in the singular. Not an abbreviation's ("MIs")."""
        if len(key) < 6:
            return None
        for stem in singulars(key):
            entry = self.forms.get(stem)
            if entry is not None and entry.category != "abbreviation":
                return entry
        return None

    def find(self, text: str) -> list[TermHit]:
        spans = [(m.group(0).lower(), m.start(), m.end())
                 for m in re.finditer(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", text)]
        hits: list[TermHit] = []
        i = 0
        while i < len(spans):
            for n in range(min(self.max_words, len(spans) - i), 0, -1):
                key = " ".join(w for w, _, _ in spans[i:i + n])
                entry = self.forms.get(key) or self._singular(key)
                if entry is not None:
                    s, e = spans[i][1], spans[i + n - 1][2]
                    hits.append(TermHit(text[s:e], entry, s, e))
                    i += n
                    break
            else:
                i += 1
        return hits


@dataclass(frozen=True)
class Candidate:
    form: str  # the written replacement
    entry: LexiconEntry
    similarity: float  # 0..1, sound (or spelling) closeness to the span


class TermIndex:
    """Sound-alike retrieval over the English lexicon forms that biasing may insert."""

    def __init__(self, lexicon: Lexicon, *, phonemizer: Phonemizer | None = None,
                 common_words: frozenset[str] = frozenset(),
                 key_cache: Path | None = None, plain_word=None,
                 screen_names: frozenset[str] = frozenset()) -> None:
        """plain_word: word -> True for ordinary English words (e.g. at most two BPE
        tokens); multi-word drug forms made only of them ("american chestnut", an allergen
        extract) are not inserted by biasing.
        screen_names: clinical names (lowercase) that `closest_common` offers besides the
        common drugs, everyday-worded ones ("headache", "steroids") included: those are
        never found by `lookup`, only screened by Whisper."""
        self.phonemizer = phonemizer or default_phonemizer()
        cache = _load_key_cache(key_cache)
        cached = len(cache)
        forms: list[str] = []
        entries: list[LexiconEntry] = []
        keys: list[str] = []
        seen: set[str] = set()
        # everyday-worded screen names: (form, entry, key), kept apart from the lookup
        extra: list[tuple[str, LexiconEntry, str]] = []
        for e in lexicon.entries:
            if e.language != "en":
                continue
            for form, spoken in [(e.term, e.term), *((e.term, v) for v in e.variants)]:
                words = words_of(spoken)
                if not words or len(words) > MAX_SPAN_WORDS:
                    continue
                # Biasing only helps where Whisper struggles: forms made only of everyday
                # words ("chest pain") it already writes, and rewriting towards them is how
                # false insertions happen. User terms are always boosted.
                everyday = e.category != "user" and all(w in common_words for w in words)
                if everyday and form.lower() not in screen_names:
                    continue
                if e.category != "user" and sum(len(w) for w in words) < MIN_FORM_LETTERS:
                    continue
                if plain_word is not None and e.category == "drug" and len(words) > 1 \
                        and all(plain_word(w) for w in words):
                    continue
                dedup = f"{form.lower()}|{' '.join(words)}"
                if dedup in seen:
                    continue
                seen.add(dedup)
                for w in words:
                    if w not in cache:
                        cache[w] = self.phonemizer.key(w)
                key = "".join(cache[w] for w in words)
                if len(key) < MIN_KEY_LEN:
                    continue
                written = form if e.category in ("abbreviation", "user") else form.lower()
                if everyday:
                    extra.append((written, e, key))
                    continue
                forms.append(written)
                entries.append(e)
                keys.append(key)
        # columns [0, n_lookup) are looked up by sound; the rest only screened
        self.n_lookup = len(forms)
        self.skeletons = [skeleton(k) for k in keys]
        self.spellings = [f.lower() for f in forms]
        for written, e, key in extra:
            forms.append(written)
            entries.append(e)
            keys.append(key)
            self.skeletons.append(skeleton(key))
        self._lookup_skeletons = self.skeletons[:self.n_lookup]
        self.forms, self.entries, self.keys = forms, entries, keys
        self.screen_names = screen_names
        self.common_words = common_words
        # `closest_common`'s columns, with their skeletons and keys (built on first use)
        self._common: tuple[np.ndarray, list[str], list[str], np.ndarray] | None = None
        if key_cache is not None and len(cache) > cached:
            _save_key_cache(key_cache, cache)
        if key_cache is not None:
            self.phonemizer.remember(cache)

    def __len__(self) -> int:
        return self.n_lookup

    def lookup(self, spans: list[str], *, min_similarity: float, per_span: int = 3
               ) -> list[list[Candidate]]:
        """For each span text, the closest lexicon forms by sound (and by spelling for
        single unusual words), best first, at least `min_similarity` similar."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        out: list[list[Candidate]] = [[] for _ in spans]
        if not spans or not self.n_lookup:
            return out
        keys, live = self._span_keys(spans)
        if not live:
            return out
        skel = [skeleton(keys[i]) for i in live]
        sim = process.cdist(skel, self._lookup_skeletons, scorer=Levenshtein.normalized_similarity,
                            score_cutoff=min_similarity, dtype=np.float32, workers=-1)
        found: list[dict[int, float]] = [{} for _ in spans]  # per span: column -> score
        for row, i in enumerate(live):
            for c in np.flatnonzero(sim[row]):
                # rank by skeleton and full-key similarity together
                full = Levenshtein.normalized_similarity(keys[i], self.keys[c])
                found[i][int(c)] = sound_score(float(sim[row, c]), full)
        # spelling: a single word Whisper wrote that is not an everyday word (a misspelt
        # drug name, "apixiban") is compared letter by letter as well
        for i, s in enumerate(spans):
            w = words_of(s)
            if len(w) != 1 or len(w[0]) < 5 or w[0] in self.common_words:
                continue
            for _, score, c in process.extract(
                    w[0], self.spellings, scorer=Levenshtein.normalized_similarity,
                    score_cutoff=max(min_similarity, 0.75), limit=4 * per_span):
                found[i][c] = max(found[i].get(c, 0.0), float(score))
        for i, cols in enumerate(found):
            out[i] = self._pick(cols, per_span)
        return out

    def closest_common(self, spans: list[str], *, k: int, min_similarity: float,
                       k_clinical: int = 0, clinical_similarity: float = 1.0
                       ) -> list[list[Candidate]]:
        """For each span text, the `k` closest drug (and user) forms that are not rare, by
        sound, however far: a short list for the model to choose from, not a verdict. And
        up to `k_clinical` of the `screen_names` (symptoms, conditions, drug classes) at
        least `clinical_similarity` close, after the drugs: they take no drug's place."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        common = self._common
        if common is None:
            clinical = [i >= self.n_lookup or self.forms[i].lower() in self.screen_names
                        for i in range(len(self.forms))]
            cols = np.array([i for i, e in enumerate(self.entries)
                             if clinical[i] or (not e.rare and e.category in ("drug", "user"))],
                            dtype=np.int64)
            common = self._common = (cols, [self.skeletons[c] for c in cols],
                                     [self.keys[c] for c in cols],
                                     np.array([clinical[c] for c in cols], dtype=bool))
        cols, col_skeletons, col_keys, col_clinical = common
        out: list[list[Candidate]] = [[] for _ in spans]
        if not spans or not cols.size:
            return out
        keys, live = self._span_keys(spans)
        if not live:
            return out
        skel = process.cdist([skeleton(keys[i]) for i in live], col_skeletons,
                             scorer=Levenshtein.normalized_similarity, dtype=np.float32,
                             workers=-1)
        full = process.cdist([keys[i] for i in live], col_keys,
                             scorer=Levenshtein.normalized_similarity, dtype=np.float32,
                             workers=-1)
        score = sound_score(skel, full)
        floor = min(min_similarity, clinical_similarity) if k_clinical else min_similarity
        for row, i in enumerate(live):
            top = np.argsort(-score[row], kind="stable")
            picked: list[Candidate] = []
            named: list[Candidate] = []  # the clinical names
            for j in top:
                sc = float(score[row, j])
                if sc < floor or (len(picked) >= k and len(named) >= k_clinical):
                    break
                c = int(cols[j])
                mine = named if col_clinical[j] else picked
                if len(mine) >= (k_clinical if col_clinical[j] else k) \
                        or sc < (clinical_similarity if col_clinical[j] else min_similarity):
                    continue
                # one spelling per drug: the list is for choosing drugs, not spellings
                if any(x.entry.canonical == self.entries[c].canonical for x in mine):
                    continue
                mine.append(Candidate(self.forms[c], self.entries[c], sc))
            out[i] = picked + named
        return out

    def similarity(self, span: str, form: str) -> float:
        """How close `span` sounds to `form`, on the scale retrieval uses."""
        from rapidfuzz.distance import Levenshtein

        a, b = self.phonemizer.key(span), self.phonemizer.key(form)
        return float(sound_score(
            Levenshtein.normalized_similarity(skeleton(a), skeleton(b)),
            Levenshtein.normalized_similarity(a, b)))

    def _span_keys(self, spans: list[str]) -> tuple[list[str], list[int]]:
        """Each span's sound key, and the spans whose key is long enough to look up."""
        keys = [self.phonemizer.key(s) for s in spans]
        return keys, [i for i, k in enumerate(keys) if len(k) >= MIN_KEY_LEN]

    def _pick(self, cols: dict[int, float], per_span: int) -> list[Candidate]:
        """The `per_span` closest forms. Spellings of one drug are not interchangeable to
        Whisper ("amoxycillin" may score 3.6 nats below "amoxicillin"), so each is a
        candidate of its own."""
        picked: list[Candidate] = []
        ranked = sorted(cols.items(),
                        key=lambda kv: (-rank_score(kv[1], self.entries[kv[0]]), kv[0]))
        for c, score in ranked:
            if any(x.form.lower() == self.spellings[c] for x in picked):
                continue
            picked.append(Candidate(self.forms[c], self.entries[c], score))
            if len(picked) >= per_span:
                break
        return picked


def preferred_spelling(written: str, entry: LexiconEntry,
                       sound_key: Callable[[str], str] | None = None) -> str:
    """How a drug form is written in the transcript. A form that is only a foreign or
    variant spelling of its ingredient's name is written as that name: close in spelling
    ("idarubicine", "idarubicina", "maprotilin" -> "idarubicin", ...) or, given `sound_key`,
    pronounced the same ("cephadroxyl" -> "cefadroxil"). Brand names, salts and
    combinations (different words or sounds: "cefotan", a brand of cefotetan) keep their own
    form. Retrieval and scoring still use the form as the lexicon has it."""
    if entry.category != "drug":
        return written
    # the screen asks this of the same few hundred forms in every chunk: cached
    return _preferred_drug_spelling(written, entry.canonical.lower(), sound_key)


@lru_cache(maxsize=100_000)
def _preferred_drug_spelling(written: str, canonical: str,
                             sound_key: Callable[[str], str] | None) -> str:
    from rapidfuzz.distance import Levenshtein

    if not canonical or written.lower() in _plurals(canonical):
        return written  # the name, or its plural ("antihistamines"), as written
    if len(canonical.split()) != len(written.split()):
        return written
    if Levenshtein.normalized_similarity(written.lower(), canonical) >= VARIANT_SPELLING_SIM:
        return canonical
    if sound_key is not None and sound_key(written.lower()) == sound_key(canonical):
        return canonical
    return written


def _load_key_cache(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}  # a damaged cache is rebuilt


def _save_key_cache(path: Path, cache: dict[str, str]) -> None:
    """Write the sound-key cache atomically. Each writer has a temporary file of its own:
    with one shared name, two processes that built their biasers at once (two workers,
    two evaluations) raced, and the second one's rename failed with FileNotFoundError and
    ended its run. The cache only saves time, so a failed write leaves it for next time."""
    from clinivox.errors import OutputError
    from clinivox.io.writers import write_gzip_text

    with contextlib.suppress(OutputError):
        write_gzip_text(path, lambda f: json.dump(cache, f))


CONTRACTION_ENDINGS = ("n't", "'ll", "'re", "'ve", "'s", "'m", "'d")
_CONTRACTION_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}  # can't, won't, shan't


def is_everyday(word: str, common_words: frozenset[str]) -> bool:
    """An everyday word: one of `common_words`, a single letter, or a contraction of one
    ("i'll", "it's", "don't": Whisper's vocabulary holds these as two tokens)."""
    if len(word) == 1 or word in common_words:
        return True
    for end in CONTRACTION_ENDINGS:
        if word.endswith(end) and len(word) > len(end):
            stem = word[:-len(end)]
            stem = _CONTRACTION_STEMS.get(stem, stem)
            return len(stem) == 1 or stem in common_words
    return False


def common_words_from_tokenizer(hf_tokenizer, limit: int = 50_000) -> frozenset[str]:
    """Everyday English words: whole lowercase words that Whisper's BPE vocabulary holds as
    one token with a leading space (BPE merges follow frequency, so these are the words
    the model writes confidently)."""
    vocab = hf_tokenizer.get_vocab()
    out = set()
    for tok, idx in vocab.items():
        if idx >= limit or not tok.startswith("Ġ"):
            continue
        w = tok[1:]
        if w.isalpha() and w.islower() and len(w) > 1:
            out.add(w)
    return frozenset(out)
