"""Error rates and term recall, with the scoring conventions of the shared data sets.

English WER is computed after Whisper's English text normaliser; Mandarin CER on characters
without punctuation or spaces; term recall counts a term found when it occurs in the
hypothesis case-insensitively with a word boundary at its start, as written or (English)
after the same normaliser, so British and American spellings of a term both count.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

CJK_LANGS = {"zh", "ja", "yue", "ko"}


@lru_cache(maxsize=1)
def _english_normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


@lru_cache(maxsize=1)
def _basic_normalizer():
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize_text(text: str, language: str | None = "en") -> str:
    """Normalise for scoring: Whisper's English normaliser, or the basic one elsewhere."""
    if language in (None, "en"):
        return " ".join(_english_normalizer()(text).split())
    if language in CJK_LANGS:
        return "".join(ch for ch in unicodedata.normalize("NFKC", text)
                        if not unicodedata.category(ch).startswith(("P", "Z", "S", "C")))
    return " ".join(_basic_normalizer()(text).split())


@dataclass(frozen=True)
class ErrorCounts:
    substitutions: int
    deletions: int
    insertions: int
    reference_length: int  # words (WER) or characters (CER)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        if self.reference_length == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.reference_length

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(self.substitutions + other.substitutions,
                           self.deletions + other.deletions,
                           self.insertions + other.insertions,
                           self.reference_length + other.reference_length)


def edit_counts(ref: list[str], hyp: list[str]) -> ErrorCounts:
    """Levenshtein alignment counts between token lists."""
    n, m = len(ref), len(hyp)
    # dp rows of (cost, subs, dels, ins)
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [(0, 0, 0, 0)] * m
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                cur[j] = prev[j - 1]
                continue
            s, d, a = prev[j - 1], prev[j], cur[j - 1]
            best = min(s[0], d[0], a[0])
            if s[0] == best:
                cur[j] = (s[0] + 1, s[1] + 1, s[2], s[3])
            elif d[0] == best:
                cur[j] = (d[0] + 1, d[1], d[2] + 1, d[3])
            else:
                cur[j] = (a[0] + 1, a[1], a[2], a[3] + 1)
        prev = cur
    _, subs, dels, ins = prev[m]
    return ErrorCounts(subs, dels, ins, n)


def uses_cer(language: str | None) -> bool:
    return language in CJK_LANGS


def error_counts(reference: str, hypothesis: str, language: str | None = "en") -> ErrorCounts:
    """Word errors (characters for CJK languages) after normalisation."""
    ref, hyp = normalize_text(reference, language), normalize_text(hypothesis, language)
    if uses_cer(language):
        return edit_counts(list(ref), list(hyp))
    return edit_counts(ref.split(), hyp.split())


def wer(reference: str, hypothesis: str, language: str | None = "en") -> float:
    return error_counts(reference, hypothesis, language).rate


def term_found(term: str, hypothesis: str, language: str | None = "en") -> bool:
    """Case-insensitive match with a word boundary at the start of the term.

    English terms also count when found after the normaliser that WER is scored with, so
    a spelling WER counts as correct is a recognised term too ("diarrhea" for the
    reference's "diarrhoea"). There the whole word must match (a plural -s/-es allowed):
    the normaliser writes numbers as digits, and "5" must not be found in "50"."""
    return _term_found(term, hypothesis, language, {})


def _term_found(term: str, hypothesis: str, language: str | None, normed: dict) -> bool:
    """`term_found`, with the normalised hypothesis kept in `normed` across terms."""
    if re.search(r"(?<!\w)" + re.escape(term.strip()), hypothesis, re.IGNORECASE):
        return True
    if language not in (None, "en"):
        return False
    norm = normalize_text(term, language)
    if not norm:
        return False
    if "hyp" not in normed:
        normed["hyp"] = normalize_text(hypothesis, language)
    return re.search(r"(?<!\w)" + re.escape(norm) + r"(?:e?s)?(?!\w)",
                     normed["hyp"]) is not None


def term_recall(terms: list[str], hypothesis: str, language: str | None = "en"
                ) -> tuple[int, int]:
    """(found, total) of the reference terms in the hypothesis (normalised at most once)."""
    terms = [t for t in terms if t.strip()]
    normed: dict = {}
    return sum(_term_found(t, hypothesis, language, normed) for t in terms), len(terms)


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


def heard_span(reference: str, hypothesis: str, start: int, end: int) -> tuple[int, int] | None:
    """Where `hypothesis` (a transcript) says what `reference` says at [start, end): the
    character span of the hypothesis words aligned (word-level edit alignment, case and
    punctuation aside) with the reference words the span touches, or None when the
    recogniser wrote none of them (it dropped the words). "My name is Mary O'Connor" heard
    as "My name is married Oconor": the span of "married Oconor". For judging redaction on
    speech: a value the recogniser misheard is still an identifier, in other letters."""
    from difflib import SequenceMatcher

    ref = [(m.start(), m.end(), m.group(0).lower()) for m in _TOKEN.finditer(reference)]
    hyp = [(m.start(), m.end(), m.group(0).lower()) for m in _TOKEN.finditer(hypothesis)]
    want = {i for i, (a, b, _) in enumerate(ref) if a < end and start < b}
    got: list[int] = []
    matcher = SequenceMatcher(None, [w for *_, w in ref], [w for *_, w in hyp], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            got += [j1 + k for k in range(i2 - i1) if i1 + k in want]
        elif op == "replace" and want & set(range(i1, i2)):
            # misheard: each written word stands for the said word of the run it is most
            # like ("E62450 emitted" for "E624050 admitted": "emitted" is "admitted"); a
            # word like none of them, for the value
            for j in range(j1, j2):
                like = [(SequenceMatcher(None, hyp[j][2], ref[i][2]).ratio(), i)
                        for i in range(i1, i2)]
                best = max(like)
                if best[0] == 0.0 or best[1] in want:
                    got.append(j)
    if not got:
        return None
    return hyp[min(got)][0], hyp[max(got)][1]
