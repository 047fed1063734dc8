"""Lexicon-scale term biasing: retrieve sound-alike terms, rescore, correct.

Whisper's `hotwords`/prompt route stops at ~220 tokens, about 40 names. clinivox biases with
the whole lexicon instead, after the first decode of each chunk and before word alignment:

1. Retrieval. Every span of one to four words in the hypothesis is keyed by sound (espeak
   phonemes, reduced) and compared with all lexicon forms (`TermIndex`, one C++ sweep).
   "the picks up in" retrieves "apixaban"; ordinary speech retrieves little.
2. Rescoring. Each hypothesis with one span replaced by a retrieved term is scored by the
   same Whisper model on the same audio (teacher-forced: one decoder pass over the encoder
   output already computed, batched), and by the domain n-gram LM:
       gain = a * dlogP_am + b * dlogP_lm + c * dlength + bias * weight(term)
   A replacement is kept when its gain is positive and Whisper was not confident in the
   words it replaces (the confidence gate keeps common words that were heard clearly).
3. Correction. Kept replacements (non-overlapping, best first) rewrite the segment text, its
   tokens (so word timestamps follow) and are reported with original, replacement, score.

The weights live in a `BiasProfile`; `clinivox tune` grid-searches them on a dev manifest.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from clinivox.errors import InputError
from clinivox.medical.lexicon import Lexicon, LexiconEntry
from clinivox.medical.lm import NGramLM, classed_tokens
from clinivox.medical.phonetics import words_of
from clinivox.medical.terms import MAX_SPAN_WORDS, TermIndex, TermMatcher, preferred_spelling

FRAMES_PER_S = 50  # encoder positions per second
SAMPLES_PER_FRAME = 16_000 // FRAMES_PER_S
WINDOW_MARGIN_S = 1.0  # encoder context kept around a segment when rescoring it
MIN_WINDOW_FRAMES = 150
COMMON_SPAN_MIN_SIMILARITY = 0.8


@dataclass(frozen=True)
class BiasProfile:
    am_weight: float = 1.0  # a: Whisper's log-probability of the rewritten chunk text
    lm_weight: float = 0.3  # b: domain LM log-probability of the rewritten segment
    length_weight: float = 0.0  # c: per token of length change
    bias: float = 4.0  # log-domain bonus per inserted term (times the term's weight)
    gate_logprob: float = -0.15  # spans Whisper wrote above this mean token log-prob stay
    min_similarity: float = 0.7  # retrieval cut-off on sound similarity
    per_span: int = 4  # retrieved forms per span
    max_candidates: int = 24  # rewrites rescored per segment
    glossary: int = 12  # retrieved forms listed in the scoring prompt (0: no prompt)

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
        return cls(**weights)

    def save(self, path: Path, **meta) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": asdict(self), **meta}, indent=2) + "\n",
                        encoding="utf-8")


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
    d_len: int = 0
    span_logprob: float = 0.0  # Whisper's mean token log-prob over the replaced words

    def gain(self, p: BiasProfile) -> float:
        return (p.am_weight * self.d_am + p.lm_weight * self.d_lm
                + p.length_weight * self.d_len + p.bias * self.entry.weight)


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
        form = preferred_spelling(r.form, r.entry, sound_key) if final else r.form
        out.append(_dress(form, words[r.a:r.b]))
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
                 key_cache: Path | None = None, plain_word=None) -> None:
        self.lexicon = lexicon
        self.profile = profile or BiasProfile()
        self.lm = lm
        self.matcher = TermMatcher(lexicon, common_words)
        self.index = TermIndex(lexicon, common_words=common_words, key_cache=key_cache,
                               plain_word=plain_word)
        self.record: list[ChunkRewrites] | None = None  # set to a list to keep every chunk

    # -- the engine hook ---------------------------------------------------------------------
    def apply(self, engine, encoded, chunks: list[np.ndarray], results, options) -> None:
        rows_np = None
        for i, r in enumerate(results):
            if not r.segments or (r.language or "en") != "en":
                continue
            if rows_np is None:
                rows_np = _encoder_rows(encoded)
            cr = self.collect(engine, rows_np[i], chunks[i].shape[0], r, options)
            if self.record is not None:
                self.record.append(cr)
                continue
            self._rewrite(engine, r, cr, cr.decide(self.profile), options)

    def collect(self, engine, encoder_row: np.ndarray, n_samples: int, result,
                options) -> ChunkRewrites:
        tok = engine.tokenizer(result.language, options.task)
        words = [s.text.split() for s in result.segments]
        cr = ChunkRewrites(words)
        spans: list[tuple[int, int, int]] = []
        for s, ws in enumerate(words):
            for a in range(len(ws)):
                for b in range(a + 1, min(a + MAX_SPAN_WORDS, len(ws)) + 1):
                    spans.append((s, a, b))
        if not spans:
            return cr
        texts = [" ".join(words[s][a:b]) for s, a, b in spans]
        hits = self.index.lookup(texts, min_similarity=self.profile.min_similarity,
                                 per_span=self.profile.per_span)
        cands: list[Rewrite] = []
        for (s, a, b), text, found in zip(spans, texts, hits, strict=True):
            span_key = " ".join(words_of(text))
            if span_key in self.matcher.forms:
                continue  # already a lexicon term
            everyday = all(w in self.index.common_words or len(w) == 1
                           for w in span_key.split())
            for c in found:
                if " ".join(words_of(c.form)) == span_key:
                    continue
                # everyday words are rewritten only into something that sounds very close
                if everyday and c.similarity < COMMON_SPAN_MIN_SIMILARITY \
                        and c.entry.category != "user":
                    continue
                cands.append(Rewrite(s, a, b, c.form, c.entry, c.similarity))
        if not cands:
            return cr
        cands.sort(key=lambda r: -r.similarity)
        # Teacher-forced scores: per segment, its text as written and with each rewrite, on
        # the encoder frames of that segment only (the decoder attends where the words are;
        # cropping the memory keeps the scores and cuts the cost several times).
        lm_cache: dict[str, float] = {}

        def lm_score(text: str) -> float:
            if self.lm is None:
                return 0.0
            if text not in lm_cache:
                lm_cache[text] = self.lm.logprob(classed_tokens(text, self.matcher))
            return lm_cache[text]

        by_seg: dict[int, list[Rewrite]] = {}
        scored: list[Rewrite] = []
        for rw in cands:
            by_seg.setdefault(rw.seg, []).append(rw)
        total_frames = encoder_row.shape[0]
        for s, group in by_seg.items():
            seg = result.segments[s]
            f0 = max(0, int((seg.start_s - WINDOW_MARGIN_S) * FRAMES_PER_S))
            f1 = min(total_frames, int((seg.end_s + WINDOW_MARGIN_S) * FRAMES_PER_S) + 1)
            if f1 - f0 < MIN_WINDOW_FRAMES:
                f0, f1 = max(0, f1 - MIN_WINDOW_FRAMES), max(f1, min(total_frames,
                                                                      f0 + MIN_WINDOW_FRAMES))
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
            gate = 0.0 if self.record is not None else self.profile.gate_logprob
            group = [rw for rw in group if rw.span_logprob <= gate][:self.profile.max_candidates]
            if not group:
                continue
            rows = [tok.encode(" " + " ".join(_rewrite_words(words[s], [rw]))) for rw in group]
            logps = engine.token_logprobs(window, n_samples, result.language, options.task,
                                          rows, prompt=prompt)
            base_sum = float(base.sum())
            base_lm = lm_score(" ".join(words[s]))
            for rw, lp, row in zip(group, logps, rows, strict=True):
                rw.d_am = float(lp.sum()) - base_sum
                rw.d_len = len(row) - len(base_tokens)
                rw.d_lm = lm_score(" ".join(_rewrite_words(words[s], [rw]))) - base_lm
                scored.append(rw)
        cr.rewrites = scored
        return cr

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
                Correction(" ".join(cr.words[s][r.a:r.b]),
                           preferred_spelling(r.form, r.entry, sound_key),
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


