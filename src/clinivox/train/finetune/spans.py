"""Fine-tune the learned span tagger (`clinivox.nlu.span_model`).

all-MiniLM-L6-v2 with LoRA adapters (`train.finetune.minilm`) and a linear head that tags
each word piece O, B-label or I-label (problem, drug, anatomy, test); cross-entropy on
every piece. What is exported is the adapters' factors and the head (about 0.6 MB), which
the numpy model merges into the base at load time.

    examples = [SpanExample("it burns when I pee", [(3, 8, "problem")]), ...]
    model = fit(examples)
    export(model, "spans.npz", threshold=0.5, added_labels=("problem", "drug"))
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.nlu.span_model import CHUNK, TAGS, chunks, token_tags
from clinivox.train.finetune.minilm import AdaptedNet, train
from clinivox.train.finetune.minilm import export as write

try:
    import torch
except ImportError as exc:  # pragma: no cover - the [train] extra
    raise ImportError("pip install clinivox[train]") from exc

MAX_TOKENS = 128


@dataclass
class SpanExample:
    text: str  # a sentence or line (at most CHUNK characters; `pieces` cuts longer ones)
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, label)


def pieces(text: str, spans: list[tuple[int, int, str]]) -> list[SpanExample]:
    """A text cut as the model reads it (`span_model.chunks`), each piece with the spans
    inside it."""
    return [SpanExample(text[a:b], [(s - a, e - a, lab) for s, e, lab in spans
                                    if a <= s and e <= b]) for a, b in chunks(text)]


class SpanNet(AdaptedNet):
    def __init__(self, minilm: str | Path | None = None, rank: int = 8,
                 alpha: float = 16.0) -> None:
        super().__init__(minilm, rank, alpha, 1, len(TAGS))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.head(self.drop(h))


class _Encoder:
    """The same tokenisation as the numpy model (`nlp.embeddings.tokenizer`)."""

    def __init__(self, root: Path) -> None:
        from clinivox.nlp.embeddings import tokenizer

        self.tok = tokenizer(root, MAX_TOKENS)

    def __call__(self, batch: Sequence[SpanExample]) -> tuple[Any, ...]:
        enc = self.tok.encode_batch([e.text for e in batch])
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        y = torch.tensor([token_tags(e.offsets, x.spans) for e, x in zip(enc, batch,
                                                                           strict=True)])
        return ids, mask, y, enc


def _batches(examples: Sequence[SpanExample], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of texts of similar length (sorted within groups of 8 batches), so
    that a batch pads little; the batches' order is shuffled too."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    out = []
    for g in range(0, len(order), 8 * size):
        group = sorted(order[g:g + 8 * size], key=lambda j: len(examples[j].text))
        out += [group[i:i + size] for i in range(0, len(group), size)]
    rng.shuffle(out)
    return out


def fit(examples: Sequence[SpanExample], epochs: int = 5, lr: float = 1e-3,
        batch_size: int = 16, seed: int = 0, minilm: str | Path | None = None,
        progress: Any = None) -> SpanNet:
    """Train the adapters and the head with AdamW (warm-up, then linear decay) and
    token cross-entropy. `progress(epoch, mean_loss)` is called after each epoch."""
    if any(len(e.text) > CHUNK for e in examples):
        raise ValueError(f"an example is longer than {CHUNK} characters: cut it with pieces()")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = SpanNet(minilm)
    encode = _Encoder(net.root)

    def loss_of(batch: list[int]) -> torch.Tensor:
        ids, mask, y, _ = encode([examples[j] for j in batch])
        return torch.nn.functional.cross_entropy(net(ids, mask).reshape(-1, len(TAGS)),
                                                 y.reshape(-1), ignore_index=-100)

    train(net, lambda: _batches(examples, batch_size, rng), loss_of, len(examples), epochs,
          lr, batch_size, progress)
    return net


@torch.no_grad()
def probabilities(net: SpanNet, texts: Sequence[str]) -> list[tuple[Any, np.ndarray]]:
    """Each text's (tokenizer encoding, token x TAGS probabilities), as the numpy model's
    `SpanModel.probabilities` gives them."""
    net.eval()
    encode = _Encoder(net.root)
    out = []
    for i in range(0, len(texts), 64):
        batch = [SpanExample(t) for t in texts[i:i + 64]]
        ids, mask, _, enc = encode(batch)
        p = torch.softmax(net(ids, mask), -1).numpy()
        out += [(e, p[j, :len(e.ids)]) for j, e in enumerate(enc)]
    return out


def export(net: SpanNet, path: str | Path, threshold: float,
           added_labels: Sequence[str], notes: dict[str, Any] | None = None) -> None:
    """Write the adapters' factors and the head with the settings the numpy model needs."""
    write(net, path, {"tags": list(TAGS), "threshold": threshold,
                      "added_labels": list(added_labels), "max_tokens": MAX_TOKENS,
                      **(notes or {})})
