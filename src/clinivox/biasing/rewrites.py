"""Candidate rewrites of a chunk's words, the decision among them, and the corrections
they become.

A `Rewrite` replaces words [a, b) of one segment by a lexicon form; its `gain` weighs the
evidence (`BiasProfile`). `ChunkRewrites` holds a chunk's words and scored rewrites: what
`decide` needs, kept so that `clinivox tune` can replay decisions under other weights.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from clinivox.asr.types import Correction  # noqa: F401  (re-exported: biasing.Correction)
from clinivox.biasing.profile import BiasProfile
from clinivox.biasing.verifier import Verifier, load_verifier
from clinivox.medical.lexicon import LexiconEntry
from clinivox.medical.terms import preferred_spelling


@dataclass
class Rewrite:
    """One candidate: span [a, b) of segment `seg` replaced by `form`."""

    seg: int
    a: int
    b: int
    form: str
    entry: LexiconEntry
    similarity: float
    d_am: float = 0.0
    d_lm: float = 0.0
    span_logprob: float = 0.0  # Whisper's mean token log-prob over the replaced words
    screened: bool = False  # chosen by the acoustic screen (`biasing.screen`)
    screen_only: bool = False  # ... and not found by the sound lookup
    # A primed re-decode's words for the span (`biasing.proposals`): the term and the
    # words it came with ("paracetamol if you're" for "pairs that involve your"), or None
    text: str | None = None
    proposed: bool = False  # found by a primed re-decode (`biasing.proposals`)

    def written(self, final: bool = False, sound_key: Callable[[str], str] | None = None) -> str:
        """The replacement: the form as scored, or with `final` as the transcript writes it
        (variant spellings as the ingredient name); a proposal's words as decoded."""
        if self.text is not None:
            return self.text
        return preferred_spelling(self.form, self.entry, sound_key) if final else self.form

    @property
    def d_len(self) -> int:
        """Words of the replacement minus words of the span it replaces."""
        return len(self.written().split()) - (self.b - self.a)

    def gain(self, p: BiasProfile) -> float:
        return (p.am_weight * self.d_am + p.lm_weight * self.d_lm
                + p.length_weight * self.d_len + p.bias * self.entry.weight
                - (p.rare_penalty if self.entry.rare else 0.0)
                - (p.screen_penalty if self.screen_only else 0.0))

    def considered(self, p: BiasProfile) -> bool:
        """Whether the decision under `p` weighs this rewrite at all: its gain above
        `min_score`, on a span Whisper wrote under the gate (the verifier trains on these)."""
        return self.gain(p) > p.min_score and self.span_logprob <= p.gate_logprob


@dataclass
class ChunkRewrites:
    """Everything rescoring needs to decide, kept so `tune` can replay decisions."""

    words: list[list[str]]  # per segment: its whitespace words
    rewrites: list[Rewrite] = field(default_factory=list)

    def decide(self, p: BiasProfile, check: Verifier | None = None) -> list[Rewrite]:
        """The rewrites to apply: by gain, above `min_score`, on spans Whisper was unsure
        of, that the profile's verifier (or `check`) accepts, one per span (a rejected
        rewrite leaves its span to the next candidate)."""
        kept: list[Rewrite] = []
        taken: dict[int, list[tuple[int, int]]] = {}
        if check is None and p.verifier:
            check = load_verifier(p.verifier)
        for rw in sorted(self.rewrites, key=lambda r: -r.gain(p)):
            if not rw.considered(p) or (check is not None and not check.accept(rw, p)):
                continue
            spans = taken.setdefault(rw.seg, [])
            if any(rw.a < b and a < rw.b for a, b in spans):
                continue
            spans.append((rw.a, rw.b))
            kept.append(rw)
        return kept

    def texts(self, chosen: list[Rewrite],
              sound_key: Callable[[str], str] | None = None) -> list[str]:
        out = []
        for s, words in enumerate(self.words):
            reps = sorted((r for r in chosen if r.seg == s), key=lambda r: r.a)
            out.append(" ".join(rewrite_words(words, reps, final=True, sound_key=sound_key)))
        return out


def rewrite_words(words: list[str], reps: list[Rewrite], final: bool = False,
                  sound_key: Callable[[str], str] | None = None) -> list[str]:
    """The words with each rewrite applied: the form as scored, or with `final` as the
    transcript writes it (variant spellings as the ingredient name)."""
    out: list[str] = []
    i = 0
    for r in reps:
        out.extend(words[i:r.a])
        out.append(dress(r.written(final, sound_key), words[r.a:r.b]))
        i = r.b
    out.extend(words[i:])
    return out


def dress(form: str, span: list[str]) -> str:
    """The replacement with the span's outer punctuation and sentence-initial capital."""
    lead = re.match(r"^[\"(\[]*", span[0]).group(0)  # type: ignore[union-attr]
    trail = re.search(r"[.,;:!?)\]\"]*$", span[-1].rstrip("'")).group(0)  # type: ignore[union-attr]
    core = span[0][len(lead):]
    if core[:1].isupper() and form[:1].islower():
        form = form[:1].upper() + form[1:]
    return f"{lead}{form}{trail}"
