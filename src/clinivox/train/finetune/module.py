"""The Lightning module: Whisper fine-tuning by method (decoder, LoRA, full), with an
optional KL term to the original model that guards what it already knows."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import Dataset

from clinivox.train.finetune.data import IGNORE, Example, TargetBuilder

METHODS = ("decoder", "lora", "full")


@dataclass(frozen=True)
class OptimOptions:
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 50
    max_steps: int = 1000
    kl_weight: float = 0.0  # KL(original || tuned) on the text tokens: keeps old knowledge


@dataclass(frozen=True)
class LoraOptions:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")


@dataclass
class Batch:
    inputs: torch.Tensor  # (B, T) decoder input ids (padded with eot)
    labels: torch.Tensor  # (B, T) with IGNORE on context and padding
    encoder_out: torch.Tensor | None = None  # (B, 1500, d) when the encoder is cached
    features: torch.Tensor | None = None  # (B, n_mels, 3000) when the encoder trains


class WhisperExamples(Dataset):
    """Training examples, each drawn afresh per epoch (prompt, timestamps mode, view)."""

    def __init__(self, examples: list[Example], targets: TargetBuilder,
                 encoder_views: list[Any] | None, features: Any = None,
                 term_pool: list[str] | None = None, seed: int = 0,
                 frame_margin_s: float | None = None) -> None:
        """`frame_margin_s`: cross-attend only to the encoder frames of the speech plus this
        margin (a batch keeps its longest row's frames): 3-6x cheaper decoder steps on
        short utterances. None: Whisper's whole 30 s window, as at inference."""
        self.examples = examples
        self.frame_margin_s = frame_margin_s
        self.targets = targets
        self.views = encoder_views
        self.features = features  # callable(i, rng) -> log-mel, when the encoder trains
        self.term_pool = term_pool
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
        inputs, labels = self.targets.build(self.examples[i], rng, self.term_pool)
        item: dict[str, Any] = {"inputs": inputs, "labels": labels}
        if self.views is not None:
            view = self.views[rng.randrange(len(self.views))]
            frames = 1500
            dur = self.examples[i].duration
            if self.frame_margin_s is not None and dur is not None:
                frames = min(1500, int(np.ceil((dur + self.frame_margin_s) / 0.02)))
            item["encoder_out"] = view[i]
            item["frames"] = frames
        else:
            item["features"] = self.features(i, rng)
        return item


def collate(items: list[dict[str, Any]], pad_id: int) -> Batch:
    n = max(len(x["inputs"]) for x in items)
    inputs = torch.full((len(items), n), pad_id, dtype=torch.long)
    labels = torch.full((len(items), n), IGNORE, dtype=torch.long)
    for k, x in enumerate(items):
        inputs[k, :len(x["inputs"])] = torch.tensor(x["inputs"])
        labels[k, :len(x["labels"])] = torch.tensor(x["labels"])
    enc = feats = None
    if "encoder_out" in items[0]:
        frames = max(x["frames"] for x in items)  # the batch's longest speech + margin
        enc = torch.from_numpy(np.stack([np.asarray(x["encoder_out"][:frames], np.float32)
                                         for x in items]))
    else:
        feats = torch.from_numpy(np.stack([x["features"] for x in items]))
    return Batch(inputs, labels, enc, feats)


def prepare_model(model: Any, method: str, lora: LoraOptions | None = None) -> Any:
    """Freeze what the method leaves alone; wrap LoRA adapters. Token and position
    embeddings stay frozen in every method (the output projection is tied to them): the
    trained part is the transformer layers, which keeps the delta small."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    model.train()  # loaded for inference (eval mode); a cached encoder is not run anyway
    for p in model.parameters():
        p.requires_grad = False
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        lo = lora or LoraOptions()
        targets = [f"decoder.layers.{i}.{part}.{t}"
                   for i in range(model.config.decoder_layers)
                   for part in ("self_attn", "encoder_attn") for t in lo.targets
                   if t.endswith("_proj")] + \
                  [f"decoder.layers.{i}.{t}" for i in range(model.config.decoder_layers)
                   for t in lo.targets if t in ("fc1", "fc2")]
        cfg = LoraConfig(r=lo.r, lora_alpha=lo.alpha, lora_dropout=lo.dropout,
                         target_modules=targets, bias="none")
        return get_peft_model(model, cfg)
    stacks = [model.model.decoder.layers, [model.model.decoder.layer_norm]]
    if method == "full":
        enc = model.model.encoder
        stacks += [enc.layers, [enc.layer_norm, enc.conv1, enc.conv2]]
    for stack in stacks:
        for module in stack:
            for p in module.parameters():
                p.requires_grad = True
    return model


def whisper_of(model: Any) -> Any:
    """The WhisperForConditionalGeneration inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class WhisperFinetune(L.LightningModule):
    def __init__(self, model: Any, method: str, optim: OptimOptions,
                 reference: Any = None, validate: Any = None) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self.optim = optim
        self.reference = reference  # frozen original model for the KL guard
        self._validate = validate  # callable(module) -> dict of metrics

    def _logits(self, model: Any, batch: Batch) -> torch.Tensor:
        w = whisper_of(model)
        if batch.encoder_out is not None:
            enc = batch.encoder_out.to(self.dtype_for(w))
        else:
            assert batch.features is not None
            enc = w.model.encoder(batch.features).last_hidden_state
        hidden = w.model.decoder(input_ids=batch.inputs, encoder_hidden_states=enc,
                                 use_cache=False).last_hidden_state
        return w.proj_out(hidden)

    @staticmethod
    def dtype_for(w: Any) -> torch.dtype:
        return next(w.model.decoder.parameters()).dtype

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self._logits(self.model, batch).float()
        mask = batch.labels != IGNORE
        ce = torch.nn.functional.cross_entropy(logits[mask], batch.labels[mask])
        stats = {"ce": float(ce.detach())}
        loss = ce
        if self.optim.kl_weight > 0 and self.reference is not None:
            with torch.no_grad():
                ref = self._logits(self.reference, batch).float()[mask]
            kl = torch.nn.functional.kl_div(torch.log_softmax(logits[mask], -1),
                                            torch.log_softmax(ref, -1), log_target=True,
                                            reduction="batchmean")
            loss = ce + self.optim.kl_weight * kl
            stats["kl"] = float(kl.detach())
        return loss, stats

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, stats = self.loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.inputs.shape[0])
        for k, v in stats.items():
            self.log(f"train/{k}", v, batch_size=batch.inputs.shape[0])
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        loss, _ = self.loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch.inputs.shape[0],
                 sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if self._validate is None or self.trainer.sanity_checking:
            return
        for k, v in self._validate(self).items():
            self.log(f"val/{k}", v, prog_bar=k in ("wer", "term_recall"), sync_dist=True)

    def configure_optimizers(self) -> Any:
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.optim.lr, weight_decay=self.optim.weight_decay)
        warm, total = self.optim.warmup_steps, max(self.optim.max_steps, 1)

        def schedule(step: int) -> float:  # linear warm-up, then cosine to 0
            if step < warm:
                return (step + 1) / max(warm, 1)
            t = min(1.0, (step - warm) / max(total - warm, 1))
            return 0.5 * (1 + math.cos(math.pi * t))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


@torch.no_grad()
def greedy_decode(model: Any, encoder_out: torch.Tensor, start: list[int], eot: int,
                  max_new: int = 120, suppress: list[int] | None = None) -> list[list[int]]:
    """Greedy tokens after `start` for each row of `encoder_out (B, 1500, d)`."""
    w = whisper_of(model)
    b = encoder_out.shape[0]
    ids = torch.tensor([start] * b)
    out: list[list[int]] = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool)
    past = None
    step_ids = ids
    for _ in range(max_new):
        dec = w.model.decoder(input_ids=step_ids, encoder_hidden_states=encoder_out,
                              past_key_values=past, use_cache=True)
        past = dec.past_key_values
        logits = w.proj_out(dec.last_hidden_state[:, -1]).float()
        if suppress:
            logits[:, suppress] = -float("inf")
        nxt = logits.argmax(-1)
        for k in range(b):
            if not done[k]:
                if int(nxt[k]) == eot:
                    done[k] = True
                else:
                    out[k].append(int(nxt[k]))
        if bool(done.all()):
            break
        step_ids = nxt[:, None]
    return out
