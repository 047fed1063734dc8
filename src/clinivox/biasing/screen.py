"""The acoustic screen: candidates for the words Whisper was least sure of, chosen by
Whisper itself (`BiasProfile.screen`; not in the `fast` profile).

A drug name Whisper did not know comes out as words that sound only loosely like it ("of
Art and Apple" for vardenafil: 0.62 similar), where hundreds of lexicon forms are as close
and the sound ranking cannot pick it. The model that heard the audio can: each of the
`screen` closest common drug forms is put in place of the span around an unsure word and
scored (one batched decoder pass, no prompt, on the words around it and their audio:
`score_stretch`), and the best `screen_keep` by that score become candidates, ranked first
(so the glossary prompt lists them). Of the 25 drugs the dev set still missed, scored this
way on their closest span, the right name ranked first of 30 for 13 and in the top 3 for 18.
A form only the screen found pays `screen_penalty`: it is a looser match.

Beside the drugs, the closest clinical name (a symptom, condition or drug class:
`everyday_clinical_names`) at least SCREEN_CLINICAL_SIMILARITY close is screened and kept
apart. Everyday-worded ones ("steroids", "headache") are never looked up by sound, since
ordinary speech would be rewritten into them, but tiny.en writes them as other everyday
words in noise ("have you used series"), and Whisper's score on the audio can tell.
"""

from __future__ import annotations

from clinivox.biasing.context import ChunkContext
from clinivox.biasing.rewrites import Rewrite
from clinivox.biasing.scoring import score_stretch
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import MAX_SPAN_WORDS, is_everyday, preferred_spelling

SCREEN_COVERED = 0.85  # a word inside a span retrieved this close is not screened
# Words screened in one segment are at least this far apart: neighbours share their spans,
# and a word two away is often the next name ("currently taking X and Y"). At 4 (the span
# length) the second drug of such a pair went unscreened. At 2 (2026-12-02, Intel Xeon):
# drug_dictation drug recall 0.83 -> 0.85, medical_dictation +1 term, en_read_speech the
# same, the same time; on 55 synthesised "currently taking X and Y" pairs of drugs the dev
# sets do not hold, 3 names gained and 1 lost (two screens fill more glossary slots).
SCREEN_GAP = 2
SCREEN_CLINICAL = 2  # clinical names screened besides the drugs ("series" -> steroids)
SCREEN_CLINICAL_SIMILARITY = 0.6  # ... at least this close
SCREEN_CLINICAL_KEEP = 1  # ... of which the best by Whisper's score becomes a candidate
SCREEN_LOOKUP_FACTOR = 2  # forms looked up per screened slot (variant spellings collapse)


class Screen:
    """The screen stage. `gap`: how far apart two screened words of a segment must be."""

    def __init__(self, gap: int = SCREEN_GAP) -> None:
        self.gap = gap

    def __call__(self, ctx: ChunkContext, words: list[list[str]],
                 known: list[Rewrite]) -> list[Rewrite]:
        """The screened candidates of the chunk (`known`: what retrieval found)."""
        p, knowledge = ctx.profile, ctx.knowledge
        out: list[Rewrite] = []
        for s, ws in enumerate(words):
            if not ws:
                continue
            window, at, ends, word_lp, _ = ctx.confidence(s, ws)
            # A word the sound lookup already matched closely ("Venetoklex") needs no
            # screen. A close match to everyday words is a loose one ("series in" sounds
            # 0.92 like psoriazin, and was "steroids in"): such a word is screened for the
            # clinical names only (a drug the lookup did not rank is rarely there).
            matched = [(rw, knowledge.plain_span(ws[rw.a:rw.b])) for rw in known
                       if rw.seg == s and rw.similarity >= SCREEN_COVERED]
            close = {k for rw, plain in matched if not plain for k in range(rw.a, rw.b)}
            loose = {k for rw, plain in matched if plain for k in range(rw.a, rw.b)}
            # A segment's first token is unsure for reasons that are not the word (how the
            # sentence starts, its case: "Allergic", "This continue"): a first word that is
            # an everyday word is not screened. It was the screen's most wasted pick.
            first_plain = all(is_everyday(w, knowledge.common_words)
                              for w in words_of(ws[0]))
            unsure = sorted((k for k in range(len(ws)) if word_lp[k] <= p.screen_logprob
                             and k not in close and any(ch.isalpha() for ch in ws[k])
                             and not (k == 0 and first_plain)),
                            key=lambda k: word_lp[k])
            screened: list[tuple[int, list[Rewrite]]] = []  # (word, its forms)
            for k in spread(unsure, p.screen_words, self.gap):
                spans = [(a, b) for a in range(max(0, k - MAX_SPAN_WORDS + 1), k + 1)
                         for b in range(k + 1, min(a + MAX_SPAN_WORDS, len(ws)) + 1)]
                # not a lexicon term, and without a word that is one: a medical word
                # Whisper spelt ("eczema" in "eczema see you") is not a garbled name
                spans = [(a, b) for a, b in spans
                         if not knowledge.is_form(ws[a:b])
                         and not any(knowledge.term_word(w) for w in ws[a:b])]
                if not spans:
                    continue
                mine = screen_forms(ctx, s, ws, spans, drugs=k not in loose)
                if mine:
                    screened.append((k, mine))
            # Words closer than a span's length are scored in one pass, on one stretch
            # around both: their stretches overlap most of the way.
            batches: list[list[tuple[int, list[Rewrite]]]] = []
            for k, mine in sorted(screened, key=lambda t: t[0]):
                if batches and k - batches[-1][-1][0] < MAX_SPAN_WORDS:
                    batches[-1].append((k, mine))
                else:
                    batches.append([(k, mine)])
            names = knowledge.index.screen_names
            for batch in batches:
                score_stretch(ctx, window, at, ws, ends,
                              [rw for _, mine in batch for rw in mine])
                for _, mine in batch:
                    # the clinical names are kept apart: they take no drug's place
                    named = [r for r in mine if r.form.lower() in names]
                    drugs = [r for r in mine if r.form.lower() not in names]
                    out += sorted(drugs, key=lambda r: -r.d_am)[:p.screen_keep]
                    out += sorted(named, key=lambda r: -r.d_am)[:SCREEN_CLINICAL_KEEP]
        return out


def screen_forms(ctx: ChunkContext, seg: int, ws: list[str], spans: list[tuple[int, int]],
                 drugs: bool = True) -> list[Rewrite]:
    """The `screen` closest common drugs to any of `spans` (word ranges of segment
    `seg`), each at its closest span. A drug's variant spellings ("triamterena",
    "triamteren", "triamtereno") would fill the slots with one drug: each is screened
    once, as its ingredient's name, so the slots hold different drugs."""
    p, knowledge = ctx.profile, ctx.knowledge
    hits = knowledge.index.closest_common([" ".join(ws[a:b]) for a, b in spans],
                                          k=SCREEN_LOOKUP_FACTOR * p.screen if drugs else 0,
                                          min_similarity=p.screen_similarity,
                                          k_clinical=SCREEN_CLINICAL,
                                          clinical_similarity=SCREEN_CLINICAL_SIMILARITY)
    best: dict[str, Rewrite] = {}  # form -> its closest span
    for (a, b), found in zip(spans, hits, strict=True):
        for c in found:
            form = preferred_spelling(c.form, c.entry, knowledge.sound_key)
            old = best.get(form)
            if old is None or c.similarity > old.similarity:
                best[form] = Rewrite(seg, a, b, form, c.entry, c.similarity, screened=True)
    # (closest_common gave no drugs if not `drugs`, and names only that close)
    ranked = sorted(best.values(), key=lambda r: -r.similarity)
    clinical = knowledge.index.screen_names
    return [r for r in ranked if r.form.lower() not in clinical][:p.screen] \
        + [r for r in ranked if r.form.lower() in clinical][:SCREEN_CLINICAL]


def spread(ranked: list[int], n: int, gap: int) -> list[int]:
    """The first `n` of `ranked` (word positions, best first) that are each at least
    `gap` positions from every one taken before."""
    picked: list[int] = []
    for k in ranked:
        if len(picked) >= n:
            break
        if all(abs(k - j) >= gap for j in picked):
            picked.append(k)
    return picked
