"""Teacher-forced scoring of many related token rows with Whisper's decoder, in numpy.

Medical biasing scores dozens of rewrites of one segment: the same glossary prompt, the same
words before each rewrite, the same audio. CTranslate2's `align` (the only teacher-forced
scorer it has) runs every row from the first token, repeats the cross-attention keys of the
audio per row and computes the 51,864-way output distribution at every position, prompt
included. This scorer runs the decoder once over what all rows share (start tokens, prompt,
common prefix) and keeps its keys and values; computes the audio's keys and values once per
window; runs only each row's own tokens; and pays the output projection only where a
log-probability is asked for (`first`).

The weights are read from the CTranslate2 `model.bin` itself (float32/float16/bfloat16, or
int8 with per-row scales), so any Whisper export works, a user's local directory included.
It runs on the CPU in float32; the GPU path keeps CTranslate2's `align`.
"""

from __future__ import annotations

import json
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinivox.numeric import gelu, layer_norm, softmax

_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # CTranslate2 ids
_GELU = 3  # CTranslate2's ActivationType for exact (erf) GELU, Whisper's activation
LOGIT_ROWS = 256  # hidden states per output-projection block: (256, vocab) float32 ~ 53 MB


class ScorerUnavailable(RuntimeError):
    """The model file is not a Whisper decoder this scorer can run (callers fall back)."""


def read_model_bin(path: Path, prefix: str = "decoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 `model.bin` whose names start with `prefix`, as
    arrays (aliases resolved). The format: version, spec name, revision, then per variable
    name, rank, shape, dtype id, byte count, bytes; then aliases."""
    # the encoder is not read
    buf = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))  # type: ignore[arg-type]
    pos = 0

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return vals[0]

    def text() -> str:
        nonlocal pos
        n = take("H")
        s = bytes(buf[pos:pos + n - 1]).decode("utf-8")
        pos += n
        return s

    try:
        version = take("I")
        if version < 5:
            raise ScorerUnavailable(f"model.bin version {version} is too old")
        text()  # spec name
        take("I")  # spec revision
        out: dict[str, np.ndarray] = {}
        for _ in range(take("I")):
            name = text()
            shape = [take("I") for _ in range(take("B"))]
            dtype = _DTYPES[take("B")]
            nbytes = take("I")
            if name.startswith(prefix):
                raw = buf[pos:pos + nbytes]
                if dtype == "bfloat16":
                    arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
                else:
                    arr = np.frombuffer(raw, dtype)
                out[name] = arr.reshape(shape)
            pos += nbytes
        for _ in range(take("I")):
            alias, target = text(), text()
            if alias.startswith(prefix) and target in out:
                out[alias] = out[target]
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise ScorerUnavailable(f"cannot read {path.name}: {exc}") from None
    return out


_POOL: ThreadPoolExecutor | None = None
PARALLEL_ROWS = 16  # logit rows from which the normalisers are computed in two threads


def _log_normalisers(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `logits (n, vocab)`, its max and log(sum(exp(row - max))), so that a
    log-softmax entry is `logit - max - lse`. Overwrites `logits`. The elementwise passes
    run in one thread in numpy (they cost more than the projection's matrix product on
    two cores): from PARALLEL_ROWS rows the two halves run in two threads, the same
    arithmetic per row."""
    global _POOL
    n = logits.shape[0]
    top = np.empty(n, dtype=logits.dtype)
    lse = np.empty(n, dtype=logits.dtype)

    def part(a: int, b: int) -> None:
        x = logits[a:b]
        t = x.max(-1, keepdims=True)
        x -= t
        np.exp(x, out=x)
        top[a:b] = t[:, 0]
        lse[a:b] = np.log(x.sum(-1))

    if n < PARALLEL_ROWS:
        part(0, n)
        return top, lse
    if _POOL is None:
        _POOL = ThreadPoolExecutor(1, thread_name_prefix="clinivox-logits")
    half = n // 2
    other = _POOL.submit(part, 0, half)
    part(half, n)
    other.result()
    return top, lse


@dataclass(frozen=True)
class _Layer:
    ln1: tuple[np.ndarray, np.ndarray]
    qkv: tuple[np.ndarray, np.ndarray]  # (d, 3d) transposed, (3d,)
    out1: tuple[np.ndarray, np.ndarray]
    ln2: tuple[np.ndarray, np.ndarray]
    q2: tuple[np.ndarray, np.ndarray]
    kv2: tuple[np.ndarray, np.ndarray]  # (d, 2d), (2d,): keys and values of the audio
    out2: tuple[np.ndarray, np.ndarray]
    ln3: tuple[np.ndarray, np.ndarray]
    ff1: tuple[np.ndarray, np.ndarray]
    ff2: tuple[np.ndarray, np.ndarray]


@dataclass
class _State:
    """The decoder run over a shared context: per layer its self-attention keys and values
    `(heads, n, d_head)`, and its final hidden states `(n, d)` (after the last norm)."""

    keys: list[np.ndarray]
    values: list[np.ndarray]
    hidden: np.ndarray


class DecoderScorer:
    """Whisper's decoder in numpy float32, for teacher-forced log-probabilities."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        def w(name: str) -> np.ndarray:
            if name not in weights:
                raise ScorerUnavailable(f"model.bin has no {name}")
            arr = weights[name]
            scale = weights.get(name + "_scale")
            if arr.dtype == np.int8:
                if scale is None:
                    raise ScorerUnavailable(f"{name} is int8 without a scale")
                return (arr.astype(np.float32) / scale.astype(np.float32).reshape(-1, 1))
            return np.ascontiguousarray(arr, dtype=np.float32)

        def scalar(name: str, default: int) -> int:
            return int(weights[name].reshape(-1)[0]) if name in weights else default

        p = "decoder/"
        if scalar(p + "activation", _GELU) != _GELU or not scalar(p + "pre_norm", 1) \
                or scalar(p + "scale_embeddings", 0) or scalar(p + "alibi", 0):
            raise ScorerUnavailable("not a Whisper decoder (activation, norm or embeddings)")
        self.n_heads = scalar(p + "num_heads", 0)
        embed = w(p + "embeddings/weight")  # (vocab, d)
        self.vocab, self.d = embed.shape
        if self.n_heads <= 0 or self.d % self.n_heads:
            raise ScorerUnavailable("bad head count")
        # (d, vocab); Whisper ties it to the embeddings, which are then read from it
        proj = weights.get(p + "projection/weight")
        self.tied = proj is None or proj is weights[p + "embeddings/weight"]
        self.out_proj = np.ascontiguousarray((embed if self.tied else w(p + "projection/weight")).T)
        self.embed = None if self.tied else embed
        self.positions = w(p + "position_encodings/encodings")  # (max_len, d)
        self.final_ln = (w(p + "layer_norm/gamma"), w(p + "layer_norm/beta"))

        def lin(name: str) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(w(name + "/weight").T), w(name + "/bias")

        self.layers: list[_Layer] = []
        while f"{p}layer_{len(self.layers)}/ffn/linear_0/weight" in weights:
            q = f"{p}layer_{len(self.layers)}/"
            self.layers.append(_Layer(
                ln1=(w(q + "self_attention/layer_norm/gamma"),
                     w(q + "self_attention/layer_norm/beta")),
                qkv=lin(q + "self_attention/linear_0"), out1=lin(q + "self_attention/linear_1"),
                ln2=(w(q + "attention/layer_norm/gamma"), w(q + "attention/layer_norm/beta")),
                q2=lin(q + "attention/linear_0"), kv2=lin(q + "attention/linear_1"),
                out2=lin(q + "attention/linear_2"),
                ln3=(w(q + "ffn/layer_norm/gamma"), w(q + "ffn/layer_norm/beta")),
                ff1=lin(q + "ffn/linear_0"), ff2=lin(q + "ffn/linear_1")))
        if not self.layers:
            raise ScorerUnavailable("no decoder layers")
        self._memory_key: np.ndarray | None = None
        self._memory: list[tuple[np.ndarray, np.ndarray]] = []
        self._context: tuple[list, list[int], _State] | None = None  # (memory, tokens, states)

    @classmethod
    def load(cls, model_dir: Path, max_parameters: int | None = None) -> DecoderScorer:
        """From a CTranslate2 Whisper directory; `ScorerUnavailable` if it cannot, or if the
        decoder has more than `max_parameters` weights (checked before they are copied
        to float32)."""
        path = Path(model_dir) / "model.bin"
        if not path.is_file():
            raise ScorerUnavailable("no model.bin")
        try:
            config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        if config.get("layer_norm_epsilon", 1e-5) != 1e-5:
            raise ScorerUnavailable("unexpected layer norm epsilon")
        weights = read_model_bin(path)
        size = sum(a.size for a in {id(a): a for a in weights.values()}.values())
        if max_parameters is not None and size > max_parameters:
            raise ScorerUnavailable(f"decoder has {size} weights, over {max_parameters}")
        return cls(weights)

    # -- the decoder -----------------------------------------------------------------------
    def _heads(self, x: np.ndarray) -> np.ndarray:
        """(..., n, d) -> (..., heads, n, d_head)"""
        *lead, n, _ = x.shape
        return x.reshape(*lead, n, self.n_heads, -1).swapaxes(-2, -3)

    def _merge(self, x: np.ndarray) -> np.ndarray:
        """(..., heads, n, d_head) -> (..., n, d)"""
        x = x.swapaxes(-2, -3)
        return x.reshape(*x.shape[:-2], self.d)

    def memory(self, encoder_out: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer, the audio's cross-attention keys and values `(heads, frames, d_head)`
        for `encoder_out: (frames, d)`. The last window's are kept: biasing scores one
        segment's window several times in a row."""
        enc = np.ascontiguousarray(encoder_out, dtype=np.float32)
        if self._memory_key is not None and self._memory_key.shape == enc.shape \
                and np.array_equal(self._memory_key, enc):
            return self._memory
        mem = []
        for lay in self.layers:
            kv = enc @ lay.kv2[0] + lay.kv2[1]
            mem.append((self._heads(kv[:, :self.d]), self._heads(kv[:, self.d:])))
        self._memory_key, self._memory = enc.copy(), mem
        return mem

    def _run(self, tokens: np.ndarray, positions: np.ndarray, rows: np.ndarray, memory,
             past: _State | None = None, visible: np.ndarray | None = None,
             ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """The decoder over packed tokens: `tokens, positions, rows: (n,)`, token t at
        decoder position positions[t], attending to the earlier tokens of its own row and
        to the first `visible[t]` positions of the `past` context, shared by all rows. No
        padding: every product is one 2-D matrix product (per head for attention).
        -> final hidden `(n, d)` and per-layer keys and values `(heads, n, d_head)`."""
        x = (self.out_proj[:, tokens].T if self.embed is None else self.embed[tokens]) \
            + self.positions[positions]
        scale = np.float32(1 / np.sqrt(self.d // self.n_heads))
        own = (rows[:, None] == rows[None]) & (positions[None] <= positions[:, None])
        mask = np.where(own, np.float32(0), np.float32(-np.inf))  # (n, n)
        if past is not None:  # (n, m): the context positions each token may see
            assert visible is not None, "a past context needs visible positions"
            m = past.keys[0].shape[1]
            seen = np.where(np.arange(m)[None] < visible[:, None], np.float32(0),
                            np.float32(-np.inf))
            mask = np.concatenate([seen, mask], axis=1)
        keys, values = [], []
        for i, lay in enumerate(self.layers):
            h = layer_norm(x, *lay.ln1)
            qkv = h @ lay.qkv[0] + lay.qkv[1]  # (n, 3d)
            q, k, v = (self._heads(qkv[:, j * self.d:(j + 1) * self.d]) for j in range(3))
            keys.append(k)
            values.append(v)
            if past is not None:
                k = np.concatenate([past.keys[i], k], axis=1)
                v = np.concatenate([past.values[i], v], axis=1)
            att = softmax((q @ k.swapaxes(-1, -2)) * scale + mask)  # (heads, n, m + n)
            x = x + self._merge(att @ v) @ lay.out1[0] + lay.out1[1]
            h = layer_norm(x, *lay.ln2)
            q = self._heads(h @ lay.q2[0] + lay.q2[1])
            mk, mv = memory[i]  # (heads, frames, d_head), the same audio for every row
            x = x + self._merge(softmax((q @ mk.swapaxes(-1, -2)) * scale) @ mv) \
                @ lay.out2[0] + lay.out2[1]
            h = layer_norm(x, *lay.ln3)
            x = x + gelu(h @ lay.ff1[0] + lay.ff1[1]) @ lay.ff2[0] + lay.ff2[1]
        return layer_norm(x, *self.final_ln), keys, values

    def _context_state(self, context: list[int], mem) -> _State:
        """The decoder's states over `context` with audio `mem`. The last context's are
        kept: biasing scores a segment's words as written, then its rewrites, under the
        same prompt and audio, and the second context is a prefix of the first, so its
        states are sliced from it."""
        cached = self._context
        if cached is not None and cached[0] is mem and len(context) <= len(cached[1]) \
                and cached[1][:len(context)] == context:
            n, state = len(context), cached[2]
            return _State([k[:, :n] for k in state.keys], [v[:, :n] for v in state.values],
                          state.hidden[:n])
        ids = np.asarray(context, dtype=np.int64)
        hid, keys, values = self._run(ids, np.arange(len(ids)), np.zeros(len(ids), np.int64),
                                      mem)
        state = _State(keys, values, hid)
        self._context = (mem, list(context), state)
        return state

    def logprobs(self, encoder_out: np.ndarray, start: list[int], rows: list[list[int]],
                 want: list[list[tuple[int, int]]] | None = None,
                 trunk: list[int] | None = None) -> list[np.ndarray]:
        """log P(row[j] | start, row[:j], audio) for each row, as `(len(row),) float64`.

        `encoder_out: (frames, d)`: the audio the decoder attends to. `start`: the tokens
        before every row (start of transcript, or previous-text prompt and start). With
        `want`, only row i's entries in the ranges want[i] ([a, b) each) are computed,
        the others are left 0: each costs the full-vocabulary output projection. `trunk`
        (default: the first row): tokens the rows mostly begin with, such as the words as
        written when the rows are rewrites of them; run once and shared."""
        if not rows:
            return []
        if not start:
            raise ValueError("start needs at least the start-of-transcript token")
        if len(start) + max(len(r) for r in rows) > self.positions.shape[0]:
            raise ValueError("rows longer than the decoder's context")
        if want is None:
            want = [[(0, len(r))] for r in rows]
        if len(want) != len(rows):
            raise ValueError("want needs one list of ranges per row")
        if any(not r for r in rows):
            raise ValueError("empty row")
        mem = self.memory(encoder_out)
        # The trunk runs once; each row reuses its states up to where the row leaves it
        # (keeping at least one token of its own) and runs only the rest.
        trunk = list(rows[0] if trunk is None else trunk)
        if len(start) + len(trunk) > self.positions.shape[0]:
            raise ValueError("trunk longer than the decoder's context")
        shared_n = []
        for r in rows:
            k = 0
            while k < min(len(r) - 1, len(trunk)) and r[k] == trunk[k]:
                k += 1
            shared_n.append(k)
        context = list(start) + trunk[:max(shared_n)]
        n0 = len(context)
        shared = self._context_state(context, mem)
        # every row's own tokens, packed one after another
        own_rows = np.concatenate([np.full(len(r) - k, i, dtype=np.int64)
                                   for i, (r, k) in enumerate(zip(rows, shared_n, strict=True))])
        own_pos = np.concatenate([len(start) + np.arange(k, len(r))
                                  for r, k in zip(rows, shared_n, strict=True)])
        own_tok = np.concatenate([np.asarray(r[k:], dtype=np.int64)
                                  for r, k in zip(rows, shared_n, strict=True)])
        begins = np.concatenate([[0], np.cumsum([len(r) - k for r, k in
                                                zip(rows, shared_n, strict=True)])])
        own_hid, _, _ = self._run(own_tok, own_pos, own_rows, mem, shared,
                                  len(start) + np.asarray(shared_n)[own_rows])
        # token j of a row is predicted from the position before it: in the trunk (j <= the
        # tokens it shares) or in the row's own run
        pick_row, pick_j, pick_h = [], [], []
        for i, r in enumerate(rows):
            js = sorted({j for a, b in want[i] for j in range(max(0, a), min(b, len(r)))})
            pick_row += [i] * len(js)
            pick_j += js
            pick_h += [len(start) + j - 1 if j <= shared_n[i]
                       else n0 + begins[i] + j - 1 - shared_n[i] for j in js]
        states = np.concatenate([shared.hidden, own_hid])
        tokens = np.asarray([rows[i][j] for i, j in zip(pick_row, pick_j, strict=True)],
                            dtype=np.int64)
        # Rows that leave the trunk at the same place are predicted from the same trunk
        # state there (the screen's forms for one span all are): each state is projected
        # once, and each row reads its own token from it.
        uniq, inv = np.unique(np.asarray(pick_h, dtype=np.int64), return_inverse=True)
        lps = np.empty(len(pick_h), dtype=np.float64)
        buf = np.empty((min(LOGIT_ROWS, len(uniq)), self.vocab), dtype=np.float32)
        for c in range(0, len(uniq), LOGIT_ROWS):
            h = states[uniq[c:c + LOGIT_ROWS]]
            sel = np.flatnonzero((inv >= c) & (inv < c + h.shape[0]))
            at = inv[sel] - c
            logits = np.matmul(h, self.out_proj, out=buf[:h.shape[0]])  # (n, vocab)
            raw = logits[at, tokens[sel]]
            top, lse = _log_normalisers(logits)
            lps[sel] = (raw - top[at]) - lse[at]
        out = [np.zeros(len(r), dtype=np.float64) for r in rows]
        for i, j, v in zip(pick_row, pick_j, lps, strict=True):
            out[i][j] = v
        return out
