"""Lexicon-scale term biasing: retrieve sound-alike terms, rescore, correct.

Whisper's `hotwords`/prompt route stops at ~220 tokens, about 40 names. clinivox biases with
the whole lexicon instead, after the first decode of each chunk and before word alignment:

1. Retrieval. Every span of one to four words in the hypothesis is keyed by sound (espeak
   phonemes, reduced) and compared with all lexicon forms (`TermIndex`, one C++ sweep).
   "the picks up in" retrieves "apixaban"; ordinary speech retrieves little. Where the
   beam's other hypotheses differ from the best one, their words there are keys for the
   same span too ("Esther Mustang" is "Astromustine" in another one).
2. Rescoring. Each hypothesis with one span replaced by a retrieved term is scored by the
   same Whisper model on the same audio (teacher-forced: one decoder pass over the encoder
   output already computed, batched; rewrites of spans far apart share a row, each read
   from its own tokens and the few after them; on a CPU by `asr.scorer`, which runs what
   the rows share once), and by the domain n-gram LM:
       gain = a * dlogP_am + b * dlogP_lm + c * dwords + bias * weight(term)
              - rare_penalty * [term is a rare drug]
   The prompt is a short glossary of the segment's closest forms; the best few forms it
   left out are scored again under a prompt of their own (`reprime`). By default
   (`screen`; not in the `fast` profile), the words Whisper was least sure of are first
   screened: the closest common drug forms, however loosely alike, are scored by Whisper
   and its favourites join the candidates ahead of the rest; the closest clinical name
   (symptom, condition, drug class, everyday-worded ones too) is screened beside them.
   dwords is the change in word count: the class LM scores a whole span as one `<drug>`
   token, so without it "like if I lean" -> one drug name gains three words' LM cost;
   c > 0 charges for that collapse (the usual word-insertion term of ASR decoders).
   A replacement is kept when its gain is positive and Whisper was not confident in the
   words it replaces (the confidence gate keeps common words that were heard clearly).
   Proposals (`propose`; not in the `fast` profile): where a word Whisper was unsure of is
   in no kept replacement, Whisper decodes from just before it again, told by the domain
   prompt (`clinivox lm build`'s term list) that the talk is clinical. Lexicon terms it
   writes there ("paracetamol if you're" for "pairs that involve your") are candidates,
   scored without that prompt like the others, and all are decided again. Two segments
   whose boundary a proposed term crosses become one.
3. Correction. Kept replacements (non-overlapping, best first) rewrite the segment text, its
   tokens (so word timestamps follow) and are reported with original, replacement, score.

The weights live in a `BiasProfile`; `clinivox tune` grid-searches them on a dev manifest.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

from clinivox.errors import InputError
from clinivox.medical.lexicon import Lexicon, LexiconEntry, everyday_clinical_names
from clinivox.medical.lm import NGramLM, classed_tokens
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import (
    MAX_SPAN_WORDS,
    TermHit,
    TermIndex,
    TermMatcher,
    is_everyday,
    preferred_spelling,
    rank_score,
    singulars,
)

FRAMES_PER_S = 50  # encoder positions per second
SAMPLES_PER_FRAME = 16_000 // FRAMES_PER_S
WINDOW_MARGIN_S = 1.0  # encoder context kept around a segment when rescoring it
MIN_WINDOW_FRAMES = 150
COMMON_SPAN_MIN_SIMILARITY = 0.8
SCREEN_COVERED = 0.85  # a word inside a span retrieved this close is not screened
# The screen scores its forms on the stretch around the unsure word, not the whole segment:
SCREEN_WORDS_BEFORE = 2  # words of context kept before the leftmost screened span
SCREEN_WORDS_AFTER = 2  # ... and after the rightmost
SCREEN_LEAD_FRAMES = 15  # encoder positions (20 ms) kept before the first kept word
SCREEN_TRAIL_FRAMES = 25  # ... and after the last
SCREEN_MIN_FRAMES = 100  # the shortest stretch of audio scored (2 s)
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
PROPOSE_WORDS_BEFORE = 2  # a proposal's re-decode starts this many words before the word
PROPOSE_EXTRA_TOKENS = 4  # ... and decodes this many tokens more than the stretch had
PROPOSE_WORDS_AFTER = 3  # ... and stops this many words after the last unsure one
PROPOSE_RESPELL_SIMILARITY = 0.8  # a re-decoded word this close to a form may be that form
PROPOSE_RESPELL_FORMS = 3  # ... of which this many closest are offered
PROPOSE_MAX_WORDS = 6  # the most words a proposal replaces ("set the car through to us")


@dataclass(frozen=True)
class BiasProfile:
    am_weight: float = 1.0  # a: Whisper's log-probability of the rewritten chunk text
    lm_weight: float = 0.3  # b: domain LM log-probability of the rewritten segment
    length_weight: float = 0.0  # c: per word of length change (words in - words out)
    bias: float = 4.0  # log-domain bonus per inserted term (times the term's weight)
    gate_logprob: float = -0.15  # spans Whisper wrote above this mean token log-prob stay
    min_similarity: float = 0.7  # retrieval cut-off on sound similarity
    per_span: int = 4  # retrieved forms per span
    max_candidates: int = 24  # rewrites rescored per segment
    glossary: int = 12  # retrieved forms listed in the scoring prompt (0: no prompt)
    n_best: int = 5  # beam hypotheses used as retrieval keys (1: the best only)
    score_tail: int = 4  # tokens after a rewrite that are scored (0: to the segment's end)
    rare_penalty: float = 0.0  # log-domain cost of inserting a rare drug (`LexiconEntry.rare`)
    reprime: int = 0  # forms left out of the glossary rescored under a prompt of their own
    reprime_floor: float = -10.0  # ... when their gain without it is above this
    screen: int = 0  # per unsure word: common drug forms screened by Whisper (0: off)
    screen_keep: int = 2  # ... of which the best by Whisper's score become candidates
    screen_words: int = 2  # unsure words screened per segment, least sure first
    screen_logprob: float = -0.7  # a word Whisper wrote below this mean log-prob is unsure
    screen_similarity: float = 0.5  # sound similarity floor of screened forms
    screen_penalty: float = 0.0  # log-domain cost of a form only the screen found
    prime: bool = False  # decode with the LM's domain prompt, rescore the beam without it
    propose: int = 0  # beam width of a primed re-decode from the first unsure word (0: off)
    propose_logprob: float = -0.5  # ... a word Whisper wrote below this mean log-prob

    @classmethod
    def load(cls, path: str | Path) -> BiasProfile:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read bias profile {path.name}: {exc}") from None
        known = {f.name for f in fields(cls)}
        weights = data.get("weights", data) if isinstance(data, dict) else None
        if not isinstance(weights, dict) or set(weights) - known:
            raise InputError(f"{path.name}: not a clinivox bias profile")
        for name, low in (("n_best", 1), ("score_tail", 0), ("reprime", 0), ("screen", 0),
                          ("screen_keep", 1), ("screen_words", 1), ("propose", 0)):
            v = weights.get(name, low)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InputError(f"{path.name}: {name} must be a whole number >= {low}")
        if not isinstance(weights.get("prime", False), bool):
            raise InputError(f"{path.name}: prime must be true or false")
        return cls(**weights)

    def save(self, path: Path, **meta) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": asdict(self), **meta}, indent=2) + "\n",
                        encoding="utf-8")


class _Confidence(NamedTuple):
    """How sure Whisper was of one segment as written (`MedicalBiaser._confidence`)."""

    window: np.ndarray  # the segment's encoder frames (`_window`)
    at: np.ndarray  # each token's first encoder position in `window`
    ends: list[int]  # tokens of the segment's first k words
    word_lp: list[float]  # each word's mean token log-probability
    base: np.ndarray  # each token's log-probability


@dataclass(frozen=True)
class Correction:
    original: str
    replacement: str
    score: float  # the rescoring gain that carried it
    similarity: float
    category: str
    code: str | None

    def to_dict(self) -> dict:
        return {"original": self.original, "replacement": self.replacement,
                "score": round(self.score, 3), "similarity": round(self.similarity, 3),
                "category": self.category, "code": self.code}


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
    screened: bool = False  # chosen by the acoustic screen (`MedicalBiaser._screen`)
    screen_only: bool = False  # ... and not found by the sound lookup
    # A primed re-decode's words for the span (`MedicalBiaser._propose`): the term and the
    # words it came with ("paracetamol if you're" for "pairs that involve your"), or None
    text: str | None = None
    proposed: bool = False  # found by a primed re-decode (`MedicalBiaser._propose`)

    def written(self, final: bool = False, sound_key=None) -> str:
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


@dataclass
class ChunkRewrites:
    """Everything rescoring needs to decide, kept so `tune` can replay decisions."""

    words: list[list[str]]  # per segment: its whitespace words
    rewrites: list[Rewrite] = field(default_factory=list)

    def decide(self, p: BiasProfile) -> list[Rewrite]:
        kept: list[Rewrite] = []
        taken: dict[int, list[tuple[int, int]]] = {}
        for rw in sorted(self.rewrites, key=lambda r: -r.gain(p)):
            if rw.gain(p) <= 0:
                break
            if rw.span_logprob > p.gate_logprob:
                continue
            spans = taken.setdefault(rw.seg, [])
            if any(rw.a < b and a < rw.b for a, b in spans):
                continue
            spans.append((rw.a, rw.b))
            kept.append(rw)
        return kept

    def texts(self, chosen: list[Rewrite], sound_key=None) -> list[str]:
        out = []
        for s, words in enumerate(self.words):
            reps = sorted((r for r in chosen if r.seg == s), key=lambda r: r.a)
            out.append(" ".join(_rewrite_words(words, reps, final=True, sound_key=sound_key)))
        return out


def _rewrite_words(words: list[str], reps: list[Rewrite], final: bool = False,
                   sound_key=None) -> list[str]:
    """The words with each rewrite applied: the form as scored, or with `final` as the
    transcript writes it (variant spellings as the ingredient name)."""
    out: list[str] = []
    i = 0
    for r in reps:
        out.extend(words[i:r.a])
        out.append(_dress(r.written(final, sound_key), words[r.a:r.b]))
        i = r.b
    out.extend(words[i:])
    return out


def _dress(form: str, span: list[str]) -> str:
    """The replacement with the span's outer punctuation and sentence-initial capital."""
    lead = re.match(r"^[\"(\[]*", span[0]).group(0)
    trail = re.search(r"[.,;:!?)\]\"]*$", span[-1].rstrip("'")).group(0)
    core = span[0][len(lead):]
    if core[:1].isupper() and form[:1].islower():
        form = form[:1].upper() + form[1:]
    return f"{lead}{form}{trail}"


class MedicalBiaser:
    """Applies lexicon biasing to decoded chunks (see the module docstring)."""

    def __init__(self, lexicon: Lexicon, *, lm: NGramLM | None = None,
                 profile: BiasProfile | None = None, common_words: frozenset[str] = frozenset(),
                 key_cache: Path | None = None, plain_word=None,
                 domain_prompt: str | None = None) -> None:
        self.lexicon = lexicon
        self.profile = profile or BiasProfile()
        self.lm = lm
        self.domain_prompt = domain_prompt  # `clinivox lm build`'s term list (see `prompt`)
        self.matcher = TermMatcher(lexicon, common_words)
        self.index = TermIndex(lexicon, common_words=common_words, key_cache=key_cache,
                               plain_word=plain_word, screen_names=everyday_clinical_names())
        self.record: list[ChunkRewrites] | None = None  # set to a list to keep every chunk
        # per chunk (reset by `collect`): `_confidence` of each segment, LM scores by text
        self._conf: dict[int, _Confidence] = {}
        self._lm_cache: dict[str, float] = {}
        # words of multi-word lexicon terms ("rheumatoid" of rheumatoid arthritis): written
        # alone, they are medical words Whisper spelt correctly, not garbled names
        self.term_words = frozenset(
            w for form in self.matcher.forms if " " in form
            for w in form.split() if len(w) > 3 and w.isalpha())

    @property
    def n_best(self) -> int:
        """How many beam hypotheses the engine should return for retrieval."""
        return self.profile.n_best

    @property
    def _gate(self) -> float:
        """Spans Whisper wrote above this mean log-prob are not rewritten (record mode keeps
        every candidate, for `tune` to replay with other gates)."""
        return 0.0 if self.record is not None else self.profile.gate_logprob

    def _lm_logprob(self, text: str) -> float:
        """The domain LM's log-probability of `text` (0 without an LM), kept for the chunk."""
        if self.lm is None:
            return 0.0
        if text not in self._lm_cache:
            self._lm_cache[text] = self.lm.logprob(classed_tokens(text, self.matcher))
        return self._lm_cache[text]

    @property
    def prompt(self) -> str | None:
        """The prompt the engine decodes with where the user gave none (`profile.prime`).

        Whisper treats a prompt as the text before the audio. The domain prompt lists the
        clinical terms the LM's corpus names most often ("Vomiting, cough, diarrhoea, ...,
        paracetamol, ..."), so words it would otherwise mishear in noise ("pairs that I'm
        all", "the series") come out as the terms. It also shifts the model's choices in
        ordinary speech ("mend the coat" -> "Men the coat") and writes its terms for names
        Whisper does not know ("eczema" for eculizumab). `apply` rescores the beam's
        hypotheses without it (`_reselect`), which undoes such a shift only where another
        hypothesis kept the word."""
        return self.domain_prompt if self.profile.prime else None

    # -- the engine hook ---------------------------------------------------------------------
    def apply(self, engine, encoded, chunks: list[np.ndarray], results, options) -> None:
        rows_np = None
        for i, r in enumerate(results):
            if not r.segments or (r.language or "en") != "en":
                continue
            if rows_np is None:
                rows_np = _encoder_rows(encoded)
            if self.prompt is not None and options.initial_prompt == self.prompt:
                self._reselect(engine, rows_np[i], chunks[i].shape[0], r, options)
            cr = self.collect(engine, rows_np[i], chunks[i].shape[0], r, options)
            kept = cr.decide(self.profile)
            if self.profile.propose and self.domain_prompt:
                more = self._propose(engine, rows_np[i], chunks[i].shape[0], r, cr, kept,
                                     options)
                if more:
                    cr.rewrites += more
                    kept = cr.decide(self.profile)
            if self.record is not None:
                self.record.append(cr)
                continue
            self._rewrite(engine, r, cr, kept, options)

    def _reselect(self, engine, encoder_row: np.ndarray, n_samples: int, result,
                  options) -> None:
        """Rescore the beam's hypotheses of a primed decode as `a*logP_am + b*logP_lm +
        c*words`, with Whisper's log-probability taken without the prompt, and keep the
        best. The primed beam holds the terms the prompt brought in; scoring it unprimed
        brings back ordinary words the prompt had changed, where the beam still has them.
        With a prompt of corpus sentences, offline before biasing: en_read_speech 2.86% WER
        primed, 1.30% rescored (1.82% unprimed). With the term list clinivox writes (no
        patient's words), live with biasing: en_read_speech 2.86% (2.34% unprimed),
        medical_dictation recall 0.907 (0.802): docs/benchmarks.md."""
        hyps = getattr(result, "hypotheses", None) or []
        if len(hyps) < 2:
            return
        tok = engine.tokenizer(result.language, options.task)
        texts: dict[str, list[int]] = {}
        for h in hyps:
            texts.setdefault(tok.decode([t for t in h if t < tok.eot]).strip(), h)
        if len(texts) < 2:
            return
        p = self.profile
        cand = list(texts)
        rows = [tok.encode(" " + t) if t else [] for t in cand]
        frames = _chunk_frames(encoder_row, n_samples)
        try:
            am = engine.token_logprobs(encoder_row[:frames], frames * SAMPLES_PER_FRAME,
                                       result.language, options.task, rows, trunk=rows[0])
        except ValueError:  # a hypothesis longer than the decoder's context: keep the best
            return
        score = [p.am_weight * float(lp.sum()) + p.lm_weight * self._lm_logprob(t)
                 + p.length_weight * len(t.split()) for t, lp in zip(cand, am, strict=True)]
        best = int(np.argmax(score))
        if best == 0:
            return
        duration = n_samples / (SAMPLES_PER_FRAME * FRAMES_PER_S)
        result.segments = engine._split(texts[cand[best]], tok, duration)
        order = [best, *(k for k in range(len(cand)) if k != best)]
        result.hypotheses = [texts[cand[k]] for k in order]  # still best first
        result.alternatives = [cand[k] for k in order[1:]]

    def collect(self, engine, encoder_row: np.ndarray, n_samples: int, result,
                options) -> ChunkRewrites:
        tok = engine.tokenizer(result.language, options.task)
        words = [s.text.split() for s in result.segments]
        cr = ChunkRewrites(words)
        self._conf, self._lm_cache = {}, {}
        spans: list[tuple[int, int, int]] = []
        for s, ws in enumerate(words):
            for a in range(len(ws)):
                for b in range(a + 1, min(a + MAX_SPAN_WORDS, len(ws)) + 1):
                    spans.append((s, a, b))
        if not spans:
            return cr
        texts = [" ".join(words[s][a:b]) for s, a, b in spans]
        # Other hypotheses of the beam, where they differ from the best one, are more keys
        # for the same span: "Esther Mustang" may be "Astromustine" in another one.
        keyed = list(zip(spans, texts, strict=True))
        keyed += self._alternative_keys(words, getattr(result, "alternatives", []))
        hits = self.index.lookup([t for _, t in keyed],
                                 min_similarity=self.profile.min_similarity,
                                 per_span=self.profile.per_span)
        cands: list[Rewrite] = []
        seen: dict[tuple[int, int, int, str], Rewrite] = {}
        for ((s, a, b), text), found in zip(keyed, hits, strict=True):
            span = words[s][a:b]
            span_key = " ".join(words_of(" ".join(span)))
            if span_key in self.matcher.forms:
                continue  # already a lexicon term
            # Everyday words, and a medical word Whisper spelt correctly ("rheumatoid",
            # "fevers"), are rewritten only into something that sounds very close: as
            # heard or as another hypothesis wrote it (a span's own key is its words).
            guarded = self._plain_span(span) or (
                text != " ".join(span) and self._plain_span(text.split()))
            for c in found:
                if " ".join(words_of(c.form)) == span_key:
                    continue
                if guarded and c.similarity < COMMON_SPAN_MIN_SIMILARITY \
                        and c.entry.category != "user":
                    continue
                k = (s, a, b, c.form.lower())
                old = seen.get(k)
                if old is not None:
                    old.similarity = max(old.similarity, c.similarity)
                    continue
                seen[k] = Rewrite(s, a, b, c.form, c.entry, c.similarity)
                cands.append(seen[k])
                # "a" cannot come before a plural: Whisper wrote a filler that way ("I have
                # tried uh antihistamines" -> "tried a handy system means"), and the plural
                # scores low after it. The span taking the article in is a candidate too.
                if a and words_of(words[s][a - 1]) in (["a"], ["an"]) \
                        and self._plural(c.form) and (s, a - 1, b, k[3]) not in seen:
                    seen[s, a - 1, b, k[3]] = Rewrite(s, a - 1, b, c.form, c.entry,
                                                      c.similarity)
                    cands.append(seen[s, a - 1, b, k[3]])
        if self.profile.screen:
            for rw in self._screen(engine, encoder_row, result, words, options, cands):
                k = (rw.seg, rw.a, rw.b, rw.form.lower())
                if k in seen:
                    seen[k].screened = True
                else:
                    rw.screen_only = True
                    seen[k] = rw
                    cands.append(rw)
        if not cands:
            return cr
        # screened forms first (Whisper itself ranked them), then closest sounding; a
        # clinical name only the screen found last (it is a loose match, and the glossary
        # and the candidate cap are for names: it takes neither's place)
        named = self.index.screen_names
        cands.sort(key=lambda r: (r.screen_only and r.form.lower() in named, not r.screened,
                                  -rank_score(r.similarity, r.entry)))
        # Teacher-forced scores: per segment, its text as written and with each rewrite, on
        # the encoder frames of that segment only (the decoder attends where the words are;
        # cropping the memory keeps the scores and cuts the cost several times).
        by_seg: dict[int, list[Rewrite]] = {}
        scored: list[Rewrite] = []
        for rw in cands:
            by_seg.setdefault(rw.seg, []).append(rw)
        total_frames = encoder_row.shape[0]
        for s, group in by_seg.items():
            f0, f1 = _window(result.segments[s], total_frames)
            base_tokens = tok.encode(" " + " ".join(words[s]))
            prompt = None  # groups keep `cands` order: closest sounding first
            if self.profile.glossary:
                forms = list(dict.fromkeys(rw.form for rw in group))
                prompt = tok.encode(" " + ", ".join(forms[:self.profile.glossary]) + ".")
            window = encoder_row[f0:f1]
            n_samples = (f1 - f0) * SAMPLES_PER_FRAME
            # 1. the words as Whisper wrote them: how sure was it of each span?
            base = engine.token_logprobs(window, n_samples, result.language, options.task,
                                         [base_tokens], prompt=prompt)[0]
            prefix: dict[int, int] = {0: 0}  # words -> tokens of the segment's first words

            def n_tokens(k: int, ws=words[s], prefix=prefix) -> int:
                if k not in prefix:
                    prefix[k] = len(tok.encode(" " + " ".join(ws[:k])))
                return prefix[k]

            for rw in group:
                pre, upto = n_tokens(rw.a), n_tokens(rw.b)
                span = base[pre:max(upto, pre + 1)]
                rw.span_logprob = float(span.mean()) if span.size else 0.0
            # 2. rewrites of spans it was unsure of (a confident span is never rewritten, so
            # its rewrites are not worth scoring), closest sounding first
            group = [rw for rw in group
                     if rw.span_logprob <= self._gate][:self.profile.max_candidates]
            if not group:
                continue
            self._score_packed(engine, window, n_samples, result.language, options.task,
                               prompt, words[s], base, base_tokens, n_tokens, group)
            base_lm = self._lm_logprob(" ".join(words[s]))
            for rw in group:
                rw.d_lm = self._lm_logprob(" ".join(_rewrite_words(words[s], [rw]))) - base_lm
                scored.append(rw)
            # 3. Forms the glossary did not list were scored by a model that was not shown
            # them, and the tiny model scores a name it was not shown far lower
            # (maprotiline listed 13th: gain -1.2). The best few of them are scored again
            # under a prompt of their own.
            if self.profile.reprime and prompt is not None:
                listed = set(forms[:self.profile.glossary])
                gains = [(rw.gain(self.profile), rw) for rw in group if rw.form not in listed]
                rest = [rw for g, rw in sorted(gains, key=lambda x: -x[0])
                        if g > self.profile.reprime_floor]
                again_forms = list(dict.fromkeys(rw.form for rw in rest))[:self.profile.reprime]
                if again_forms:
                    self._score_packed(engine, window, n_samples, result.language,
                                       options.task,
                                       tok.encode(" " + ", ".join(again_forms) + "."),
                                       words[s], None, base_tokens, n_tokens,
                                       [rw for rw in rest if rw.form in again_forms])
        cr.rewrites = scored
        return cr

    def _screen(self, engine, encoder_row: np.ndarray, result, words: list[list[str]],
                options, known: list[Rewrite]) -> list[Rewrite]:
        """Candidates for the words Whisper was least sure of, chosen by Whisper itself.

        A drug name Whisper did not know comes out as words that sound only loosely like it
        ("of Art and Apple" for vardenafil: 0.62 similar), where hundreds of lexicon forms
        are as close and the sound ranking cannot pick it. The model that heard the audio
        can: each of the `screen` closest common drug forms is put in place of the span
        around an unsure word and scored (one batched decoder pass, no prompt, on the words
        around it and their audio: `_score_stretch`), and the best
        `screen_keep` by that score become candidates, ranked first (so the glossary prompt
        lists them). Of the 25 drugs the dev set still missed, scored this way on their
        closest span, the right name ranked first of 30 for 13 and in the top 3 for 18.
        A form only the screen found pays `screen_penalty`: it is a looser match.

        Beside the drugs, the closest clinical name (a symptom, condition or drug class:
        `everyday_clinical_names`) at least SCREEN_CLINICAL_SIMILARITY close is screened
        and kept apart. Everyday-worded ones ("steroids", "headache") are never looked up
        by sound, since ordinary speech would be rewritten into them, but tiny.en writes
        them as other everyday words in noise ("have you used series"), and Whisper's
        score on the audio can tell."""
        p = self.profile
        out: list[Rewrite] = []
        for s, ws in enumerate(words):
            if not ws:
                continue
            window, at, ends, word_lp, _ = self._confidence(engine, encoder_row, result, s,
                                                            ws, options)
            # A word the sound lookup already matched closely ("Venetoklex") needs no
            # screen. A close match to everyday words is a loose one ("series in" sounds
            # 0.92 like psoriazin, and was "steroids in"): such a word is screened for the
            # clinical names only (a drug the lookup did not rank is rarely there).
            matched = [(rw, self._plain_span(ws[rw.a:rw.b])) for rw in known
                       if rw.seg == s and rw.similarity >= SCREEN_COVERED]
            close = {k for rw, plain in matched if not plain for k in range(rw.a, rw.b)}
            loose = {k for rw, plain in matched if plain for k in range(rw.a, rw.b)}
            # A segment's first token is unsure for reasons that are not the word (how the
            # sentence starts, its case: "Allergic", "This continue"): a first word that is
            # an everyday word is not screened. It was the screen's most wasted pick.
            first_plain = all(is_everyday(w, self.index.common_words) for w in words_of(ws[0]))
            unsure = sorted((k for k in range(len(ws)) if word_lp[k] <= p.screen_logprob
                             and k not in close and any(ch.isalpha() for ch in ws[k])
                             and not (k == 0 and first_plain)),
                            key=lambda k: word_lp[k])
            screened: list[tuple[int, list[Rewrite]]] = []  # (word, its forms)
            for k in spread(unsure, p.screen_words, SCREEN_GAP):
                spans = [(a, b) for a in range(max(0, k - MAX_SPAN_WORDS + 1), k + 1)
                         for b in range(k + 1, min(a + MAX_SPAN_WORDS, len(ws)) + 1)]
                # not a lexicon term, and without a word that is one: a medical word
                # Whisper spelt ("eczema" in "eczema see you") is not a garbled name
                spans = [(a, b) for a, b in spans
                         if " ".join(words_of(" ".join(ws[a:b]))) not in self.matcher.forms
                         and not any(self._term_word(w) for w in ws[a:b])]
                if not spans:
                    continue
                mine = self._screen_forms(s, ws, spans, drugs=k not in loose)
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
            for batch in batches:
                self._score_stretch(engine, window, at, ws, ends, result.language,
                                    options.task, [rw for _, mine in batch for rw in mine])
                for _, mine in batch:
                    # the clinical names are kept apart: they take no drug's place
                    named = [r for r in mine if r.form.lower() in self.index.screen_names]
                    drugs = [r for r in mine if r.form.lower() not in self.index.screen_names]
                    out += sorted(drugs, key=lambda r: -r.d_am)[:p.screen_keep]
                    out += sorted(named, key=lambda r: -r.d_am)[:SCREEN_CLINICAL_KEEP]
        return out

    def _confidence(self, engine, encoder_row: np.ndarray, result, s: int, ws: list[str],
                    options) -> _Confidence:
        """How sure Whisper was of segment `s` (words `ws`) as it wrote it. One
        teacher-forced pass, kept for the chunk (`self._conf`, reset by `collect`): the
        screen and the proposals both read it."""
        if s in self._conf:
            return self._conf[s]
        tok = engine.tokenizer(result.language, options.task)
        base_tokens = tok.encode(" " + " ".join(ws))
        f0, f1 = _window(result.segments[s], encoder_row.shape[0])
        window, n_samples = encoder_row[f0:f1], (f1 - f0) * SAMPLES_PER_FRAME
        base, at = engine.token_logprobs(window, n_samples, result.language, options.task,
                                         [base_tokens], positions=True)[0]
        ends = [len(tok.encode(" " + " ".join(ws[:k]))) for k in range(len(ws) + 1)]
        ends[0] = 0
        word_lp = [float(base[ends[k]:max(ends[k + 1], ends[k] + 1)].mean())
                   if ends[k] < len(base) else 0.0 for k in range(len(ws))]
        self._conf[s] = _Confidence(window, at, ends, word_lp, base)
        return self._conf[s]

    def _propose(self, engine, encoder_row: np.ndarray, n_samples: int, result,
                 cr: ChunkRewrites, kept: list[Rewrite], options) -> list[Rewrite]:
        """Candidates for the words Whisper was unsure of that no kept rewrite explains,
        from Whisper itself decoding them again with the domain prompt (`clinivox lm
        build`'s term list) as context. Returned scored, for a second `decide`.

        In noise and reverb tiny.en writes common clinical words as everyday ones it is
        fairly sure of ("pairs that involve your" for "paracetamol if you're", "as well"
        for swelling). The sound lookup ranks the term first there, but everyday words are
        rewritten only into something that sounds very close: the rule that keeps ordinary
        speech free of insertions. Told the conversation is clinical, Whisper writes the
        term itself. Decoding the whole chunk that way changes ordinary words too ("mend"
        -> "Men"); here a stretch is decoded again (`continue_text`: the words before it
        forced, a short search under the prompt) from the first unsure word (mean token
        log-prob below `propose_logprob`) to a few words past the last, where there is one:
        everyday words only, none inside or beside a kept rewrite, not the chunk's first.
        Only a lexicon term it brings in becomes a candidate (or the forms a slip of its
        sounds like: `_respell_proposal`), with the words decoded around it, scored by
        Whisper without the domain prompt (under a glossary of the proposed terms) and by
        the LM, as any other (`gain`, the gate). Where the new words replace words on both
        sides of a segment boundary, the two segments become one (`_merge_segments`)."""
        import difflib

        p = self.profile
        words = cr.words
        tok = engine.tokenizer(result.language, options.task)
        flat = [(s, k) for s, ws in enumerate(words) for k in range(len(ws))]
        place = {sk: i for i, sk in enumerate(flat)}
        covered = {(r.seg, k) for r in kept for k in range(r.a, r.b)}
        unsure: list[int] = []  # positions in `flat`
        for s, ws in enumerate(words):
            if not ws:
                continue
            word_lp = self._confidence(engine, encoder_row, result, s, ws, options).word_lp
            # Everyday words only: a word that is not one ("norithindrum") is a garbled
            # name, which the sound lookup and the screen are for.
            # A chunk's first word is unsure for reasons that are not the word (see
            # `_screen`), and so are the words beside a kept rewrite (the name was garbled).
            unsure += [place[s, k] for k, lp in enumerate(word_lp)
                       if lp <= p.propose_logprob and (s, k) not in covered
                       and (s, k) != (0, 0)
                       and (s, k - 1) not in covered
                       and (s, k + 1) not in covered
                       and any(ch.isalpha() for ch in ws[k])
                       and all(is_everyday(w, self.index.common_words)
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
        frames = _chunk_frames(encoder_row, n_samples)
        new, ended = engine.continue_text(encoder_row[:frames], result.language, options.task,
                                          prefix, max_new, beam_size=p.propose,
                                          prompt=tok.encode(" " + self.domain_prompt))
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
            have = {h.entry.canonical for h in self.matcher.find(
                " ".join(words[s][k] for s, k in at[i1:i2]))}
            hits = self._new_terms(text, have)
            readings = [(text, hits)] if hits else self._respell_proposal(text, have)
            if readings:
                ops.append((i1, i2, readings))
        # A term Whisper's segment boundary cuts in two ("...excuse me, set the car" |
        # "through to us." for septic arthritis): the two segments become one, so that
        # the term is one span of it (the words and their order are the same).
        cut = sorted({at[i1][0] for i1, i2, _ in ops if at[i2 - 1][0] != at[i1][0]},
                     reverse=True)
        for seg in cut:
            self._merge_segments(result, cr, seg)
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
                ranked = sorted(((self.index.similarity(" ".join(words[seg][x:y]), text), x, y)
                                 for x in range(a, b) for y in range(x + 1, b + 1)),
                                key=lambda t: (-t[0], t[1] - t[2]))
                whole = next(r for r in ranked if (r[1], r[2]) == (a, b))
                for sim, x, y in dict.fromkeys([whole, ranked[0]]):
                    found.append(Rewrite(seg, x, y, h.term.lower(), h.entry, sim, text=text,
                                         proposed=True))
        return self._score_proposals(engine, encoder_row, result, words, found, options)

    def _merge_segments(self, result, cr: ChunkRewrites, s: int) -> None:
        """Segments `s` and `s + 1` of the chunk become one (text, tokens, time span); the
        rewrites already found and the per-segment confidences follow their words."""
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
        self._conf = {(k if k < s else k - 1): v for k, v in self._conf.items()
                      if k not in (s, s + 1)}

    def _new_terms(self, text: str, have: set[str]) -> list[TermHit]:
        """The lexicon terms in a re-decoded `text` whose canonical is not in `have` (the
        span's own). An external cause (ICD-10-CM V00-Y99: "terrorism", "fall") is not a
        term a clinician says."""
        return [h for h in self.matcher.find(text)
                if h.entry.canonical not in have and not _external_cause(h.entry)]

    def _respell_proposal(self, text: str, have: set[str]
                          ) -> list[tuple[str, list[TermHit]]]:
        """A re-decode may write a term it was steered to with a slip ("paracetamolis
        first line"): a word of `text` that is not an everyday word and sounds this close to
        lexicon forms is read as each of them ("paracetamol", "paracetamolum"), and
        Whisper's score chooses. -> [(the text so respelt, the terms in it)]."""
        ws = text.split()
        for i, w in enumerate(ws):
            bare = words_of(w)
            if len(bare) != 1 or is_everyday(bare[0], self.index.common_words) \
                    or bare[0] in self.matcher.forms:
                continue
            found = self.index.lookup([bare[0]], min_similarity=PROPOSE_RESPELL_SIMILARITY,
                                      per_span=PROPOSE_RESPELL_FORMS)[0]
            out = []
            for c in found:
                respelt = " ".join([*ws[:i], c.form, *ws[i + 1:]])
                hits = self._new_terms(respelt, have)
                if hits:
                    out.append((respelt, hits))
            if out:
                return out
        return []

    def _score_proposals(self, engine, encoder_row: np.ndarray, result,
                         words: list[list[str]], found: list[Rewrite], options
                         ) -> list[Rewrite]:
        """`d_am`, `d_lm` and `span_logprob` of proposals, per segment: Whisper's score under
        a glossary of the proposed terms alone (no domain prompt), on the segment's audio."""
        tok = engine.tokenizer(result.language, options.task)
        out: list[Rewrite] = []
        for s in sorted({rw.seg for rw in found}):
            group = [rw for rw in found if rw.seg == s]
            ws = words[s]
            conf = self._confidence(engine, encoder_row, result, s, ws, options)
            ends = conf.ends
            for rw in group:
                span = conf.base[ends[rw.a]:max(ends[rw.b], ends[rw.a] + 1)]
                rw.span_logprob = float(span.mean()) if span.size else 0.0
            group = [rw for rw in group if rw.span_logprob <= self._gate]
            if not group:
                continue
            terms = list(dict.fromkeys(rw.form for rw in group))
            self._score_packed(engine, conf.window, conf.window.shape[0] * SAMPLES_PER_FRAME,
                               result.language, options.task,
                               tok.encode(" " + ", ".join(terms) + "."), ws, None,
                               tok.encode(" " + " ".join(ws)), ends.__getitem__, group)
            base_lm = self._lm_logprob(" ".join(ws))
            for rw in group:
                rw.d_lm = self._lm_logprob(" ".join(_rewrite_words(ws, [rw]))) - base_lm
            out += group
        return out

    def _screen_forms(self, seg: int, ws: list[str], spans: list[tuple[int, int]],
                      drugs: bool = True) -> list[Rewrite]:
        """The `screen` closest common drugs to any of `spans` (word ranges of segment
        `seg`), each at its closest span. A drug's variant spellings ("triamterena",
        "triamteren", "triamtereno") would fill the slots with one drug: each is screened
        once, as its ingredient's name, so the slots hold different drugs."""
        p = self.profile
        sound_key = self.index.phonemizer.key
        hits = self.index.closest_common([" ".join(ws[a:b]) for a, b in spans],
                                         k=SCREEN_LOOKUP_FACTOR * p.screen if drugs else 0,
                                         min_similarity=p.screen_similarity,
                                         k_clinical=SCREEN_CLINICAL,
                                         clinical_similarity=SCREEN_CLINICAL_SIMILARITY)
        best: dict[str, Rewrite] = {}  # form -> its closest span
        for (a, b), found in zip(spans, hits, strict=True):
            for c in found:
                form = preferred_spelling(c.form, c.entry, sound_key)
                old = best.get(form)
                if old is None or c.similarity > old.similarity:
                    best[form] = Rewrite(seg, a, b, form, c.entry, c.similarity, screened=True)
        # (closest_common gave no drugs if not `drugs`, and names only that close)
        ranked = sorted(best.values(), key=lambda r: -r.similarity)
        clinical = self.index.screen_names
        return [r for r in ranked if r.form.lower() not in clinical][:p.screen] \
            + [r for r in ranked if r.form.lower() in clinical][:SCREEN_CLINICAL]

    def _score_stretch(self, engine, window: np.ndarray, at: np.ndarray, ws: list[str],
                       ends: list[int], language, task, group: list[Rewrite]) -> None:
        """`d_am` of each rewrite, scored on the stretch of words around the rewrites and
        on its audio only (`at`: each token's first encoder position in `window`, `ends`:
        tokens of the first k words). The words before the stretch are the same in every
        row, so leaving them out changes little, and the rows are about half as long: the
        screen's scoring cost fell by a quarter, with the same drugs found."""
        tok = engine.tokenizer(language, task)
        c0 = max(0, min(r.a for r in group) - SCREEN_WORDS_BEFORE)
        c1 = min(len(ws), max(r.b for r in group) + SCREEN_WORDS_AFTER)
        last = len(at) - 1
        start = 0 if c0 == 0 else max(0, int(at[min(ends[c0], last)]) - SCREEN_LEAD_FRAMES)
        stop = window.shape[0] if c1 == len(ws) \
            else int(at[min(ends[c1], last)]) + SCREEN_TRAIL_FRAMES
        stop = min(window.shape[0], max(stop, start + SCREEN_MIN_FRAMES))
        start = max(0, min(start, stop - SCREEN_MIN_FRAMES))
        prefix: dict[int, int] = {}

        def n_tokens(k: int) -> int:  # tokens of the stretch's words before word k
            if k not in prefix:
                prefix[k] = len(tok.encode(" " + " ".join(ws[c0:k]))) if k > c0 else 0
            return prefix[k]

        self._score_packed(engine, window[start:stop], (stop - start) * SAMPLES_PER_FRAME,
                           language, task, None, ws, None,
                           tok.encode(" " + " ".join(ws[c0:c1])), n_tokens, group)

    def _plain_span(self, written: list[str]) -> bool:
        """Everyday words and correctly spelt medical words only (see `_medical_word`). A
        hyphenated word counts only when each part is an everyday word ("three-day"):
        hyphens are also how Whisper spells out a word it does not know ("ankle-o-sinks
        bond lighters" for ankylosing spondylitis)."""
        common = self.index.common_words
        for w in written:
            parts = w.strip("-").split("-")
            if len(parts) > 1 and not all(p in common for p in words_of(" ".join(parts))):
                return False
        return all(is_everyday(w, common) or self._medical_word(w)
                   for w in words_of(" ".join(written)))

    def _plural(self, form: str) -> bool:
        """A lexicon form that is the regular plural of another ("antihistamines")."""
        return any(stem in self.matcher.forms for stem in singulars(form.lower()))

    def _term_word(self, written: str) -> bool:
        """A written word that is not an everyday word and is a lexicon term or an
        inflection of one ("fevers": the screen had rewritten "fevers, um" as fortum)."""
        common = self.index.common_words
        forms = self.matcher.forms
        for w in words_of(written):
            if is_everyday(w, common):
                continue
            if w in forms or any(st in forms for st in _stems(w)):
                return True
        return False

    def _medical_word(self, w: str) -> bool:
        """A word of a multi-word lexicon term ("rheumatoid"), or an inflection of a term or
        of such a word ("fevers", "coughing"): a medical word Whisper spelt correctly."""
        if w in self.term_words:
            return True
        return any(st in self.term_words or st in self.matcher.forms
                   or st in self.index.common_words for st in _stems(w))

    def _score_packed(self, engine, window, n_samples, language, task, prompt, words,
                      base, base_tokens, n_tokens, group: list[Rewrite]) -> None:
        """Whisper's log-probability change for each rewrite (`d_am`).

        The decoder is causal, so a rewrite's effect is read from its own tokens and the
        few after it (`score_tail`): the words further on say little about it. Rewrites of
        spans far enough apart therefore share a row (each row is a full decoder pass that
        pays the 51,864-word output projection per token), and a row ends after its last
        rewrite's tail. Each rewrite is compared with the words as written over the same
        stretch, so the prefix, identical in both, cancels. With `base` None, the words as
        written are scored under this prompt in the same call."""
        tok = engine.tokenizer(language, task)
        tail = self.profile.score_tail or len(base_tokens)
        gap = 1 if self.profile.score_tail else len(words) + 1  # 0 tail: one per row
        packs: list[list[Rewrite]] = []
        for rw in group:
            for pack in packs:
                if all(rw.b + gap <= o.a or o.b + gap <= rw.a for o in pack):
                    pack.append(rw)
                    break
            else:
                packs.append([rw])
        rows: list[list[int]] = []
        regions: list[list[tuple[Rewrite, int, int, int, int]]] = []
        for pack in packs:
            pack.sort(key=lambda r: r.a)
            row: list[int] = []
            reg = []
            last = 0  # base tokens copied so far
            for k, rw in enumerate(pack):
                pre, upto = n_tokens(rw.a), n_tokens(rw.b)
                form = tok.encode(" " + _dress(rw.written(), words[rw.a:rw.b]))
                row += base_tokens[last:pre]
                start = len(row)
                row += form
                nxt = n_tokens(pack[k + 1].a) if k + 1 < len(pack) else len(base_tokens)
                stop = min(upto + tail, nxt, len(base_tokens))
                row += base_tokens[upto:stop]
                last = stop
                reg.append((rw, start, len(row), pre, stop))
            rows.append(row)
            regions.append(reg)
        lead = [base_tokens] if base is None else []  # the words as written, same call
        # only the rewrites' regions are read; the scorer skips the rest of each row
        want = [[(b0, b1) for reg in regions for *_, b0, b1 in reg]] * len(lead) \
            + [[(r0, r1) for _, r0, r1, _, _ in reg] for reg in regions]
        logps = engine.token_logprobs(window, n_samples, language, task, lead + rows,
                                      prompt=prompt, want=want, trunk=base_tokens)
        if base is None:
            base, *logps = logps
        for lp, reg in zip(logps, regions, strict=True):
            for rw, r0, r1, b0, b1 in reg:
                rw.d_am = float(lp[r0:r1].sum()) - float(base[b0:b1].sum())

    @staticmethod
    def _alternative_keys(words: list[list[str]], alternatives: list[str]
                          ) -> list[tuple[tuple[int, int, int], str]]:
        """(span of the best hypothesis, text another hypothesis has there) for every
        stretch of up to MAX_SPAN_WORDS words where they differ, within one segment."""
        import difflib

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

    def _rewrite(self, engine, result, cr: ChunkRewrites, chosen: list[Rewrite],
                 options) -> None:
        """Apply the kept rewrites, then write drug names already in the text that are only
        variant spellings of their ingredient ("hydromorphon") as the ingredient name."""
        tok = engine.tokenizer(result.language, options.task)
        sound_key = self.index.phonemizer.key
        texts = cr.texts(chosen, sound_key)
        for s, seg in enumerate(result.segments):
            reps = sorted((r for r in chosen if r.seg == s), key=lambda r: r.a)
            corrections = [
                Correction(" ".join(cr.words[s][r.a:r.b]), r.written(True, sound_key),
                           r.gain(self.profile), r.similarity, r.entry.category, r.entry.code)
                for r in reps]
            text, respelt = self.respell(texts[s])
            if not corrections and not respelt:
                continue
            seg.text = " " + text
            seg.tokens = tok.encode(seg.text)
            seg.corrections = corrections + respelt

    def respell(self, text: str) -> tuple[str, list[Correction]]:
        """`text` with drug names that are only variant spellings of their ingredient
        written as the ingredient name, and a correction (score 0) for each."""
        sound_key = self.index.phonemizer.key
        out, fixed, last = [], [], 0
        for hit in self.matcher.find(text):
            written = preferred_spelling(hit.term.lower(), hit.entry, sound_key)
            if written == hit.term.lower():
                continue
            out += [text[last:hit.start], _dress(written, [hit.term])]
            last = hit.end
            fixed.append(Correction(hit.term, written, 0.0, 1.0, hit.entry.category,
                                    hit.entry.code))
        return "".join(out) + text[last:], fixed

    # -- recognised terms -------------------------------------------------------------------
    def terms(self, text: str) -> list[dict]:
        return [h.to_dict() for h in self.matcher.find(text)]


def _stems(w: str) -> list[str]:
    """What an inflected word may be an inflection of ("fevers" -> fever, "coughing" ->
    cough, "wheezed" -> wheez, wheeze)."""
    stems = []
    for end in ("s", "es", "ing", "ed"):
        if w.endswith(end) and len(w) > len(end) + 2:
            stems += [w[:-len(end)], w[:-len(end)] + "e"]
    return stems


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


def _external_cause(entry: LexiconEntry) -> bool:
    """An ICD-10-CM external cause of morbidity (chapter 20, V00-Y99), not a diagnosis."""
    return entry.category == "diagnosis" and bool(entry.code) and entry.code[0] in "VWXY"


def _chunk_frames(encoder_row: np.ndarray, n_samples: int) -> int:
    """Encoder frames of a chunk's audio and a second after it: the decoder attends where
    the words are, so the 30 s window's padding can be left out."""
    return min(encoder_row.shape[0],
               -(-n_samples // SAMPLES_PER_FRAME) + int(WINDOW_MARGIN_S * FRAMES_PER_S))


def _window(seg, total_frames: int) -> tuple[int, int]:
    """Encoder frames [f0, f1) scored for a segment: its time and a margin either side."""
    f0 = max(0, int((seg.start_s - WINDOW_MARGIN_S) * FRAMES_PER_S))
    f1 = min(total_frames, int((seg.end_s + WINDOW_MARGIN_S) * FRAMES_PER_S) + 1)
    if f1 - f0 < MIN_WINDOW_FRAMES:
        f0, f1 = max(0, f1 - MIN_WINDOW_FRAMES), max(f1, min(total_frames,
                                                              f0 + MIN_WINDOW_FRAMES))
    return f0, f1


def _encoder_rows(encoded) -> np.ndarray:
    """The encoder output as a host array (B, frames, d). A CUDA StorageView is copied to
    the host first: numpy cannot read device memory (np.asarray gives a 0-d object)."""
    import ctranslate2

    if getattr(encoded, "device", "cpu") != "cpu":
        encoded = encoded.to_device(ctranslate2.Device.cpu)
    rows = np.asarray(encoded)
    if rows.ndim != 3:
        raise RuntimeError(f"unexpected encoder output shape {rows.shape}")
    return rows


