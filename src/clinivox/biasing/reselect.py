"""Reselection: the beam's hypotheses of a primed decode, rescored without the prompt."""

from __future__ import annotations

import numpy as np

from clinivox.biasing.context import ChunkContext, chunk_frames
from clinivox.units import FRAMES_PER_S, SAMPLES_PER_FRAME


def reselect(ctx: ChunkContext) -> None:
    """Rescore the beam's hypotheses of a primed decode as `a*logP_am + b*logP_lm +
    c*words`, with Whisper's log-probability taken without the prompt, and keep the
    best (in `ctx.result`). The primed beam holds the terms the prompt brought in; scoring
    it unprimed brings back ordinary words the prompt had changed, where the beam still has
    them. With a prompt of corpus sentences, offline before biasing: en_read_speech 2.86%
    WER primed, 1.30% rescored (1.82% unprimed). With the term list clinivox writes (no
    patient's words), live with biasing: en_read_speech 2.86% (2.34% unprimed),
    medical_dictation recall 0.907 (0.802): docs/benchmarks.md."""
    result = ctx.result
    hyps = getattr(result, "hypotheses", None) or []
    if len(hyps) < 2:
        return
    tok = ctx.tok
    texts: dict[str, list[int]] = {}
    for h in hyps:
        texts.setdefault(tok.decode([t for t in h if t < tok.eot]).strip(), h)
    if len(texts) < 2:
        return
    p = ctx.profile
    cand = list(texts)
    rows = [tok.encode(" " + t) if t else [] for t in cand]
    frames = chunk_frames(ctx.encoder_row, ctx.n_samples)
    try:
        am = ctx.engine.token_logprobs(ctx.encoder_row[:frames], frames * SAMPLES_PER_FRAME,
                                       result.language, ctx.task, rows, trunk=rows[0])
    except ValueError:  # a hypothesis longer than the decoder's context: keep the best
        return
    score = [p.am_weight * float(lp.sum()) + p.lm_weight * ctx.lm_logprob(t)
             + p.length_weight * len(t.split()) for t, lp in zip(cand, am, strict=True)]
    best = int(np.argmax(score))
    if best == 0:
        return
    duration = ctx.n_samples / (SAMPLES_PER_FRAME * FRAMES_PER_S)
    result.segments = ctx.engine.split(texts[cand[best]], tok, duration)
    order = [best, *(k for k in range(len(cand)) if k != best)]
    result.hypotheses = [texts[cand[k]] for k in order]  # still best first
    result.alternatives = [cand[k] for k in order[1:]]
