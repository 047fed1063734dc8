"""Fine-tuning on a tiny synthesised set: loss falls, a checkpoint is written, the export
loads and transcribes; two DDP processes (gloo) give the loss of one; bad input is refused
with typed errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

torch = pytest.importorskip("torch")
pytest.importorskip("lightning")

from clinivox.asr.recognizer import Recognizer  # noqa: E402
from clinivox.errors import InputError, OutputError  # noqa: E402
from clinivox.testing.synth import synthesize  # noqa: E402
from clinivox.train.finetune.data import EmptyTranscript, TargetBuilder  # noqa: E402
from clinivox.train.finetune.module import OptimOptions  # noqa: E402
from clinivox.train.finetune.run import FinetuneConfig, finetune  # noqa: E402
from clinivox.train.models.whisper import NotAWhisperModel  # noqa: E402

SENTENCES = [
    ("Start apixaban five milligrams twice a day.", ["apixaban"]),
    ("She takes levetiracetam for her epilepsy.", ["levetiracetam", "epilepsy"]),
    ("Continue bisoprolol and review in two weeks.", ["bisoprolol"]),
    ("He is allergic to co-amoxiclav.", ["co-amoxiclav"]),
]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tinyset")
    with (root / "train.jsonl").open("w") as f:
        for k, (text, terms) in enumerate(SENTENCES):
            audio = synthesize(text)
            sf.write(root / f"u{k}.flac", audio, 16000)
            f.write(json.dumps({"audio": f"u{k}.flac", "text": text, "terms": terms,
                                "duration": len(audio) / 16000}) + "\n")
    return root


def losses(run: Path) -> list[float]:
    rows = list(csv.DictReader((run / "csv" / "metrics.csv").open()))
    return [float(r["train/loss"]) for r in rows if r.get("train/loss")]


def config(**kw) -> FinetuneConfig:
    base = dict(method="decoder", max_steps=6, val_every_steps=6, batch_size=4,
                encoder_views=1, early_stop_patience=0, log_every_steps=1, prompt=None,
                optim=OptimOptions(lr=3e-5, warmup_steps=1, max_steps=6))
    base.update(kw)
    if base["prompt"] is None:
        from clinivox.train.finetune.data import PromptOptions

        base["prompt"] = PromptOptions(prompt_p=0.0)
    return FinetuneConfig(**base)


def test_a_few_steps_lower_the_loss_and_export_a_working_model(tiny_set, tmp_path):
    run = tmp_path / "run"
    summary = finetune(config(), tiny_set / "train.jsonl", tiny_set / "train.jsonl", run,
                       progress=False)
    loss = losses(run)
    assert len(loss) == 6 and loss[-1] < loss[0]
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert Path(summary["best_checkpoint"]).is_file()
    assert (run / "curves.png").stat().st_size > 1000
    assert summary["delta_mb"] < 25
    # what clinivox reads back: trained with prompts here (config() sets none), on English
    for q in ("ct2_float16", "ct2_int8"):
        record = json.loads(Path(summary[q], "clinivox.json").read_text())
        assert record["languages"] == ["en"] and record["term_prompts"] is False
    from clinivox.asr.clinical import read_patch
    assert read_patch(Path(summary["delta"]))[0]["languages"] == ["en"]
    text = " ".join(s.text for s in Recognizer(summary["ct2_int8"]).transcribe(
        synthesize(SENTENCES[2][0]))[0])
    assert "review" in text.lower()
    # resume continues from the last checkpoint to the new step budget
    more = finetune(config(max_steps=8, optim=OptimOptions(lr=3e-5, warmup_steps=1,
                                                            max_steps=8)),
                    tiny_set / "train.jsonl", tiny_set / "train.jsonl", run, resume=True,
                    progress=False)
    assert more["steps"] == 8


def test_lora_trains_only_adapters(tiny_set, tmp_path):
    from clinivox.train.finetune.module import LoraOptions, prepare_model
    from clinivox.train.models.whisper import load_whisper

    model, _ = load_whisper("tiny.en")
    wrapped = prepare_model(model, "lora", LoraOptions(r=4, alpha=8))
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any("encoder_attn.q_proj" in n for n in trainable)
    summary = finetune(config(method="lora", max_steps=2, val_every_steps=2),
                       tiny_set / "train.jsonl", tiny_set / "train.jsonl", tmp_path / "lora",
                       progress=False)
    assert Path(summary["ct2_float16"], "model.bin").is_file()


def test_two_ddp_processes_give_the_loss_of_one(tiny_set, tmp_path):
    """The same global batch (4) as one process of 4 or two gloo processes of 2: after two
    optimizer steps the validation loss agrees."""
    common = ["--train", str(tiny_set / "train.jsonl"), "--validation",
              str(tiny_set / "train.jsonl"), "--max-steps", "2", "--val-every", "2",
              "--encoder-views", "1", "--patience", "0", "--prompt-p", "0", "--lr", "3e-5",
              "--warmup-steps", "1", "--accelerator", "cpu"]
    cli = [sys.executable, "-m", "clinivox.cli.main", "finetune"]
    for name, extra in (("one", ["--batch-size", "4", "--devices", "1"]),
                        ("two", ["--batch-size", "2", "--devices", "2", "--strategy", "ddp"])):
        done = subprocess.run([*cli, *common, *extra, "--run-dir", str(tmp_path / name)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    val = {}
    for name in ("one", "two"):
        rows = list(csv.DictReader((tmp_path / name / "csv" / "metrics.csv").open()))
        val[name] = [float(r["val/loss"]) for r in rows if r.get("val/loss")][-1]
    assert abs(val["one"] - val["two"]) <= 0.02 * val["one"], val


def test_bad_input_is_refused_with_typed_errors(tiny_set, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError):
        finetune(config(), tiny_set / "train.jsonl", tiny_set / "train.jsonl",
                 blocker / "run", progress=False)
    not_model = tmp_path / "notamodel"
    not_model.mkdir()
    with pytest.raises(NotAWhisperModel):
        finetune(config(model=str(not_model)), tiny_set / "train.jsonl",
                 tiny_set / "train.jsonl", tmp_path / "r", progress=False)
    with pytest.raises(InputError):
        FinetuneConfig(method="everything").validate()
    from clinivox.asr.models import resolve_model
    from clinivox.train.finetune.data import Example

    builder = TargetBuilder(resolve_model("tiny.en").path, multilingual=False)
    with pytest.raises(EmptyTranscript):
        import random

        builder.build(Example(tiny_set / "u0.flac", "\u200b", (), 1.0), random.Random(0))


def test_prompt_lists_terms_among_distractors_and_carries_no_loss(tiny_set):
    import random

    from clinivox.asr.models import resolve_model
    from clinivox.train.finetune.data import IGNORE, Example, PromptOptions

    builder = TargetBuilder(resolve_model("tiny.en").path, multilingual=False,
                            prompt=PromptOptions(prompt_p=1.0, keep_p=1.0, distractors=3),
                            timestamps_p=1.0)
    ex = Example(tiny_set / "u0.flac", SENTENCES[0][0], ("apixaban",), 2.5)
    inputs, labels = builder.build(ex, random.Random(1), ["warfarin", "digoxin", "sotalol",
                                                          "apixaban"])
    tok = builder.tok
    assert inputs[0] == tok.sot_prev
    prompt = tok.decode([t for t in inputs[1:inputs.index(tok.sot)]])
    assert "apixaban" in prompt and sum(d in prompt for d in ("warfarin", "digoxin",
                                                               "sotalol")) == 3
    first = next(i for i, x in enumerate(labels) if x != IGNORE)
    assert labels[first] == tok.timestamp_begin  # <|0.00|> then the text: the loss
    assert labels[-1] == tok.eot and labels[-2] == tok.timestamp_begin + 125
    assert len(inputs) == len(labels)


def test_several_manifests_keep_their_own_encoder_cache(tiny_set, tmp_path):
    """Adding a manifest to a run reuses the cached encoder outputs of the others (the
    clinical model's 3,200-utterance cache takes 23 minutes on 2 cores): each manifest is
    cached under its own key in a shared cache directory, and the rows are read in order."""
    import numpy as np

    from clinivox.train.finetune.data import ConcatRows

    rows = (tiny_set / "train.jsonl").read_text().splitlines()
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(r.replace('"u', f'"{tiny_set}/u') for r in rows[:3]) + "\n")
    b.write_text(rows[3].replace('"u', f'"{tiny_set}/u') + "\n")
    cache = tmp_path / "cache"
    finetune(config(max_steps=1, val_every_steps=1), a, tiny_set / "train.jsonl",
             tmp_path / "r1", progress=False, cache_dir=cache)
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("encoder-*.npy")}
    assert len(before) == 2  # a, and the validation manifest
    summary = finetune(config(max_steps=1, val_every_steps=1), [a, b],
                       tiny_set / "train.jsonl", tmp_path / "r2", progress=False,
                       cache_dir=cache)
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("encoder-*.npy")}
    assert len(after) == 3 and all(after[k] == v for k, v in before.items())
    assert json.loads((tmp_path / "r2" / "config.json").read_text())["train"] == \
        [str(a), str(b)]
    assert summary["steps"] == 1
    parts = [np.arange(6).reshape(3, 2), np.arange(6, 8).reshape(1, 2)]
    joined = ConcatRows(parts)
    assert len(joined) == 4 and [int(joined[i][0]) for i in range(4)] == [0, 2, 4, 6]
    with pytest.raises(IndexError):
        joined[4]
