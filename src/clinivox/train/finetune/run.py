"""`clinivox finetune`: fine-tune Whisper on manifests, validate on term recall and WER, and
export the result as a CTranslate2 model.

The run directory holds: `config.json`, Lightning checkpoints (`checkpoints/`, `last.ckpt`
for `--resume`), TensorBoard logs (`tb/`), `metrics.csv`, `curves.png` (training and
validation curves), `hf/` (the best model as a Hugging Face directory), `ct2-float16/` and
`ct2-int8/` (CTranslate2 exports), and `delta.npz` (the trained tensors, float16, by
their model.bin names: what `asr.clinical` ships to rebuild the model offline).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import InputError
from clinivox.io.writers import check_output_dir
from clinivox.train.augment.specaugment import SpecAugment
from clinivox.train.finetune.data import (
    ConcatRows,
    Example,
    PromptOptions,
    TargetBuilder,
    encoder_cache,
    log_mel,
    read_examples,
)
from clinivox.train.finetune.module import METHODS, LoraOptions, OptimOptions

PRECISIONS = ("32", "bf16-mixed", "16-mixed")


TRAIN_LANGUAGE = "en"  # the targets' language token (the corpora clinivox builds are English)


@dataclass
class FinetuneConfig:
    model: str = "tiny.en"
    method: str = "decoder"  # decoder | lora | full
    precision: str = "32"
    batch_size: int = 16
    grad_accum: int = 1
    grad_checkpointing: bool = False
    max_steps: int = 1000
    val_every_steps: int = 200
    early_stop_patience: int = 3  # validations without improvement
    monitor: str = "val/score"  # term_recall - wer (higher is better)
    seed: int = 0
    devices: int = 1
    strategy: str = "auto"  # "ddp" / "ddp_spawn" for several processes (gloo on CPU)
    accelerator: str = "auto"
    log_every_steps: int = 10
    encoder_views: int = 2  # cached encoder outputs: clean + SpecAugment views
    # cross-attend to the speech's frames plus this margin in training (None: all 1500)
    frame_margin_s: float | None = 2.0
    timestamps_p: float = 0.5
    val_decode_limit: int = 200  # validation utterances decoded for WER / term recall
    optim: OptimOptions = field(default_factory=OptimOptions)
    lora: LoraOptions = field(default_factory=LoraOptions)
    prompt: PromptOptions = field(default_factory=PromptOptions)
    specaugment: SpecAugment = field(default_factory=SpecAugment)

    def validate(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.batch_size < 1 or self.grad_accum < 1 or self.max_steps < 1:
            raise InputError("batch_size, grad_accum and max_steps must be >= 1")
        if self.encoder_views < 1:
            raise InputError("encoder_views must be >= 1")


def _bar(desc: str) -> Any:
    from clinivox.train.data.corpus import tqdm_progress

    return tqdm_progress(desc)


def _term_pool(examples: list[Example]) -> list[str]:
    return sorted({t for ex in examples for t in ex.terms})


def evaluate_decodes(module: Any, examples: list[Example], encoder: np.ndarray,
                     targets: TargetBuilder, limit: int) -> dict[str, float]:
    """Greedy decodes of validation utterances: WER and term recall (the same metrics as
    `clinivox evaluate`)."""
    import torch

    from clinivox.eval.metrics import error_counts, term_recall
    from clinivox.train.finetune.module import greedy_decode

    tok = targets.tok
    start = [*tok.sot_sequence, tok.no_timestamps]
    errors = words = 0
    found = total = 0
    n = min(limit, len(examples))
    was_training = module.training
    module.eval()
    for i in range(0, n, 16):
        enc = torch.from_numpy(np.asarray(encoder[i:min(i + 16, n)], dtype=np.float32))
        for ex, ids in zip(examples[i:i + 16], greedy_decode(module.model, enc, start,
                                                               tok.eot), strict=False):
            hyp = tok.decode([t for t in ids if t < tok.eot])
            c = error_counts(ex.text, hyp)
            errors += c.errors
            words += c.reference_length
            if ex.terms:
                f, t = term_recall(list(ex.terms), hyp)
                found += f
                total += t
    if was_training:
        module.train()
    wer = errors / max(words, 1)
    recall = found / total if total else 1.0
    return {"wer": wer, "term_recall": recall, "score": recall - wer}


def finetune(cfg: FinetuneConfig, train_manifest: Path | list[Path], val_manifest: Path,
             run_dir: Path, resume: bool = False, progress: bool = True,
             cache_dir: Path | None = None) -> dict[str, Any]:
    """Train, keep the best validation checkpoint, export it. Returns a summary.
    `train_manifest`: one manifest or several (each keeps its own encoder cache);
    `cache_dir`: where encoder outputs are cached (default: the run directory's `cache/`),
    shared between runs of the same model and audio."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader

    from clinivox.train.finetune.module import (
        WhisperExamples,
        WhisperFinetune,
        collate,
        prepare_model,
    )
    from clinivox.train.models.whisper import load_whisper

    cfg.validate()
    run_dir = Path(run_dir)
    check_output_dir(run_dir)
    train_manifests = [Path(train_manifest)] if isinstance(train_manifest, (str, Path)) \
        else [Path(m) for m in train_manifest]
    if not train_manifests:
        raise InputError("no training manifest")
    train_parts = [read_examples(m) for m in train_manifests]
    train_ex = [ex for part in train_parts for ex in part]
    val_ex = read_examples(val_manifest)
    L.seed_everything(cfg.seed, workers=True)
    base, src_dir = load_whisper(cfg.model)
    multilingual = bool(getattr(base.config, "is_multilingual", False))
    targets = TargetBuilder(src_dir, multilingual, TRAIN_LANGUAGE, prompt=cfg.prompt,
                            timestamps_p=cfg.timestamps_p)
    val_targets = TargetBuilder(src_dir, multilingual, TRAIN_LANGUAGE,
                                prompt=PromptOptions(prompt_p=0.0), timestamps_p=0.0)
    for ex in train_ex[:1] + val_ex[:1]:  # fail early on text that tokenises to nothing
        targets.build(ex, random.Random(0), None)
    (run_dir / "config.json").write_text(json.dumps(
        {"config": asdict(cfg), "train": [str(m) for m in train_manifests],
         "validation": str(val_manifest),
         "train_rows": len(train_ex), "validation_rows": len(val_ex)}, indent=2, default=str))
    cache = Path(cache_dir) if cache_dir is not None else run_dir / "cache"
    t0 = time.perf_counter()
    frozen_encoder = cfg.method != "full"
    if frozen_encoder:
        per_part = [encoder_cache(base, src_dir, part, cache, cfg.encoder_views,
                                  cfg.specaugment, cfg.seed,
                                  progress=_bar("encoder cache (train)") if progress else None)
                    for part in train_parts]
        views = per_part[0] if len(per_part) == 1 else \
            [ConcatRows([p[v] for p in per_part]) for v in range(cfg.encoder_views)]
        train_features = None
    else:
        views = None

        def train_features(i: int, rng: random.Random) -> np.ndarray:
            from clinivox.audio.decode import load_audio

            f = log_mel(src_dir, load_audio(train_ex[i].audio))
            if rng.random() < 0.5:
                f = cfg.specaugment(f, np.random.default_rng(rng.randrange(2**31)))
            return f
    val_views = encoder_cache(base, src_dir, val_ex, cache, 1,
                              progress=_bar("encoder cache (validation)") if progress else None)
    cache_s = time.perf_counter() - t0
    reference = None
    if cfg.optim.kl_weight > 0:
        reference, _ = load_whisper(cfg.model)
        for p in reference.parameters():
            p.requires_grad = False
    model = prepare_model(base, cfg.method, cfg.lora)
    if cfg.grad_checkpointing:
        from clinivox.train.finetune.module import whisper_of

        whisper_of(model).gradient_checkpointing_enable()
    pool = _term_pool(train_ex)
    train_ds = WhisperExamples(train_ex, targets, views, train_features, pool, cfg.seed,
                               cfg.frame_margin_s)
    val_ds = WhisperExamples(val_ex, val_targets, val_views, None, None, cfg.seed)
    pad = targets.tok.eot

    def collate_fn(items: list[dict[str, Any]]) -> Any:
        return collate(items, pad)

    train_dl = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True,
                          collate_fn=collate_fn, num_workers=0)
    val_dl = DataLoader(val_ds, batch_size=cfg.batch_size, collate_fn=collate_fn)

    def validate(module: Any) -> dict[str, float]:
        return evaluate_decodes(module, val_ex, val_views[0], val_targets,
                                cfg.val_decode_limit)

    module = WhisperFinetune(model, cfg.method, cfg.optim, reference, validate)
    ckpt = ModelCheckpoint(dirpath=run_dir / "checkpoints", monitor=cfg.monitor, mode="max",
                           save_top_k=1, save_last=True, filename="best")
    callbacks: list[Any] = [ckpt, LearningRateMonitor(logging_interval="step")]
    if cfg.early_stop_patience > 0:
        callbacks.append(EarlyStopping(monitor=cfg.monitor, mode="max",
                                       patience=cfg.early_stop_patience))
    loggers = [CSVLogger(run_dir, name="", version="csv"),
               TensorBoardLogger(run_dir, name="tb", version="")]
    trainer = L.Trainer(
        max_steps=cfg.max_steps, precision=cfg.precision,  # type: ignore[arg-type]
        accumulate_grad_batches=cfg.grad_accum, val_check_interval=cfg.val_every_steps
        * cfg.grad_accum, check_val_every_n_epoch=None, devices=cfg.devices,
        strategy=cfg.strategy, accelerator=cfg.accelerator, callbacks=callbacks,
        logger=loggers, enable_progress_bar=progress, log_every_n_steps=cfg.log_every_steps,
        num_sanity_val_steps=0, deterministic=False, enable_model_summary=False)
    resume_from = run_dir / "checkpoints" / "last.ckpt" if resume else None
    if resume and (resume_from is None or not resume_from.is_file()):
        raise InputError(f"nothing to resume: {run_dir}/checkpoints/last.ckpt not found")
    trained_before = 0
    t1 = time.perf_counter()
    trainer.fit(module, train_dl, val_dl,
                ckpt_path=str(resume_from) if resume_from is not None else None)
    train_s = time.perf_counter() - t1
    steps = trainer.global_step - trained_before
    summary: dict[str, Any] = {
        "method": cfg.method, "steps": steps, "train_s": round(train_s, 1),
        "cache_s": round(cache_s, 1),
        "utterances_per_s": round(steps * cfg.batch_size * cfg.grad_accum / max(train_s, 1e-9),
                                  2),
        "best_score": float(ckpt.best_model_score) if ckpt.best_model_score is not None
        else None, "best_checkpoint": ckpt.best_model_path or None}
    if trainer.is_global_zero:
        best = ckpt.best_model_path or ckpt.last_model_path
        if best:
            state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
            module.load_state_dict(state)
        summary.update(save_outputs(module, src_dir, run_dir, cfg))
        plot_curves(run_dir / "csv" / "metrics.csv", run_dir / "curves.png")
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def save_outputs(module: Any, src_dir: Path, run_dir: Path, cfg: FinetuneConfig
                 ) -> dict[str, Any]:
    """The trained model as a Hugging Face directory, CTranslate2 float16 and int8 exports,
    and the float16 delta of the trained tensors."""
    from clinivox.export.ctranslate2 import export_ct2
    from clinivox.train.finetune.delta import write_delta
    from clinivox.train.models.whisper import write_hf_dir

    model = module.model
    if hasattr(model, "merge_and_unload"):  # LoRA: fold the adapters into the weights
        model = model.merge_and_unload()
    model.eval()
    hf = write_hf_dir(model, src_dir, run_dir / "hf")
    out: dict[str, Any] = {"hf": str(hf)}
    # what clinivox reads back from an export: trained here with term-list prompts (the
    # medical layer's clinical profile), on English targets (a multilingual model decodes
    # English unless asked otherwise)
    record = {"base": cfg.model, "method": cfg.method, "languages": [TRAIN_LANGUAGE],
              "term_prompts": cfg.prompt.prompt_p > 0}
    for q in ("float16", "int8"):
        out[f"ct2_{q}"] = str(export_ct2(hf, run_dir / f"ct2-{q}", q, force=True))
        (run_dir / f"ct2-{q}" / "clinivox.json").write_text(json.dumps(record, indent=2))
    out["delta"] = str(write_delta(src_dir, run_dir / "ct2-float16", run_dir / "delta.npz",
                                   cfg.model, languages=[TRAIN_LANGUAGE]))
    out["delta_mb"] = round(os.path.getsize(out["delta"]) / 2**20, 2)
    return out


def plot_curves(metrics_csv: Path, png: Path) -> None:
    """Training loss and validation loss / WER / term recall against steps."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not metrics_csv.is_file():
        return
    rows = list(csv.DictReader(metrics_csv.open()))

    def series(key: str) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for r in rows:
            if r.get(key) not in (None, ""):
                xs.append(float(r["step"]))
                ys.append(float(r[key]))
        return xs, ys

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("train/loss", "train loss"), ("val/loss", "validation loss")):
        x, y = series(key)
        if x:
            a.plot(x, y, label=label, marker="." if key.startswith("val") else None)
    a.set_xlabel("step")
    a.set_ylabel("loss")
    a.legend()
    for key, label in (("val/wer", "validation WER"), ("val/term_recall", "term recall")):
        x, y = series(key)
        if x:
            b.plot(x, y, label=label, marker="o")
    b.set_xlabel("step")
    b.set_ylim(0, 1)
    b.legend()
    fig.suptitle("clinivox finetune")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
