"""`clinivox data synth|pseudo-label` and `clinivox finetune`: make training data and adapt
Whisper (the `train` extra: torch, transformers, peft, lightning)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parsers(sub) -> None:
    data = sub.add_parser("data", help="training data: synthetic clinical speech, "
                          "pseudo-labels")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    s = dsub.add_parser("synth", help="speak clinical text in many voices, augmented",
                        description="A seeded, cached corpus of synthetic clinical speech: "
                        "consultation sentences, lexicon templates (drugs with doses, routes "
                        "and frequencies; diagnoses; procedures; numbers and dates) and your "
                        "own text, spoken by Piper (with speaker variation), eSpeak NG and "
                        "Flite when installed, with noise, reverb, speed and telephone "
                        "augmentation. Writes train.jsonl and validation.jsonl; the "
                        "validation split has its own voices, names and consultations.")
    s.add_argument("--out", required=True, type=Path, help="corpus directory")
    s.add_argument("--train", type=int, default=2000, help="training utterances")
    s.add_argument("--validation", type=int, default=300, help="validation utterances")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--consultations", type=Path,
                   help="folder of PriMock57-style TextGrid transcripts")
    s.add_argument("--text", type=Path, action="append", default=[],
                   help="your own sentences, one a line (may repeat)")
    s.add_argument("--exclude", type=Path, action="append", default=[],
                   help="a manifest whose texts must never be used (the sets you report on)")
    s.add_argument("--noise-dir", type=Path, action="append", default=[])
    s.add_argument("--rir-dir", type=Path, action="append", default=[])
    s.add_argument("--template-share", type=float, default=0.6)
    s.add_argument("--list-share", type=float, default=0.0,
                   help="share of utterances that are drug names said alone or in short "
                        "lists (the terms of --exclude manifests are never drawn)")
    s.add_argument("--name-share", type=float, default=0.1,
                   help="share of drug and diagnosis names kept for validation only (0: "
                        "train on every name; validation then differs in voices and "
                        "consultations only)")
    s.set_defaults(func=run_synth)
    p = dsub.add_parser("pseudo-label", help="transcribe unlabelled audio into a manifest",
                        description="Transcribe every recording under AUDIO_DIR and keep the "
                        "segments whose confidence (exp of the mean token log-probability) "
                        "reaches the threshold.")
    p.add_argument("audio_dir", type=Path, metavar="AUDIO_DIR")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--model", default=None, help="model name or directory (default tiny.en)")
    p.add_argument("--threshold", type=float, default=0.9)
    p.set_defaults(func=run_pseudo)

    f = sub.add_parser("finetune", help="fine-tune Whisper (decoder, LoRA or full)",
                       description="Fine-tune a Whisper model on a training manifest, keep "
                       "the checkpoint with the best validation term recall minus WER, and "
                       "export it to CTranslate2 (float16 and int8) in the run directory.")
    f.add_argument("--train", required=True, type=Path, action="append",
                   help="training manifest (JSONL); repeat to train on several")
    f.add_argument("--validation", required=True, type=Path, help="validation manifest")
    f.add_argument("--run-dir", required=True, type=Path)
    f.add_argument("--cache-dir", type=Path, default=None,
                   help="encoder-output cache shared between runs (default RUN_DIR/cache)")
    f.add_argument("--model", default="tiny.en",
                   help="tiny.en, base, a CTranslate2 or a Hugging Face Whisper directory")
    f.add_argument("--method", choices=("decoder", "lora", "full"), default="decoder")
    f.add_argument("--precision", choices=("32", "bf16-mixed", "16-mixed"), default="32")
    f.add_argument("--lr", type=float, default=1e-4)
    f.add_argument("--warmup-steps", type=int, default=50)
    f.add_argument("--max-steps", type=int, default=1000)
    f.add_argument("--batch-size", type=int, default=16)
    f.add_argument("--grad-accum", type=int, default=1)
    f.add_argument("--grad-checkpointing", action="store_true")
    f.add_argument("--val-every", type=int, default=200, help="steps between validations")
    f.add_argument("--patience", type=int, default=3,
                   help="validations without improvement before stopping (0: never)")
    f.add_argument("--kl-weight", type=float, default=0.0,
                   help="weight of KL to the original model (guards general English)")
    f.add_argument("--lora-r", type=int, default=8)
    f.add_argument("--lora-alpha", type=int, default=16)
    f.add_argument("--lora-targets", default="q_proj,v_proj")
    f.add_argument("--prompt-p", type=float, default=0.5,
                   help="share of examples trained with a term-list prompt")
    f.add_argument("--encoder-views", type=int, default=2,
                   help="cached encoder outputs per utterance (clean + SpecAugment)")
    f.add_argument("--frame-margin", type=float, default=2.0,
                   help="train on the speech's encoder frames plus this many seconds "
                        "(faster); a negative value uses all 30 s")
    f.add_argument("--devices", type=int, default=1)
    f.add_argument("--strategy", default="auto", help="auto, ddp, ddp_spawn")
    f.add_argument("--accelerator", default="auto", help="auto, cpu, gpu")
    f.add_argument("--log-every", type=int, default=10, help="steps between loss logs")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    f.set_defaults(func=run_finetune)
    m = sub.add_parser("interpolate", help="move a fine-tuned patch part of the way back to "
                       "its base model (WiSE-FT)",
                       description="Write a patch (delta.npz, as `finetune` exports and "
                       "clinivox ships) whose model lies WEIGHT of the way from the bundled "
                       "base model to the fine-tuned one: every changed tensor becomes base + "
                       "WEIGHT x (tuned - base). Less than 1 forgets less of what the base "
                       "model knew and keeps less of what training taught. Build and use it "
                       "with --model on the directory --build writes.")
    m.add_argument("patch", type=Path, metavar="PATCH", help="a patch (.npz)")
    m.add_argument("--weight", type=float, required=True, help="in (0, 1]; 1 is PATCH")
    m.add_argument("--out", type=Path, required=True, help="the new patch (.npz)")
    m.add_argument("--build", type=Path, default=None,
                   help="also build the model directory here (for --model)")
    m.set_defaults(func=run_interpolate)


def run_synth(args: argparse.Namespace) -> int:
    from clinivox.train.data.corpus import CorpusSpec, build_corpus, tqdm_progress

    spec = CorpusSpec(train_size=args.train, validation_size=args.validation, seed=args.seed,
                      template_share=args.template_share, name_share=args.name_share,
                      list_share=args.list_share, consultations=args.consultations,
                      user_text=tuple(args.text), exclude_manifests=tuple(args.exclude),
                      noise_dirs=tuple(args.noise_dir), rir_dirs=tuple(args.rir_dir))
    manifests = build_corpus(spec, args.out, workers=max(1, args.workers),
                             progress=tqdm_progress("synth"))
    print(json.dumps({k: str(v) for k, v in manifests.items()}, indent=2))
    return 0


def run_pseudo(args: argparse.Namespace) -> int:
    from clinivox.asr.recognizer import Recognizer
    from clinivox.train.data.corpus import tqdm_progress
    from clinivox.train.data.pseudo import PseudoLabelOptions, audio_files, pseudo_label

    files = audio_files(args.audio_dir)
    stats = pseudo_label(files, args.out, Recognizer(args.model),
                         PseudoLabelOptions(threshold=args.threshold),
                         progress=tqdm_progress("pseudo-label"))
    print(json.dumps(stats, indent=2))
    return 0


def run_finetune(args: argparse.Namespace) -> int:
    from clinivox.train.finetune.data import PromptOptions
    from clinivox.train.finetune.module import LoraOptions, OptimOptions
    from clinivox.train.finetune.run import FinetuneConfig, finetune

    cfg = FinetuneConfig(
        model=args.model, method=args.method, precision=args.precision,
        batch_size=args.batch_size, grad_accum=args.grad_accum,
        grad_checkpointing=args.grad_checkpointing, max_steps=args.max_steps,
        val_every_steps=args.val_every, early_stop_patience=args.patience, seed=args.seed,
        devices=args.devices, strategy=args.strategy, accelerator=args.accelerator,
        log_every_steps=args.log_every, encoder_views=args.encoder_views,
        frame_margin_s=None if args.frame_margin < 0 else args.frame_margin,
        optim=OptimOptions(lr=args.lr, warmup_steps=args.warmup_steps,
                           max_steps=args.max_steps, kl_weight=args.kl_weight),
        lora=LoraOptions(r=args.lora_r, alpha=args.lora_alpha,
                         targets=tuple(t.strip() for t in args.lora_targets.split(",")
                                       if t.strip())),
        prompt=PromptOptions(prompt_p=args.prompt_p))
    summary = finetune(cfg, args.train, args.validation, args.run_dir, resume=args.resume,
                       progress=sys.stderr.isatty(), cache_dir=args.cache_dir)
    print(json.dumps(summary, indent=2))
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    from clinivox.asr.clinical import build, read_patch
    from clinivox.asr.models import BUNDLED
    from clinivox.errors import InputError, ModelIntegrityError, OutputError
    from clinivox.train.finetune.delta import interpolate_delta

    if not args.patch.is_file():
        raise InputError(f"no patch at {args.patch}")
    if args.out.suffix != ".npz":
        raise InputError("--out must end in .npz")
    if not 0.0 < args.weight <= 1.0:
        raise InputError("--weight must be in (0, 1]")
    try:
        header, _ = read_patch(args.patch)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{args.patch} is not a clinivox patch ({type(exc).__name__})") \
            from None
    if header.get("base") not in BUNDLED:
        raise InputError(f"the patch is for {header.get('base')!r}, not a bundled model")
    base = BUNDLED[header["base"]]()
    try:
        out = interpolate_delta(args.patch, base, args.weight, args.out)
    except ValueError as exc:
        raise ModelIntegrityError(str(exc)) from None
    except OSError as exc:
        raise OutputError(f"cannot write {args.out} ({exc.strerror})") from None
    result = {"patch": str(out), "weight": args.weight, "base": header["base"]}
    if args.build is not None:
        result["model"] = str(build(base, out, args.build))
    print(json.dumps(result, indent=2))
    return 0
