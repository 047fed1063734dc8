"""Whisper's log-probability change for rewrites (`d_am`), scored teacher-forced on the
chunk's encoder output, packed so that one decoder row serves several rewrites."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from clinivox.biasing.context import ChunkContext
from clinivox.biasing.rewrites import Rewrite, dress
from clinivox.units import SAMPLES_PER_FRAME

SCREEN_WORDS_BEFORE = 2  # words of context kept before the leftmost screened span
SCREEN_WORDS_AFTER = 2  # ... and after the rightmost
SCREEN_LEAD_FRAMES = 15  # encoder positions (20 ms) kept before the first kept word
SCREEN_TRAIL_FRAMES = 25  # ... and after the last
SCREEN_MIN_FRAMES = 100  # the shortest stretch of audio scored (2 s)


def score_packed(ctx: ChunkContext, window: np.ndarray, n_samples: int,
                 prompt: list[int] | None, words: list[str], base: np.ndarray | None,
                 base_tokens: list[int], n_tokens: Callable[[int], int],
                 group: list[Rewrite]) -> None:
    """Whisper's log-probability change for each rewrite (`d_am`).

    `window: (frames, d_model)` encoder output, `words` the segment's words, `base` the
    log-probability of each of `base_tokens` (the words as written), `n_tokens(k)` the
    tokens of the first k words. The decoder is causal, so a rewrite's effect is read from
    its own tokens and the few after it (`score_tail`): the words further on say little
    about it. Rewrites of spans far enough apart therefore share a row (each row is a full
    decoder pass that pays the 51,864-word output projection per token), and a row ends
    after its last rewrite's tail. Each rewrite is compared with the words as written over
    the same stretch, so the prefix, identical in both, cancels. With `base` None, the
    words as written are scored under this prompt in the same call."""
    tok = ctx.tok
    tail = ctx.profile.score_tail or len(base_tokens)
    gap = 1 if ctx.profile.score_tail else len(words) + 1  # 0 tail: one per row
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
            form = tok.encode(" " + dress(rw.written(), words[rw.a:rw.b]))
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
    logps = ctx.engine.token_logprobs(window, n_samples, ctx.language, ctx.task, lead + rows,
                                      prompt=prompt, want=want, trunk=base_tokens)
    if base is None:
        base, *logps = logps
    for lp, reg in zip(logps, regions, strict=True):
        for rw, r0, r1, b0, b1 in reg:
            rw.d_am = float(lp[r0:r1].sum()) - float(base[b0:b1].sum())


def score_stretch(ctx: ChunkContext, window: np.ndarray, at: np.ndarray, ws: list[str],
                  ends: list[int], group: list[Rewrite]) -> None:
    """`d_am` of each rewrite, scored on the stretch of words around the rewrites and
    on its audio only (`at`: each token's first encoder position in `window`, `ends`:
    tokens of the first k words). The words before the stretch are the same in every
    row, so leaving them out changes little, and the rows are about half as long: the
    screen's scoring cost fell by a quarter, with the same drugs found."""
    tok = ctx.tok
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

    score_packed(ctx, window[start:stop], (stop - start) * SAMPLES_PER_FRAME, None, ws, None,
                 tok.encode(" " + " ".join(ws[c0:c1])), n_tokens, group)
