"""Proposals from a primed re-decode (`BiasProfile.propose`; not in the `fast` profile).

In noise and reverb tiny.en writes common clinical words as everyday ones it is fairly sure
of ("pairs that involve your" for "paracetamol if you're", "as well" for swelling). The
sound lookup ranks the term first there, but everyday words are rewritten only into
something that sounds very close: the rule that keeps ordinary speech free of insertions.
Told the conversation is clinical, Whisper writes the term itself. Decoding the whole chunk
that way changes ordinary words too ("mend" -> "Men"); here a stretch is decoded again
(`continue_text`: the words before it forced, a short search under the prompt) from the
first unsure word (mean token log-prob below `propose_logprob`) to a few words past the
last, where there is one: everyday words only, none inside or beside a kept rewrite, not the
chunk's first. Only a lexicon term it brings in becomes a candidate (or the forms a slip of
its sounds like: `respell_proposal`), with the words decoded around it, scored by Whisper
without the domain prompt (under a glossary of the proposed terms) and by the LM, as any
other (`gain`, the gate). Where the new words replace words on both sides of a segment
boundary, the two segments become one (`merge_segments`).
"""

from __future__ import annotations

import dataclasses
import difflib

from clinivox.biasing.context import ChunkContext, chunk_frames
from clinivox.biasing.knowledge import TermKnowledge
from clinivox.biasing.rewrites import ChunkRewrites, Rewrite, rewrite_words
from clinivox.biasing.scoring import score_packed
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import MAX_SPAN_WORDS, TermHit, is_everyday
from clinivox.units import SAMPLES_PER_FRAME

PROPOSE_WORDS_BEFORE = 2  # a proposal's re-decode starts this many words before the word
PROPOSE_EXTRA_TOKENS = 4  # ... and decodes this many tokens more than the stretch had
PROPOSE_WORDS_AFTER = 3  # ... and stops this many words after the last unsure one
PROPOSE_RESPELL_SIMILARITY = 0.8  # a re-decoded word this close to a form may be that form
PROPOSE_RESPELL_FORMS = 3  # ... of which this many closest are offered
PROPOSE_MAX_WORDS = 6  # the most words a proposal replaces ("set the car through to us")


def propose(ctx: ChunkContext, cr: ChunkRewrites, kept: list[Rewrite],
            domain_prompt: str) -> list[Rewrite]:
    """Candidates for the words Whisper was unsure of that no kept rewrite explains, from
    Whisper itself decoding them again with the domain prompt (`clinivox lm build`'s term
    list) as context. Returned scored, for a second `decide`."""
    p, knowledge, result = ctx.profile, ctx.knowledge, ctx.result
    words = cr.words
    tok = ctx.tok
    flat = [(s, k) for s, ws in enumerate(words) for k in range(len(ws))]
    place = {sk: i for i, sk in enumerate(flat)}
    covered = {(r.seg, k) for r in kept for k in range(r.a, r.b)}
    unsure: list[int] = []  # positions in `flat`
    for s, ws in enumerate(words):
        if not ws:
            continue
        word_lp = ctx.confidence(s, ws).word_lp
        # Everyday words only: a word that is not one ("norithindrum") is a garbled
        # name, which the sound lookup and the screen are for.
        # A chunk's first word is unsure for reasons that are not the word (see
        # `biasing.screen`), and so are the words beside a kept rewrite (the name was
        # garbled).
        unsure += [place[s, k] for k, lp in enumerate(word_lp)
                   if lp <= p.propose_logprob and (s, k) not in covered
                   and (s, k) != (0, 0)
                   and (s, k - 1) not in covered
                   and (s, k + 1) not in covered
                   and any(ch.isalpha() for ch in ws[k])
                   and all(is_everyday(w, knowledge.common_words)
                           for w in words_of(ws[k]))]
    if not unsure:
        return []
    start = max(0, unsure[0] - PROPOSE_WORDS_BEFORE)
    stop = min(len(flat), unsure[-1] + PROPOSE_WORDS_AFTER + 1)
    at = flat[start:]
    prefix_words = [words[s][k] for s, k in flat[:start]]
    prefix = tok.encode(" " + " ".join(prefix_words)) if prefix_words else []
    max_new = len(tok.encode(" " + " ".join(words[s][k] for s, k in flat[start:stop]))) \
        + PROPOSE_EXTRA_TOKENS
    # not the 30 s window's padding: each step costs less
    frames = chunk_frames(ctx.encoder_row, ctx.n_samples)
    new, ended = ctx.engine.continue_text(ctx.encoder_row[:frames], result.language, ctx.task,
                                          prefix, max_new, beam_size=p.propose,
                                          prompt=tok.encode(" " + domain_prompt))
    said = tok.decode(new).split()
    if not ended:
        said = said[:-1]  # the last word may be cut short
    mine = [" ".join(words_of(words[s][k])) for s, k in at]
    theirs = [" ".join(words_of(w)) for w in said]
    sm = difflib.SequenceMatcher(a=mine, b=theirs, autojunk=False)
    ops: list[tuple[int, int, list[tuple[str, list[TermHit]]]]] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "replace" or i2 - i1 > PROPOSE_MAX_WORDS or j2 - j1 > MAX_SPAN_WORDS:
            continue
        if j2 == len(said) and not ended:
            continue  # where the decode stopped: the words may go on
        if at[i2 - 1][0] - at[i1][0] > 1:
            continue  # over a whole segment
        text = " ".join(said[j1:j2]).strip(".,;:!?\"()[]")
        if not text:
            continue
        have = {h.entry.canonical for h in knowledge.matcher.find(
            " ".join(words[s][k] for s, k in at[i1:i2]))}
        hits = knowledge.new_terms(text, have)
        readings = [(text, hits)] if hits else respell_proposal(knowledge, text, have)
        if readings:
            ops.append((i1, i2, readings))
    # A term Whisper's segment boundary cuts in two ("...excuse me, set the car" |
    # "through to us." for septic arthritis): the two segments become one, so that
    # the term is one span of it (the words and their order are the same).
    cut = sorted({at[i1][0] for i1, i2, _ in ops if at[i2 - 1][0] != at[i1][0]},
                 reverse=True)
    for seg in cut:
        merge_segments(ctx, cr, seg)
    if cut:
        flat = [(s, k) for s, ws in enumerate(words) for k in range(len(ws))]
        at = flat[start:]
    found: list[Rewrite] = []
    for i1, i2, readings in ops:
        seg, a = at[i1]
        b = at[i2 - 1][1] + 1
        # The re-decode may also have dropped a filler next to the term ("um, had it"
        # -> "headache"): the stretch of the span that sounds most like the new words
        # is a candidate too, keeping the rest. Whisper's score chooses.
        for text, hits in readings:
            h = hits[0]
            ranked = sorted(((knowledge.index.similarity(" ".join(words[seg][x:y]), text), x, y)
                             for x in range(a, b) for y in range(x + 1, b + 1)),
                            key=lambda t: (-t[0], t[1] - t[2]))
            whole = next(r for r in ranked if (r[1], r[2]) == (a, b))
            for sim, x, y in dict.fromkeys([whole, ranked[0]]):
                found.append(Rewrite(seg, x, y, h.term.lower(), h.entry, sim, text=text,
                                     proposed=True))
    return score_proposals(ctx, words, found)


def merge_segments(ctx: ChunkContext, cr: ChunkRewrites, s: int) -> None:
    """Segments `s` and `s + 1` of the chunk become one (text, tokens, time span); the
    rewrites already found and the per-segment confidences follow their words."""
    result = ctx.result
    first, second = result.segments[s], result.segments[s + 1]
    result.segments[s] = dataclasses.replace(
        first, end_s=max(first.end_s, second.end_s),
        text=first.text.rstrip() + " " + second.text.lstrip(),
        tokens=[*first.tokens, *second.tokens])
    del result.segments[s + 1]
    n = len(cr.words[s])
    cr.words[s] = cr.words[s] + cr.words[s + 1]
    del cr.words[s + 1]
    for rw in cr.rewrites:
        if rw.seg == s + 1:
            rw.seg, rw.a, rw.b = s, rw.a + n, rw.b + n
        elif rw.seg > s + 1:
            rw.seg -= 1
    ctx.conf = {(k if k < s else k - 1): v for k, v in ctx.conf.items()
                if k not in (s, s + 1)}


def respell_proposal(knowledge: TermKnowledge, text: str, have: set[str]
                     ) -> list[tuple[str, list[TermHit]]]:
    """A re-decode may write a term it was steered to with a slip ("paracetamolis
    first line"): a word of `text` that is not an everyday word and sounds this close to
    lexicon forms is read as each of them ("paracetamol", "paracetamolum"), and
    Whisper's score chooses. -> [(the text so respelt, the terms in it)]."""
    ws = text.split()
    for i, w in enumerate(ws):
        bare = words_of(w)
        if len(bare) != 1 or is_everyday(bare[0], knowledge.common_words) \
                or bare[0] in knowledge.matcher.forms:
            continue
        found = knowledge.index.lookup([bare[0]], min_similarity=PROPOSE_RESPELL_SIMILARITY,
                                       per_span=PROPOSE_RESPELL_FORMS)[0]
        out = []
        for c in found:
            respelt = " ".join([*ws[:i], c.form, *ws[i + 1:]])
            hits = knowledge.new_terms(respelt, have)
            if hits:
                out.append((respelt, hits))
        if out:
            return out
    return []


def score_proposals(ctx: ChunkContext, words: list[list[str]], found: list[Rewrite]
                    ) -> list[Rewrite]:
    """`d_am`, `d_lm` and `span_logprob` of proposals, per segment: Whisper's score under
    a glossary of the proposed terms alone (no domain prompt), on the segment's audio."""
    tok = ctx.tok
    out: list[Rewrite] = []
    for s in sorted({rw.seg for rw in found}):
        group = [rw for rw in found if rw.seg == s]
        ws = words[s]
        conf = ctx.confidence(s, ws)
        ends = conf.ends
        for rw in group:
            span = conf.base[ends[rw.a]:max(ends[rw.b], ends[rw.a] + 1)]
            rw.span_logprob = float(span.mean()) if span.size else 0.0
        for tier in ctx.gate_tiers(group):  # as in `retrieval.rescore`
            terms = list(dict.fromkeys(rw.form for rw in tier))
            score_packed(ctx, conf.window, conf.window.shape[0] * SAMPLES_PER_FRAME,
                         tok.encode(" " + ", ".join(terms) + "."), ws, None,
                         tok.encode(" " + " ".join(ws)), ends.__getitem__, tier)
            base_lm = ctx.lm_logprob(" ".join(ws))
            for rw in tier:
                rw.d_lm = ctx.lm_logprob(" ".join(rewrite_words(ws, [rw]))) - base_lm
            out += tier
    return out
