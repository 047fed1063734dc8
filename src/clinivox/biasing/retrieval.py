"""Retrieval and rescoring: sound-alike lexicon forms for every span of a chunk's words,
then Whisper's and the LM's verdict on each (`d_am`, `d_lm`, `span_logprob`).

Every span of one to four words in the hypothesis is keyed by sound (espeak phonemes,
reduced) and compared with all lexicon forms (`TermIndex`, one C++ sweep): "the picks up in"
retrieves "apixaban"; ordinary speech retrieves little. Where the beam's other hypotheses
differ from the best one, their words there are keys for the same span too ("Esther
Mustang" is "Astromustine" in another one).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clinivox.biasing.context import ChunkContext, window
from clinivox.biasing.rewrites import ChunkRewrites, Rewrite, rewrite_words
from clinivox.biasing.scoring import score_packed
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import MAX_SPAN_WORDS, rank_score
from clinivox.units import SAMPLES_PER_FRAME

if TYPE_CHECKING:
    import numpy as np

# Everyday words (and medical words spelt right) are rewritten only into a form this close
COMMON_SPAN_MIN_SIMILARITY = 0.8


@dataclass
class Candidates:
    """A chunk's words and its candidate rewrites, one per (segment, span, form)."""

    words: list[list[str]]
    rewrites: list[Rewrite] = field(default_factory=list)
    seen: dict[tuple[int, int, int, str], Rewrite] = field(default_factory=dict)

    def add(self, rw: Rewrite) -> Rewrite:
        """Keep `rw` unless its (segment, span, form) is already a candidate; the one kept."""
        k = (rw.seg, rw.a, rw.b, rw.form.lower())
        if k not in self.seen:
            self.seen[k] = rw
            self.rewrites.append(rw)
        return self.seen[k]

    def add_screened(self, screened: list[Rewrite]) -> None:
        """The acoustic screen's picks: marked where retrieval found them too, else added
        as found by the screen alone."""
        for rw in screened:
            k = (rw.seg, rw.a, rw.b, rw.form.lower())
            if k in self.seen:
                self.seen[k].screened = True
            else:
                rw.screen_only = True
                self.add(rw)


def retrieve(ctx: ChunkContext) -> Candidates:
    """The lexicon forms that sound like each span of the chunk's words (or like what
    another beam hypothesis wrote there)."""
    knowledge, p = ctx.knowledge, ctx.profile
    words = [s.text.split() for s in ctx.result.segments]
    found = Candidates(words)
    spans = [(s, a, b) for s, ws in enumerate(words) for a in range(len(ws))
             for b in range(a + 1, min(a + MAX_SPAN_WORDS, len(ws)) + 1)]
    if not spans:
        return found
    texts = [" ".join(words[s][a:b]) for s, a, b in spans]
    keyed = list(zip(spans, texts, strict=True))
    keyed += alternative_keys(words, getattr(ctx.result, "alternatives", []))
    hits = knowledge.index.lookup([t for _, t in keyed], min_similarity=p.min_similarity,
                                  per_span=p.per_span)
    for ((s, a, b), text), forms in zip(keyed, hits, strict=True):
        span = words[s][a:b]
        span_key = " ".join(words_of(" ".join(span)))
        if span_key in knowledge.matcher.forms:
            continue  # already a lexicon term
        # Everyday words, and a medical word Whisper spelt correctly ("rheumatoid",
        # "fevers"), are rewritten only into something that sounds very close: as
        # heard or as another hypothesis wrote it (a span's own key is its words).
        guarded = knowledge.plain_span(span) or (
            text != " ".join(span) and knowledge.plain_span(text.split()))
        for c in forms:
            if " ".join(words_of(c.form)) == span_key:
                continue
            if guarded and c.similarity < COMMON_SPAN_MIN_SIMILARITY \
                    and c.entry.category != "user":
                continue
            k = (s, a, b, c.form.lower())
            old = found.seen.get(k)
            if old is not None:
                old.similarity = max(old.similarity, c.similarity)
                continue
            found.add(Rewrite(s, a, b, c.form, c.entry, c.similarity))
            # "a" cannot come before a plural: Whisper wrote a filler that way ("I have
            # tried uh antihistamines" -> "tried a handy system means"), and the plural
            # scores low after it. The span taking the article in is a candidate too.
            if a and words_of(words[s][a - 1]) in (["a"], ["an"]) \
                    and knowledge.plural(c.form) and (s, a - 1, b, k[3]) not in found.seen:
                found.add(Rewrite(s, a - 1, b, c.form, c.entry, c.similarity))
    return found


def rescore(ctx: ChunkContext, found: Candidates) -> ChunkRewrites:
    """Teacher-forced scores of the candidates, per segment: its text as written and with
    each rewrite, on the encoder frames of that segment only (the decoder attends where the
    words are; cropping the memory keeps the scores and cuts the cost several times)."""
    p, words, tok = ctx.profile, found.words, ctx.tok
    cr = ChunkRewrites(words)
    cands = found.rewrites
    if not cands:
        return cr
    # screened forms first (Whisper itself ranked them), then closest sounding; a
    # clinical name only the screen found last (it is a loose match, and the glossary
    # and the candidate cap are for names: it takes neither's place)
    named = ctx.knowledge.index.screen_names
    cands.sort(key=lambda r: (r.screen_only and r.form.lower() in named, not r.screened,
                              -rank_score(r.similarity, r.entry)))
    by_seg: dict[int, list[Rewrite]] = {}
    scored: list[Rewrite] = []
    for rw in cands:
        by_seg.setdefault(rw.seg, []).append(rw)
    total_frames = ctx.encoder_row.shape[0]
    for s, group in by_seg.items():
        f0, f1 = window(ctx.result.segments[s], total_frames)
        base_tokens = tok.encode(" " + " ".join(words[s]))
        prompt = None  # groups keep `cands` order: closest sounding first
        forms: list[str] = []
        if p.glossary:
            forms = list(dict.fromkeys(rw.form for rw in group))
            prompt = tok.encode(" " + p.glossary_prefix + ", ".join(forms[:p.glossary]) + ".")
        frames = ctx.encoder_row[f0:f1]
        n_samples = (f1 - f0) * SAMPLES_PER_FRAME
        # 1. the words as Whisper wrote them: how sure was it of each span?
        base = ctx.engine.token_logprobs(frames, n_samples, ctx.language, ctx.task,
                                         [base_tokens], prompt=prompt)[0]
        prefix: dict[int, int] = {0: 0}  # words -> tokens of the segment's first words

        def n_tokens(k: int, ws: list[str] = words[s],
                     prefix: dict[int, int] = prefix) -> int:
            if k not in prefix:
                prefix[k] = len(tok.encode(" " + " ".join(ws[:k])))
            return prefix[k]

        for rw in group:
            pre, upto = n_tokens(rw.a), n_tokens(rw.b)
            span = base[pre:max(upto, pre + 1)]
            rw.span_logprob = float(span.mean()) if span.size else 0.0
        # 2. rewrites of spans it was unsure of (a confident span is never rewritten, so
        # its rewrites are not worth scoring), closest sounding first (`gate_tiers`)
        for tier in ctx.gate_tiers(group, p.max_candidates):
            _score_tier(ctx, tier, frames, n_samples, prompt, forms, words[s], base,
                        base_tokens, n_tokens)
            scored.extend(tier)
    cr.rewrites = scored
    return cr


def _score_tier(ctx: ChunkContext, group: list[Rewrite], frames: np.ndarray, n_samples: int,
                prompt: list[int] | None, forms: list[str], seg_words: list[str],
                base: np.ndarray, base_tokens: list[int], n_tokens: Callable[[int], int]
                ) -> None:
    p, tok = ctx.profile, ctx.tok
    score_packed(ctx, frames, n_samples, prompt, seg_words, base, base_tokens, n_tokens, group)
    base_lm = ctx.lm_logprob(" ".join(seg_words))
    for rw in group:
        rw.d_lm = ctx.lm_logprob(" ".join(rewrite_words(seg_words, [rw]))) - base_lm
    # 3. Forms the glossary did not list were scored by a model that was not shown
    # them, and the tiny model scores a name it was not shown far lower
    # (maprotiline listed 13th: gain -1.2). The best few of them are scored again
    # under a prompt of their own.
    if p.reprime and prompt is not None:
        listed = set(forms[:p.glossary])
        gains = [(rw.gain(p), rw) for rw in group if rw.form not in listed]
        rest = [rw for g, rw in sorted(gains, key=lambda x: -x[0])
                if g > p.reprime_floor]
        again_forms = list(dict.fromkeys(rw.form for rw in rest))[:p.reprime]
        if again_forms:
            score_packed(ctx, frames, n_samples,
                         tok.encode(" " + ", ".join(again_forms) + "."), seg_words, None,
                         base_tokens, n_tokens,
                         [rw for rw in rest if rw.form in again_forms])


def alternative_keys(words: list[list[str]], alternatives: list[str]
                     ) -> list[tuple[tuple[int, int, int], str]]:
    """(span of the best hypothesis, text another hypothesis has there) for every
    stretch of up to MAX_SPAN_WORDS words where they differ, within one segment."""
    flat = [(s, i) for s, ws in enumerate(words) for i in range(len(ws))]
    norm = [" ".join(words_of(words[s][i])) for s, i in flat]
    out: list[tuple[tuple[int, int, int], str]] = []
    seen: set[tuple[int, int, int, str]] = set()
    for alt in alternatives:
        alt_words = alt.split()
        alt_norm = [" ".join(words_of(w)) for w in alt_words]
        sm = difflib.SequenceMatcher(a=norm, b=alt_norm, autojunk=False)
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op != "replace" or i2 - i1 > MAX_SPAN_WORDS or j2 - j1 > MAX_SPAN_WORDS:
                continue
            s = flat[i1][0]
            if flat[i2 - 1][0] != s:
                continue
            text = " ".join(alt_norm[j1:j2])
            k = (s, flat[i1][1], flat[i2 - 1][1] + 1, text)
            if text and k not in seen:
                seen.add(k)
                out.append(((k[0], k[1], k[2]), text))
    return out
