"""Whisper weights into PyTorch: a CTranslate2 directory or a Hugging Face one.

There is no official CTranslate2-to-Transformers converter (CTranslate2 issue 2031), but
the layout of a Whisper `model.bin` is simple (`asr.engines.whisper_ct2.scorer` reads it):
fused projections are split back (self-attention q|k|v, cross-attention k|v; the key
projections have no bias in Whisper, so their slice of the fused bias is zero and dropped),
and the rest maps name for name. The result is a `transformers.WhisperForConditionalGeneration`
plus a Hugging Face directory (`write_hf_dir`) with config, tokenizer and preprocessor
files, which `export.ctranslate2` turns back into a CTranslate2 model.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.asr.engines.whisper_ct2.scorer import ScorerUnavailable, read_model_bin
from clinivox.asr.models import ModelRef, resolve_model
from clinivox.errors import ModelNotFoundError

# Files a Hugging Face Whisper directory needs beside the weights.
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class NotAWhisperModel(ModelNotFoundError):
    """A directory that holds neither a CTranslate2 nor a Hugging Face Whisper model."""


def is_hf_dir(path: Path) -> bool:
    cfg = path / "config.json"
    if not cfg.is_file() or not any((path / w).is_file() for w in HF_WEIGHTS):
        return False
    try:
        return json.loads(cfg.read_text()).get("model_type") == "whisper"
    except (OSError, ValueError):
        return False


def _special_ids(tokenizer_json: Path) -> dict[str, int]:
    data = json.loads(tokenizer_json.read_text())
    return {t["content"]: int(t["id"]) for t in data.get("added_tokens", [])}


def _count_layers(weights: dict[str, np.ndarray], stack: str) -> int:
    return len({m.group(1) for k in weights
                if (m := re.match(rf"{stack}/layer_(\d+)/", k)) is not None})


def hf_config(ct2_dir: Path, weights: dict[str, np.ndarray]) -> dict[str, Any]:
    """The transformers WhisperConfig of a CTranslate2 Whisper directory, from its
    weights' shapes, its config.json and its tokenizer's special tokens."""
    ct2 = json.loads((ct2_dir / "config.json").read_text())
    ids = _special_ids(ct2_dir / "tokenizer.json")
    vocab, d_model = weights["decoder/embeddings/weight"].shape
    n_enc = _count_layers(weights, "encoder")
    n_dec = _count_layers(weights, "decoder")
    multilingual = vocab >= 51865
    eot = ids["<|endoftext|>"]
    return {
        "model_type": "whisper",
        "architectures": ["WhisperForConditionalGeneration"],
        "vocab_size": int(vocab),
        "num_mel_bins": int(weights["encoder/conv1/weight"].shape[1]),
        "d_model": int(d_model),
        "encoder_layers": n_enc,
        "decoder_layers": n_dec,
        "encoder_attention_heads": int(weights["encoder/num_heads"]),
        "decoder_attention_heads": int(weights["decoder/num_heads"]),
        "encoder_ffn_dim": int(weights["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "decoder_ffn_dim": int(weights["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(weights["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(weights["decoder/position_encodings/encodings"].shape[0]),
        "activation_function": "gelu",
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": ids["<|startoftranscript|>"],
        "suppress_tokens": list(ct2.get("suppress_ids", [])),
        "begin_suppress_tokens": list(ct2.get("suppress_ids_begin", [])),
        "alignment_heads": ct2.get("alignment_heads"),
        "is_multilingual": multilingual,
        "lang_ids": ct2.get("lang_ids", []),
        "torch_dtype": "float32",
    }


def _split_self_attention(prefix: str, out_prefix: str, w: dict[str, np.ndarray],
                          sd: dict[str, np.ndarray]) -> None:
    qkv, qkv_b = w[f"{prefix}/linear_0/weight"], w[f"{prefix}/linear_0/bias"]
    q, k, v = np.split(qkv, 3)
    qb, _, vb = np.split(qkv_b, 3)
    sd |= {f"{out_prefix}.q_proj.weight": q, f"{out_prefix}.q_proj.bias": qb,
           f"{out_prefix}.k_proj.weight": k,
           f"{out_prefix}.v_proj.weight": v, f"{out_prefix}.v_proj.bias": vb,
           f"{out_prefix}.out_proj.weight": w[f"{prefix}/linear_1/weight"],
           f"{out_prefix}.out_proj.bias": w[f"{prefix}/linear_1/bias"]}


def _norm(prefix: str, out: str, w: dict[str, np.ndarray], sd: dict[str, np.ndarray]) -> None:
    sd[f"{out}.weight"] = w[f"{prefix}/gamma"]
    sd[f"{out}.bias"] = w[f"{prefix}/beta"]


def _ffn(prefix: str, out: str, w: dict[str, np.ndarray], sd: dict[str, np.ndarray]) -> None:
    _norm(f"{prefix}/layer_norm", f"{out}.final_layer_norm", w, sd)
    for i, name in ((0, "fc1"), (1, "fc2")):
        sd[f"{out}.{name}.weight"] = w[f"{prefix}/linear_{i}/weight"]
        sd[f"{out}.{name}.bias"] = w[f"{prefix}/linear_{i}/bias"]


def ct2_state_dict(weights: dict[str, np.ndarray], config: dict[str, Any]
                   ) -> dict[str, np.ndarray]:
    """transformers parameter names -> float32 arrays, from a CTranslate2 model.bin."""
    sd: dict[str, np.ndarray] = {}
    e, d = "model.encoder", "model.decoder"
    for i in (1, 2):
        sd[f"{e}.conv{i}.weight"] = weights[f"encoder/conv{i}/weight"]
        sd[f"{e}.conv{i}.bias"] = weights[f"encoder/conv{i}/bias"]
    sd[f"{e}.embed_positions.weight"] = weights["encoder/position_encodings/encodings"]
    _norm("encoder/layer_norm", f"{e}.layer_norm", weights, sd)
    for n in range(config["encoder_layers"]):
        src, dst = f"encoder/layer_{n}", f"{e}.layers.{n}"
        _norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm", weights, sd)
        _split_self_attention(f"{src}/self_attention", f"{dst}.self_attn", weights, sd)
        _ffn(f"{src}/ffn", dst, weights, sd)
    sd[f"{d}.embed_tokens.weight"] = weights["decoder/embeddings/weight"]
    sd[f"{d}.embed_positions.weight"] = weights["decoder/position_encodings/encodings"]
    _norm("decoder/layer_norm", f"{d}.layer_norm", weights, sd)
    for n in range(config["decoder_layers"]):
        src, dst = f"decoder/layer_{n}", f"{d}.layers.{n}"
        _norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm", weights, sd)
        _split_self_attention(f"{src}/self_attention", f"{dst}.self_attn", weights, sd)
        _norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm", weights, sd)
        a = f"{dst}.encoder_attn"
        kv, kv_b = weights[f"{src}/attention/linear_1/weight"], \
            weights[f"{src}/attention/linear_1/bias"]
        k, v = np.split(kv, 2)
        _, vb = np.split(kv_b, 2)
        sd |= {f"{a}.q_proj.weight": weights[f"{src}/attention/linear_0/weight"],
               f"{a}.q_proj.bias": weights[f"{src}/attention/linear_0/bias"],
               f"{a}.k_proj.weight": k, f"{a}.v_proj.weight": v, f"{a}.v_proj.bias": vb,
               f"{a}.out_proj.weight": weights[f"{src}/attention/linear_2/weight"],
               f"{a}.out_proj.bias": weights[f"{src}/attention/linear_2/bias"]}
        _ffn(f"{src}/ffn", dst, weights, sd)
    return {k: np.asarray(v, dtype=np.float32) for k, v in sd.items()}


def _preprocessor_config(num_mel_bins: int) -> dict[str, Any]:
    return {"feature_extractor_type": "WhisperFeatureExtractor", "feature_size": num_mel_bins,
            "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
            "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right",
            "padding_value": 0.0, "return_attention_mask": False,
            "processor_class": "WhisperProcessor"}


def _tokenizer_config(multilingual: bool) -> dict[str, Any]:
    return {"tokenizer_class": "WhisperTokenizer", "model_max_length": 1024,
            "errors": "replace", "add_prefix_space": False, "add_bos_token": False,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
            "language": None if multilingual else "english", "task": "transcribe"}


def load_whisper(model: str | Path) -> tuple[Any, Path]:
    """(WhisperForConditionalGeneration in float32, the Hugging Face directory it came from
    or was written to) for a bundled name (tiny.en, base), a CTranslate2 directory or a
    Hugging Face Whisper directory (for instance openai/whisper-large-v3 downloaded)."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    path = Path(str(model)).expanduser()
    if path.is_dir() and is_hf_dir(path):
        return WhisperForConditionalGeneration.from_pretrained(
            path, torch_dtype=torch.float32), path
    if path.is_dir() and not (path / "model.bin").is_file():
        raise NotAWhisperModel(f"{path}: not a Whisper model directory (neither a "
                               "CTranslate2 model.bin nor a Hugging Face config and weights)")
    try:
        ref = resolve_model(model)
    except NotAWhisperModel:
        raise
    except ModelNotFoundError as exc:
        raise NotAWhisperModel(f"not a Whisper model: {exc}") from None
    try:
        weights = read_model_bin(ref.path / "model.bin", prefix="")
    except ScorerUnavailable as exc:
        raise NotAWhisperModel(f"{ref.name}: {exc}") from None
    if "decoder/embeddings/weight" not in weights or "encoder/conv1/weight" not in weights:
        raise NotAWhisperModel(f"{ref.name}: model.bin is not a Whisper model")
    config = hf_config(ref.path, weights)
    sd = ct2_state_dict(weights, config)
    model_ = WhisperForConditionalGeneration(WhisperConfig(**config))
    tensors = {k: torch.from_numpy(v.copy()) for k, v in sd.items()}
    missing, unexpected = model_.load_state_dict(tensors, strict=False)
    # proj_out is tied to embed_tokens; the key projections have no bias
    missing = [m for m in missing if m != "proj_out.weight"]
    if missing or unexpected:
        raise NotAWhisperModel(f"{ref.name}: weights do not map onto Whisper "
                               f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model_.tie_weights()
    _generation_config(model_, config, ref.path)
    model_.eval()
    return model_, ref.path


def _generation_config(model: Any, config: dict[str, Any], ct2_dir: Path) -> None:
    """What the CTranslate2 converter reads from the generation config: alignment heads
    (word timestamps), suppressed tokens, and for a multilingual model its language ids."""
    gen = model.generation_config
    gen.alignment_heads = config.get("alignment_heads")
    gen.suppress_tokens = config.get("suppress_tokens")
    gen.begin_suppress_tokens = config.get("begin_suppress_tokens")
    ids = _special_ids(ct2_dir / "tokenizer.json")
    gen.no_timestamps_token_id = ids.get("<|notimestamps|>")
    gen.is_multilingual = bool(config.get("is_multilingual"))
    if gen.is_multilingual:
        lang_ids = set(config.get("lang_ids") or [])
        gen.lang_to_id = {tok: i for tok, i in ids.items() if i in lang_ids}
        gen.task_to_id = {"transcribe": ids.get("<|transcribe|>"),
                          "translate": ids.get("<|translate|>")}


def write_hf_dir(model: Any, source: ModelRef | Path, out_dir: Path) -> Path:
    """Save `model` as a Hugging Face Whisper directory with the tokenizer and preprocessor
    files of `source` (a CTranslate2 or Hugging Face directory)."""
    src = source.path if isinstance(source, ModelRef) else Path(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    for name in ("tokenizer.json", "vocab.json", "merges.txt", "normalizer.json",
                 "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json",
                 "preprocessor_config.json", "generation_config.json"):
        if (src / name).is_file() and not (out_dir / name).is_file():
            shutil.copyfile(src / name, out_dir / name)
    multilingual = bool(getattr(model.config, "is_multilingual", model.config.vocab_size
                                >= 51865))
    if not (out_dir / "tokenizer_config.json").is_file():
        (out_dir / "tokenizer_config.json").write_text(
            json.dumps(_tokenizer_config(multilingual), indent=2))
    if not (out_dir / "preprocessor_config.json").is_file():
        (out_dir / "preprocessor_config.json").write_text(
            json.dumps(_preprocessor_config(model.config.num_mel_bins), indent=2))
    return out_dir
