"""Fine-tune the learned assertion classifier (`clinivox.nlu.assertion_model`).

all-MiniLM-L6-v2 with LoRA adapters (rank 8) on the query, value and attention-output
projections and on both feed-forward layers of each of its six layers, and a linear head
over the hidden states of the mention's opening marker and the mean of its words. The
base weights stay frozen; what is exported is the adapters' factors and the head
(0.6 MB), which the numpy model merges into the base at load time.

    examples = [AssertionExample("any chest pain?", 4, 14, "problem", "hypothetical"), ...]
    model = fit(examples)
    export(model, "assertion.npz", rule_weight=0.4)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.nlu.assertion_model import marked, mention_tokens
from clinivox.nlu.context import ASSERTIONS
from clinivox.train.finetune.minilm import AdaptedNet, train
from clinivox.train.finetune.minilm import export as write

try:
    import torch
except ImportError as exc:  # pragma: no cover - the [train] extra
    raise ImportError("pip install clinivox[train]") from exc

CLASSES = list(ASSERTIONS)
MAX_TOKENS = 96


@dataclass
class AssertionExample:
    text: str  # the sentence (a PriMock57 utterance line)
    start: int  # the mention's characters
    end: int
    label: str  # problem, drug or allergy
    assertion: str  # the gold class


class AssertionNet(AdaptedNet):
    def __init__(self, minilm: str | Path | None = None, rank: int = 8,
                 alpha: float = 16.0) -> None:
        super().__init__(minilm, rank, alpha, 2, len(CLASSES))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, first: torch.Tensor,
                words: torch.Tensor) -> torch.Tensor:
        h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        opening = h[torch.arange(h.shape[0]), first]
        mean = (h * words[..., None]).sum(1) / words.sum(1, keepdim=True).clamp(min=1)
        return self.head(self.drop(torch.cat([opening, mean], -1)))


class _Encoder:
    """The same tokenisation as the numpy model (`nlp.embeddings.tokenizer`)."""

    def __init__(self, root: Path) -> None:
        from clinivox.nlp.embeddings import tokenizer

        self.tok = tokenizer(root, MAX_TOKENS)

    def __call__(self, batch: Sequence[AssertionExample]) -> tuple[torch.Tensor, ...]:
        inputs = [marked(e.text, e.start, e.end, e.label) for e in batch]
        enc = self.tok.encode_batch([s for s, _, _ in inputs])
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        words = torch.zeros(ids.shape)
        first = []
        for i, (e, (_, a, b)) in enumerate(zip(enc, inputs, strict=True)):
            idx = mention_tokens(e.offsets, a, b)
            first.append(idx[0])
            words[i, idx] = 1.0
        return ids, mask, torch.tensor(first), words


def fit(examples: Sequence[AssertionExample], epochs: int = 6, lr: float = 1e-3,
        batch_size: int = 16, seed: int = 0, minilm: str | Path | None = None,
        progress: Any = None) -> AssertionNet:
    """Train the adapters and the head with AdamW (linear warm-up over a tenth of the
    steps, then linear decay) and cross-entropy. `progress(epoch, mean_loss)` is called
    after each epoch."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = AssertionNet(minilm)
    encode = _Encoder(net.root)
    y = torch.tensor([CLASSES.index(e.assertion) for e in examples])

    def batches() -> list[list[int]]:
        order = list(range(len(examples)))
        rng.shuffle(order)
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]

    def loss_of(b: list[int]) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(net(*encode([examples[j] for j in b])),
                                                 y[b])

    train(net, batches, loss_of, len(examples), epochs, lr, batch_size, progress)
    return net


@torch.no_grad()
def probabilities(net: AssertionNet, examples: Sequence[AssertionExample]) -> np.ndarray:
    net.eval()
    encode = _Encoder(net.root)
    out = [torch.softmax(net(*encode(examples[i:i + 64])), -1)
           for i in range(0, len(examples), 64)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(CLASSES)), np.float32)


def export(net: AssertionNet, path: str | Path, rule_weight: float,
           notes: dict[str, Any] | None = None, combination: str = "weighted") -> None:
    """Write the adapters' factors and the head (float16 factors, float32 head) with the
    settings the numpy model needs (`combination`: how it meets the rules,
    `nlu.assertion_model.COMBINATIONS`)."""
    from clinivox.nlu.assertion_model import COMBINATIONS

    if combination not in COMBINATIONS:
        raise ValueError(f"combination {combination!r} is not one of {COMBINATIONS}")
    write(net, path, {"classes": CLASSES, "rule_weight": rule_weight,
                      "combination": combination, "max_tokens": MAX_TOKENS,
                      **(notes or {})})
