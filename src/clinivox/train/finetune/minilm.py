"""all-MiniLM-L6-v2 with low-rank adapters, the encoder the NLU's learned models fine-tune
(`assertion`, `spans`).

The base weights stay frozen; LoRA (rank r, y = W x + b + (alpha / r) B A x) wraps the
query, value and attention-output projections and both feed-forward layers of each layer.
What a model exports is the adapters' factors (float16) beside its own head; the numpy
side (`nlp.embeddings.merge_lora`) merges them into the base weights at load time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - the [train] extra
    raise ImportError("pip install clinivox[train]") from exc

ADAPTED = ("attention.self.query", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


class LoRALinear(torch.nn.Module):
    """y = W x + b + (alpha / r) B A x, with W and b frozen; B starts at zero."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale


def parent_of(layer: Any, dotted: str) -> tuple[Any, str]:
    *path, attr = dotted.split(".")
    obj = layer
    for p in path:
        obj = getattr(obj, p)
    return obj, attr


def adapted_minilm(minilm: str | Path | None, rank: int, alpha: float) -> tuple[Path, Any]:
    """(the model directory, its BertModel with frozen weights and LoRA adapters)."""
    from transformers import BertModel

    from clinivox.nlp.embeddings import find_minilm

    root = find_minilm(minilm)
    bert = BertModel.from_pretrained(str(root), add_pooling_layer=False)
    for p in bert.parameters():
        p.requires_grad = False
    for layer in bert.encoder.layer:
        for name in ADAPTED:
            parent, attr = parent_of(layer, name)
            setattr(parent, attr, LoRALinear(getattr(parent, attr), rank, alpha))
    return root, bert


def adapter_arrays(bert: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    """The adapters' factors (float16), named `lora.<layer>.a|b`, and the adapted layers."""
    arrays: dict[str, np.ndarray] = {}
    adapted = []
    for i, layer in enumerate(bert.encoder.layer):
        for name in ADAPTED:
            parent, attr = parent_of(layer, name)
            mod = getattr(parent, attr)
            key = f"encoder.layer.{i}.{name}"
            adapted.append(key)
            arrays[f"lora.{key}.a"] = mod.a.detach().numpy().astype(np.float16)
            arrays[f"lora.{key}.b"] = mod.b.detach().numpy().astype(np.float16)
    return arrays, adapted


def linear_schedule(opt: Any, steps: int) -> Any:
    """Linear warm-up over a tenth of the steps, then linear decay to zero."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))


class AdaptedNet(torch.nn.Module):
    """The adapted encoder (`adapted_minilm`), dropout and a linear head of `head_in`
    features (a multiple of the hidden size) to `outputs`; a subclass's forward reads the
    hidden states its way."""

    def __init__(self, minilm: str | Path | None, rank: int, alpha: float, head_in: int,
                 outputs: int) -> None:
        super().__init__()
        self.root, self.bert = adapted_minilm(minilm, rank, alpha)
        self.rank, self.alpha = rank, alpha
        self.drop = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(head_in * self.bert.config.hidden_size, outputs)


def train(net: AdaptedNet, batches: Callable[[], list[list[int]]],
          loss_of: Callable[[list[int]], Any], n: int, epochs: int, lr: float,
          batch_size: int, progress: Any = None) -> None:
    """Train the adapters and the head with AdamW (weight decay 0.01, `linear_schedule`
    over `epochs` passes of `n` examples in batches of `batch_size`). `batches()` gives an
    epoch's batches (example indexes); `loss_of(batch)` their mean loss;
    `progress(epoch, mean_loss)` is called after each epoch. The net is left in eval mode."""
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = linear_schedule(opt, epochs * math.ceil(n / batch_size))
    for epoch in range(epochs):
        net.train()
        total = 0.0
        for batch in batches():
            loss = loss_of(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch)
        if progress is not None:
            progress(epoch, total / n)
    net.eval()


def export(net: AdaptedNet, path: str | Path, meta: dict[str, Any]) -> None:
    """Write the adapters' factors (float16) and the head (float32) with `meta` (what the
    numpy model reads: its own settings beside the adapters' and `max_tokens`)."""
    arrays, adapted = adapter_arrays(net.bert)
    arrays["head.weight"] = net.head.weight.detach().numpy().astype(np.float32)
    arrays["head.bias"] = net.head.bias.detach().numpy().astype(np.float32)
    arrays["meta"] = np.array(json.dumps({
        **meta, "lora_rank": net.rank, "lora_alpha": net.alpha, "adapted": adapted,
        "base": "all-MiniLM-L6-v2"}))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
