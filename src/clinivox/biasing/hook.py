"""`MedicalBiaser`: lexicon-scale term biasing as the engine's decode hook.

Whisper's `hotwords`/prompt route stops at ~220 tokens, about 40 names. clinivox biases with
the whole lexicon instead, after the first decode of each chunk and before word alignment.
Per chunk, the stages run on a `ChunkContext` (a copy of the chunk's result, its encoder
output and per-chunk caches):

1. `reselect` (a primed profile): the beam rescored without the domain prompt.
2. `retrieve`: sound-alike lexicon forms for every span (`biasing.retrieval`).
3. `Screen` (`profile.screen`): the words Whisper was least sure of, screened against the
   closest common drugs and clinical names by Whisper's own score (`biasing.screen`).
4. `rescore`: each candidate scored by Whisper (teacher-forced, packed rows, a glossary
   prompt; `biasing.scoring`) and by the domain n-gram LM:
       gain = a * dlogP_am + b * dlogP_lm + c * dwords + bias * weight(term)
              - rare_penalty * [term is a rare drug]
   `ChunkRewrites.decide` keeps rewrites with a positive gain over spans Whisper was not
   confident in (the gate), best first, not overlapping.
5. `propose` (`profile.propose`): where an unsure everyday word is in no kept rewrite,
   Whisper decodes the stretch again under the domain prompt; terms it writes there are
   candidates, scored and decided with the rest (`biasing.proposals`).
6. The rewrite: kept rewrites change the segment text and tokens (so word timestamps
   follow), and variant spellings of drugs are written as the ingredient; each change is a
   `Correction` on the segment.

The hook never edits the engine's results: `apply` returns the chunks' results, edited
copies where biasing changed something. `collecting()` gives a hook that records every
chunk's candidates instead of rewriting (what `clinivox tune` replays).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.biasing.context import ChunkContext, encoder_rows
from clinivox.biasing.knowledge import TermKnowledge, bpe_plain_word
from clinivox.biasing.profile import BiasProfile
from clinivox.biasing.proposals import propose
from clinivox.biasing.reselect import reselect
from clinivox.biasing.retrieval import rescore, retrieve
from clinivox.biasing.rewrites import ChunkRewrites, Correction, Rewrite
from clinivox.biasing.screen import Screen
from clinivox.biasing.verifier import load_verifier
from clinivox.medical.lexicon import Lexicon
from clinivox.medical.lm import NGramLM
from clinivox.medical.terms import TermIndex, TermMatcher

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


class MedicalBiaser:
    """Applies lexicon biasing to decoded chunks (see the module docstring)."""

    def __init__(self, lexicon: Lexicon, *, lm: NGramLM | None = None,
                 profile: BiasProfile | None = None, common_words: frozenset[str] = frozenset(),
                 key_cache: Path | None = None, plain_word: Callable[[str], bool] | None = None,
                 domain_prompt: str | None = None, screen: Screen | None = None,
                 knowledge: TermKnowledge | None = None) -> None:
        self.profile = profile or BiasProfile()
        self.lm = lm
        self.domain_prompt = domain_prompt  # `clinivox lm build`'s term list (see `prompt`)
        self.knowledge = knowledge or TermKnowledge(lexicon, common_words=common_words,
                                                    key_cache=key_cache,
                                                    plain_word=plain_word)
        self.screen = screen or Screen()

    def with_profile(self, profile: BiasProfile, *, domain_prompt: str | None = None,
                     screen: Screen | None = None) -> MedicalBiaser:
        """The same lexicon and LM (shared, not rebuilt) under another profile: how tests
        and benchmarks compare profiles."""
        return MedicalBiaser(self.lexicon, lm=self.lm, profile=profile,
                             domain_prompt=domain_prompt if domain_prompt is not None
                             else self.domain_prompt,
                             screen=screen or self.screen, knowledge=self.knowledge)

    # -- what the engine reads -------------------------------------------------------------
    @property
    def lexicon(self) -> Lexicon:
        return self.knowledge.lexicon

    @property
    def matcher(self) -> TermMatcher:
        return self.knowledge.matcher

    @property
    def index(self) -> TermIndex:
        return self.knowledge.index

    @property
    def n_best(self) -> int:
        """How many beam hypotheses the engine should return for retrieval."""
        return self.profile.n_best

    @property
    def prompt(self) -> str | None:
        """The prompt the engine decodes with where the user gave none (`profile.prime`).

        Whisper treats a prompt as the text before the audio. The domain prompt lists the
        clinical terms the LM's corpus names most often ("Vomiting, cough, diarrhoea, ...,
        paracetamol, ..."), so words it would otherwise mishear in noise ("pairs that I'm
        all", "the series") come out as the terms. It also shifts the model's choices in
        ordinary speech ("mend the coat" -> "Men the coat") and writes its terms for names
        Whisper does not know ("eczema" for eculizumab). The hook rescores the beam's
        hypotheses without it (`reselect`), which undoes such a shift only where another
        hypothesis kept the word."""
        if self.profile.term_prompt:
            users = [e.term for e in self.lexicon.entries if e.category == "user"]
            if users:  # a model trained with term-list prompts reads the user's terms
                return self.profile.glossary_prefix + ", ".join(
                    users[:self.profile.term_prompt]) + "."
        return self.domain_prompt if self.profile.prime else None

    # -- the engine hook ---------------------------------------------------------------------
    def apply(self, engine: Any, encoded: Any, chunks: list[np.ndarray], results: list,
              options: Any) -> list:
        """The chunks' results after biasing: an edited copy of each result biasing
        changed, the engine's own object for the others (never edited)."""
        return self._run(engine, encoded, chunks, results, options, record=None)

    def collecting(self) -> CollectingHook:
        """A hook that decodes as this one does but records each chunk's candidates and
        rewrites nothing (its `chunks`), for `clinivox tune` to replay decisions."""
        return CollectingHook(self)

    def _run(self, engine: Any, encoded: Any, chunks: list[np.ndarray], results: list,
             options: Any, record: list[ChunkRewrites] | None) -> list:
        out = list(results)
        rows_np = None
        for i, r in enumerate(results):
            if not r.segments or (r.language or "en") != "en":
                continue
            if rows_np is None:
                rows_np = encoder_rows(encoded)
            ctx = self.context(engine, rows_np[i], chunks[i].shape[0], copy.deepcopy(r),
                               options, collecting=record is not None)
            if self.prompt is not None and options.initial_prompt == self.prompt:
                reselect(ctx)
            cr = self.candidates(ctx)
            kept = cr.decide(self.profile)
            if self.profile.propose and self.domain_prompt:
                more = not_on_names(cr.words, propose(ctx, cr, kept, self.domain_prompt))
                if more:
                    cr.rewrites += more
                    kept = cr.decide(self.profile)
            if record is not None:
                record.append(cr)
            else:
                self.rewrite(ctx, cr, kept)
            out[i] = ctx.result
        if record is None and self.profile.general_fallback:
            out = self.general_fallback(engine, encoded, chunks, out, options, rows_np)
        return out

    def general_fallback(self, engine: Any, encoded: Any, chunks: list[np.ndarray],
                         results: list, options: Any, rows_np: np.ndarray | None = None
                         ) -> list:
        """`results` with each chunk the clinical model wrote as plain English
        (`plain_english`) decoded again by the bundled model it was made from
        (`engine.decode_general`), where the engine has one and that decode passes the
        engine's guards. English chunks only; the decode uses the caller's prompt, not
        this hook's term-list prompt, which the bundled model was not trained to read, and
        the caller's beam unless the profile sets `fallback_beam`."""
        decode = getattr(engine, "decode_general", None)
        has_general = getattr(engine, "general_model", None)
        if decode is None or has_general is None or has_general() is None:
            return results
        todo = [i for i, r in enumerate(results)
                if r.segments and (r.language or "en") == "en"
                and self.plain_english(r, engine.hf_tokenizer)]
        if not todo:
            return results
        if rows_np is None:
            rows_np = encoder_rows(encoded)
        if self.prompt is not None and options.initial_prompt == self.prompt:
            options = replace(options, initial_prompt=None)
        if self.profile.fallback_beam:
            options = replace(options, beam_size=self.profile.fallback_beam)
        out = list(results)
        redone = decode(rows_np[todo], [chunks[i] for i in todo],
                        [results[i].language or "en" for i in todo], options)
        for i, r in zip(todo, redone, strict=True):
            if r is None:
                continue
            old = results[i]
            r.language_probability = old.language_probability
            r.detected_language = old.detected_language
            out[i] = r
        return out

    def plain_english(self, result: Any, hf_tokenizer: Any) -> bool:
        """Whether a chunk's text (after rewriting) is plain English: no correction, no
        lexicon term, and every word one Whisper's vocabulary writes in at most two pieces
        (a longer word is a name the model tried to spell: "dixifenivate")."""
        if any(s.corrections for s in result.segments):
            return False
        text = " ".join(s.text for s in result.segments)
        if self.matcher.find(text):
            return False
        plain = self.knowledge.plain_word
        if plain is None:  # a biaser built without one (load_biaser gives it the engine's)
            plain = self.knowledge.plain_word = bpe_plain_word(hf_tokenizer)
        return all(plain(w) for w in _WORD.findall(text))

    # -- the stages, on one chunk ------------------------------------------------------------
    def context(self, engine: Any, encoder_row: np.ndarray, n_samples: int, result: Any,
                options: Any, *, collecting: bool = False) -> ChunkContext:
        """The context the stages share for one chunk; they edit `result` in place (the
        hook passes a copy). `collecting` opens every gate: each candidate is scored, for
        `tune` to replay with other gates."""
        return ChunkContext(engine, encoder_row, n_samples, result, options, self.profile,
                            self.knowledge, self.lm,
                            gate=0.0 if collecting else self.profile.gate_logprob)

    def candidates(self, ctx: ChunkContext) -> ChunkRewrites:
        """Retrieval, the acoustic screen, then rescoring: the chunk's scored rewrites."""
        found = retrieve(ctx)
        if self.profile.screen and any(found.words):
            found.add_screened(self.screen(ctx, found.words, found.rewrites))
        found.rewrites = not_on_names(found.words, found.rewrites)
        return rescore(ctx, found)

    def rewrite(self, ctx: ChunkContext, cr: ChunkRewrites, chosen: list[Rewrite]) -> None:
        """Apply the kept rewrites, then write drug names already in the text that are only
        variant spellings of their ingredient ("hydromorphon") as the ingredient name."""
        tok = ctx.tok
        sound_key = self.knowledge.sound_key
        texts = cr.texts(chosen, sound_key)
        p = self.profile
        check = load_verifier(p.verifier) if p.verifier else None
        for s, seg in enumerate(ctx.result.segments):
            reps = sorted((r for r in chosen if r.seg == s), key=lambda r: r.a)
            corrections = [
                Correction(" ".join(cr.words[s][r.a:r.b]), r.written(True, sound_key),
                           r.gain(p), r.similarity, r.entry.category, r.entry.code,
                           check.probability(r, p) if check is not None else None)
                for r in reps]
            text, respelt = self.respell(texts[s])
            if not corrections and not respelt:
                continue
            seg.text = " " + text
            seg.tokens = tok.encode(seg.text)
            seg.corrections = corrections + respelt

    # -- text-only services ------------------------------------------------------------------
    def respell(self, text: str) -> tuple[str, list[Correction]]:
        """`text` with drug names that are only variant spellings of their ingredient
        written as the ingredient name, and a correction (score 0) for each."""
        return self.knowledge.respell(text)

    def terms(self, text: str) -> list[dict]:
        """The lexicon terms in `text`, with category and code."""
        return self.knowledge.terms(text)


def name_words(words: list[list[str]]) -> set[tuple[int, int]]:
    """(segment, word index) of each word inside a span the PHI detector reads as a
    person's name ("I'm Abigail Clafen", "Thank you, Mary", "Mrs Jones")."""
    from clinivox.privacy.phi import find_phi

    out: set[tuple[int, int]] = set()
    for s, ws in enumerate(words):
        text = " ".join(ws)
        spans = [(p.start, p.end) for p in find_phi(text) if p.category == "NAME"]
        if not spans:
            continue
        at = 0
        for i, w in enumerate(ws):
            if any(a < at + len(w) and at < b for a, b in spans):
                out.add((s, i))
            at += len(w) + 1
    return out


def not_on_names(words: list[list[str]], rewrites: list[Rewrite]) -> list[Rewrite]:
    """`rewrites` without those over a person's name (`name_words`). Story: on a real
    meeting recording the layer rewrote the surname in "I'm Abigail Clafen" into the drug
    Clofen (baclofen); a name is PHI, and a drug written over it is a wrong drug in the
    record. Privacy's rule runs the other way too: drug names are never redacted as names."""
    if not rewrites:
        return rewrites
    names = name_words(words)
    if not names:
        return rewrites
    return [r for r in rewrites if not any((r.seg, i) in names for i in range(r.a, r.b))]


class CollectingHook:
    """`MedicalBiaser.collecting()`: decodes like its biaser, records each chunk's
    candidates in `chunks` (with every gate open) and rewrites nothing."""

    def __init__(self, biaser: MedicalBiaser) -> None:
        self.biaser = biaser
        self.chunks: list[ChunkRewrites] = []

    @property
    def n_best(self) -> int:
        return self.biaser.n_best

    @property
    def prompt(self) -> str | None:
        return self.biaser.prompt

    def apply(self, engine: Any, encoded: Any, chunks: list[np.ndarray], results: list,
              options: Any) -> list:
        return self.biaser._run(engine, encoded, chunks, results, options, record=self.chunks)

    def take(self) -> list[ChunkRewrites]:
        """The chunks recorded since the last `take`."""
        out, self.chunks = self.chunks, []
        return out
