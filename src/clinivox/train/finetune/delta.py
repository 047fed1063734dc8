"""The trained model as a patch of the base CTranslate2 model: the float16 tensors that
training changed, by their model.bin names. `asr.clinical` applies it to the bundled model
in place (same names, shapes and dtype), so shipping a fine-tuned decoder costs its changed
tensors only, and rebuilding needs neither torch nor the network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.asr.engines.whisper_ct2.scorer import read_model_bin
from clinivox.asr.models import sha256


def write_delta(base_ct2: Path, tuned_ct2: Path, out: Path, base_name: str) -> Path:
    """Save the tensors of `tuned_ct2/model.bin` that differ from `base_ct2/model.bin`
    (both float16) as an .npz (no pickle), with a JSON header naming the base model and
    the base model.bin's SHA-256, so it is never applied to another model."""
    a = read_model_bin(Path(base_ct2) / "model.bin", prefix="")
    b = read_model_bin(Path(tuned_ct2) / "model.bin", prefix="")
    changed: dict[str, np.ndarray] = {}
    for name, arr in b.items():
        if arr.ndim == 0 or name not in a:
            continue
        if a[name].shape != arr.shape or a[name].dtype != arr.dtype:
            raise ValueError(f"{name}: shape or dtype differs from the base model")
        if not np.array_equal(a[name], arr):
            changed[name] = np.ascontiguousarray(arr)
    header = {"base": base_name, "base_sha256": sha256(Path(base_ct2) / "model.bin"),
              "tensors": sorted(changed)}
    if out.suffix != ".npz":
        raise ValueError("the delta file must end in .npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {f"t{i}": changed[n] for i, n in enumerate(header["tensors"])}
    np.savez(out, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             **arrays)
    return out
