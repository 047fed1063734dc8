"""A trained Whisper back to CTranslate2: the directory `clinivox transcribe --model` loads.

Uses the Transformers converter that ships with ctranslate2 (it needs the `train` extra:
torch and transformers). The output holds model.bin in the asked quantisation (float16 like
the bundled models, or int8), config.json, tokenizer.json and preprocessor_config.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from clinivox.errors import OutputError

QUANTIZATIONS = ("float16", "int8", "int8_float16", "float32", "bfloat16")


def export_ct2(hf_dir: Path, out_dir: Path, quantization: str = "float16",
               force: bool = False) -> Path:
    """Convert the Hugging Face Whisper directory `hf_dir` into the CTranslate2 directory
    `out_dir`. The conversion runs into a temporary directory beside `out_dir` and is
    moved into place at the end, so a failure never leaves half a model."""
    from ctranslate2.converters import TransformersConverter

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise OutputError(f"{out_dir} exists and is not empty (use force to replace it)")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    except OSError as exc:
        raise OutputError(f"cannot write {out_dir}: {exc.strerror or exc}") from None
    try:
        copy = [f for f in ("tokenizer.json", "preprocessor_config.json")
                if (Path(hf_dir) / f).is_file()]
        converter = TransformersConverter(str(hf_dir), copy_files=copy, load_as_float16=False)
        converter.convert(str(tmp / "model"), quantization=quantization, force=True)
        _complete_config(tmp / "model", Path(hf_dir))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (tmp / "model").rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _complete_config(ct2_dir: Path, hf_dir: Path) -> None:
    """CTranslate2 reads lang_ids, suppress_ids and alignment heads from config.json; the
    converter takes them from generation_config.json when it exists. Fill the ones it could
    not find from the model's own config (written by `train.models.whisper`). Alignment
    heads (word timestamps) always come from the model's config when it has them:
    transformers 5 drops them from the generation config, and the converter's fallback
    (every head of the upper half) gives worse word times."""
    cfg_path = ct2_dir / "config.json"
    cfg: dict[str, Any] = json.loads(cfg_path.read_text())
    src = json.loads((hf_dir / "config.json").read_text())
    for ct2_key, hf_key in (("suppress_ids", "suppress_tokens"),
                            ("suppress_ids_begin", "begin_suppress_tokens"),
                            ("alignment_heads", "alignment_heads"),
                            ("lang_ids", "lang_ids")):
        if src.get(hf_key) and (not cfg.get(ct2_key) or ct2_key == "alignment_heads"):
            cfg[ct2_key] = src[hf_key]
    cfg_path.write_text(json.dumps(cfg, indent=2))
