"""Training examples for Whisper: manifest rows -> log-mel (or cached encoder output) + tokens.

Targets are what the engine decodes: `<|startoftranscript|>` (language, task), then either
timestamped text (`<|0.00|> text <|t_end|>`, the engine's default mode) or
`<|notimestamps|> text`, half and half, so both modes keep working; then `<|endoftext|>`.

Contextual prompts: with probability `prompt_p` an example is preceded by
`<|startofprev|> Terms: a, b, c.` listing some of the utterance's own terms (each kept with
probability `keep_p`) shuffled among `distractors` terms drawn from the corpus's other
utterances, so the model learns to use a term list without copying it blindly. Prompt
tokens are context only: no loss on them.

With a frozen encoder (decoder-only and LoRA training), the encoder's outputs are computed
once per utterance (and SpecAugment view) and cached on disk as float16, so training runs
only the decoder: on 2 CPU cores this is what makes fine-tuning practical.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.errors import InputError

IGNORE = -100  # label of tokens that carry no loss
MAX_TARGET_TOKENS = 440  # Whisper's decoder holds 448 positions


class EmptyManifest(InputError):
    """A training or validation manifest with no usable rows."""


class EmptyTranscript(InputError):
    """A row whose text tokenises to nothing."""


def has_words(text: str) -> bool:
    """Whether `text` holds a letter or digit (a byte-level BPE encodes anything, so
    whitespace, punctuation or zero-width characters alone would train on noise)."""
    return any(ch.isalnum() for ch in text)


@dataclass(frozen=True)
class Example:
    audio: Path
    text: str
    terms: tuple[str, ...]
    duration: float | None


def read_examples(path: Path, *, check_audio: bool = True) -> list[Example]:
    """Rows of a JSONL manifest (`audio`, `text`, optional `terms`, `duration`); audio paths
    are relative to the manifest. Typed errors for an empty manifest, a missing audio file
    and an empty text (the line is named; the text itself is not echoed)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from None
    out: list[Example] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            audio, text = row["audio"], row["text"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path.name} line {n}: not a manifest row with audio and "
                             "text") from None
        if not isinstance(text, str) or not has_words(text):
            raise EmptyTranscript(f"{path.name} line {n}: text with no words")
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        if check_audio and not audio_path.is_file():
            raise InputError(f"{path.name} line {n}: audio file not found: {audio}")
        out.append(Example(audio_path, text.strip(), tuple(row.get("terms") or ()),
                           row.get("duration")))
    if not out:
        raise EmptyManifest(f"{path.name}: the manifest has no rows")
    return out


@dataclass(frozen=True)
class PromptOptions:
    prompt_p: float = 0.5
    keep_p: float = 0.7
    distractors: int = 6
    max_terms: int = 12


def format_prompt(terms: list[str]) -> str:
    return "Terms: " + ", ".join(terms) + "."


class TargetBuilder:
    """Token sequences (decoder input, labels) for an example, from the model's tokenizer."""

    def __init__(self, model_dir: Path, multilingual: bool, language: str = "en",
                 prompt: PromptOptions | None = None, timestamps_p: float = 0.5) -> None:
        import tokenizers
        from faster_whisper.tokenizer import Tokenizer

        hf = tokenizers.Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tok = Tokenizer(hf, multilingual, task="transcribe", language=language)
        self.prompt = prompt or PromptOptions(prompt_p=0.0)
        self.timestamps_p = timestamps_p

    def build(self, ex: Example, rng: random.Random, term_pool: list[str] | None = None
              ) -> tuple[list[int], list[int]]:
        tok = self.tok
        text_ids = tok.encode(" " + ex.text)
        if not text_ids or not has_words(ex.text):
            raise EmptyTranscript(f"{ex.audio.name}: text tokenises to no words")
        prefix: list[int] = []
        if term_pool is not None and rng.random() < self.prompt.prompt_p:
            own = [t for t in dict.fromkeys(ex.terms) if rng.random() < self.prompt.keep_p]
            candidates = [t for t in rng.sample(term_pool, min(
                len(term_pool), self.prompt.distractors + len(ex.terms))) if t not in ex.terms]
            others = candidates[: self.prompt.distractors]
            listed = (own + others)[: self.prompt.max_terms]
            rng.shuffle(listed)
            if listed:
                prefix = [tok.sot_prev, *tok.encode(" " + format_prompt(listed))][-200:]
        start = list(tok.sot_sequence)
        if ex.duration is not None and rng.random() < self.timestamps_p:
            end = min(round(ex.duration / 0.02), 1500)
            body = [tok.timestamp_begin, *text_ids, tok.timestamp_begin + end]
        else:
            start.append(tok.no_timestamps)
            body = text_ids
        seq = prefix + start + body + [tok.eot]
        if len(seq) > MAX_TARGET_TOKENS:
            raise InputError(f"{ex.audio.name}: transcript too long for Whisper's decoder "
                             f"({len(seq)} tokens)")
        inputs = seq[:-1]
        n_context = len(prefix) + len(start) - 1  # positions whose next token is context
        labels = [IGNORE] * n_context + seq[len(prefix) + len(start):]
        return inputs, labels


def log_mel(model_dir: Path, audio: np.ndarray) -> np.ndarray:
    """The engine's own log-mel (80 or 128 bins, 3000 frames) for `audio` at 16 kHz."""
    from faster_whisper.feature_extractor import FeatureExtractor

    cfg_path = Path(model_dir) / "preprocessor_config.json"
    n_mels = 80
    if cfg_path.is_file():
        n_mels = int(json.loads(cfg_path.read_text()).get("feature_size", 80))
    fe = _extractor(n_mels, FeatureExtractor)
    x = np.zeros(480_000, np.float32)
    x[: min(audio.shape[0], 480_000)] = audio[:480_000]
    return fe(x, padding=0)[:, :3000].astype(np.float32)


_FE: dict[int, Any] = {}


def _extractor(n_mels: int, cls: Any) -> Any:
    if n_mels not in _FE:
        _FE[n_mels] = cls(feature_size=n_mels)
    return _FE[n_mels]


def cache_key(examples: list[Example], model_id: str, view: int, spec: Any) -> str:
    h = hashlib.sha1()
    h.update(model_id.encode())
    h.update(repr((view, spec)).encode())
    for ex in examples:  # the resolved path: a manifest named relatively is the same set
        st = ex.audio.stat()
        h.update(f"{ex.audio.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def encoder_cache(model: Any, model_dir: Path, examples: list[Example], cache_dir: Path,
                  views: int = 1, specaugment: Any = None, seed: int = 0,
                  batch_size: int = 8, progress: Any = None) -> list[np.ndarray]:
    """Encoder outputs `(n, 1500, d_model) float16` (memory-mapped), one array per view.
    View 0 is the clean features; later views apply `specaugment` (a fresh mask each).
    Reused from `cache_dir` when the model, the audio files and the settings are the same."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    checksum = sum(float(p.detach().double().sum()) for p in model.model.encoder.parameters())
    model_id = f"{model.config._name_or_path}|{model.config.d_model}|{checksum:.6e}"
    out = []
    enc = model.model.encoder.eval()
    for view in range(views):
        key = cache_key(examples, model_id, view, specaugment if view else None)
        path = cache_dir / f"encoder-{key}.npy"
        if path.is_file():
            out.append(np.load(path, mmap_mode="r"))
            continue
        rng = np.random.default_rng(seed + view)
        tmp = path.with_suffix(".tmp.npy")
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                        shape=(len(examples), 1500, model.config.d_model))
        try:
            _fill(arr, enc, model_dir, examples, view, specaugment, rng, batch_size, progress)
        except BaseException:
            del arr
            tmp.unlink(missing_ok=True)  # a failed cache leaves no 2 GB file behind
            raise
        arr.flush()
        del arr
        tmp.rename(path)
        out.append(np.load(path, mmap_mode="r"))
    return out


class ConcatRows:
    """Rows of several arrays indexed as one (each training manifest has its own encoder
    cache, so adding a manifest to a run does not compute the others' again)."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.parts[k][i - int(self.starts[k])]


def _fill(arr: np.ndarray, enc: Any, model_dir: Path, examples: list[Example], view: int,
          specaugment: Any, rng: np.random.Generator, batch_size: int, progress: Any) -> None:
    import torch

    from clinivox.audio.decode import load_audio

    for i in range(0, len(examples), batch_size):
        feats = []
        for ex in examples[i:i + batch_size]:
            f = log_mel(model_dir, load_audio(ex.audio))
            if view and specaugment is not None:
                frames = None if ex.duration is None else int(ex.duration * 100)
                f = specaugment(f, rng, valid_frames=frames)
            feats.append(f)
        with torch.no_grad():
            h = enc(torch.from_numpy(np.stack(feats))).last_hidden_state
        arr[i:i + len(feats)] = h.numpy().astype(np.float16)
        if progress is not None:
            progress(min(i + batch_size, len(examples)), len(examples))

