"""The trained model as a patch of the base CTranslate2 model: the float16 tensors that
training changed, by their model.bin names. `asr.clinical` applies it to the bundled model
in place (same names, shapes and dtype), so shipping a fine-tuned decoder costs its changed
tensors only, and rebuilding needs neither torch nor the network.

A matrix whose change is of low rank (what LoRA trains: B @ A on each adapted projection,
several of them side by side in CTranslate2's fused query/key/value matrices) is stored as
two float16 factors of that change instead of the whole matrix, when the factors rebuild
the tuned float16 matrix to within one unit in the last place and take less room. That
is what keeps an adapter of Whisper base under the 25 MB the repository allows, while a
decoder trained in full (a change of full rank) is stored whole, as before."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.asr.clinical import apply_lowrank
from clinivox.asr.engines.whisper_ct2.scorer import read_model_bin
from clinivox.asr.models import sha256


def tolerance(tuned: np.ndarray) -> np.ndarray:
    """What a rebuilt element may differ from the tuned float16 one: one unit in its last
    place, or one in the last place of the matrix's typical (RMS) weight for the elements
    near zero, whose own ulp is far below anything the model can hear."""
    t = tuned.astype(np.float32)
    rms = np.float16(np.sqrt(np.mean(t * t)))
    own = np.spacing(np.abs(tuned.astype(np.float16))).astype(np.float32)
    return np.maximum(own, np.float32(np.spacing(rms))) * np.float32(1.0001)


def lowrank_factors(base: np.ndarray, tuned: np.ndarray,
                    max_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray] | None:
    """Float16 factors (u: out x k, v: k x in) with base + u @ v == tuned to within one
    float16 ulp everywhere (`tolerance`), or None when no factorisation smaller than
    `max_fraction` of the matrix does that (a full-rank change)."""
    if base.ndim != 2:
        return None
    a = base.astype(np.float32)
    d = tuned.astype(np.float32) - a
    m, n = d.shape
    limit = int(max_fraction * m * n / (m + n))
    if limit < 1:
        return None
    uu, s, vt = np.linalg.svd(d.astype(np.float64), full_matrices=False)
    if s[0] == 0:
        return None
    # Rounding the tuned matrix to float16 adds noise of full rank whose singular values
    # sit near the median; the trained change stands well above it.
    k = int(np.sum(s > 4 * np.median(s)))
    tol = tolerance(tuned)
    while 1 <= k <= limit:
        root = np.sqrt(s[:k])
        u = (uu[:, :k] * root).astype(np.float16)
        v = (root[:, None] * vt[:k]).astype(np.float16)
        err = np.abs(apply_lowrank(base, u, v).astype(np.float32) - tuned.astype(np.float32))
        if np.all(err <= tol):
            return u, v
        if k == limit:
            break
        k = min(2 * k, limit)  # double the rank, trying the limit itself last
    return None


def write_delta(base_ct2: Path, tuned_ct2: Path, out: Path, base_name: str,
                languages: Sequence[str] = ()) -> Path:
    """Save the tensors of `tuned_ct2/model.bin` that differ from `base_ct2/model.bin`
    (both float16) as an .npz (no pickle), with a JSON header naming the base model and
    the base model.bin's SHA-256, so it is never applied to another model. Low-rank
    changes are stored as factors (`lowrank` in the header). `languages`: what the model
    was trained on (the built model decodes that language when it is the only one)."""
    a = read_model_bin(Path(base_ct2) / "model.bin", prefix="")
    b = read_model_bin(Path(tuned_ct2) / "model.bin", prefix="")
    changed: dict[str, np.ndarray] = {}
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, arr in b.items():
        if arr.ndim == 0 or name not in a:
            continue
        if a[name].shape != arr.shape or a[name].dtype != arr.dtype:
            raise ValueError(f"{name}: shape or dtype differs from the base model")
        if np.array_equal(a[name], arr):
            continue
        f = lowrank_factors(a[name], arr) if arr.dtype == np.float16 else None
        if f is None:
            changed[name] = np.ascontiguousarray(arr)
        else:
            factors[name] = f
    header = {"base": base_name, "base_sha256": sha256(Path(base_ct2) / "model.bin"),
              "tensors": sorted(changed), "lowrank": sorted(factors)}
    if languages:
        header["languages"] = sorted(set(languages))
    return _save(out, header, changed, factors)


def _save(out: Path, header: dict[str, Any], tensors: dict[str, np.ndarray],
          factors: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write a patch: its JSON header (which names the whole `tensors` and the low-rank
    `factors`, in the order stored) and the arrays, as an .npz without pickles."""
    if out.suffix != ".npz":
        raise ValueError("the delta file must end in .npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {f"t{i}": tensors[n] for i, n in enumerate(header["tensors"])}
    for i, n in enumerate(header["lowrank"]):
        arrays[f"u{i}"], arrays[f"v{i}"] = (np.ascontiguousarray(x) for x in factors[n])
    np.savez(out, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             **arrays)
    return out


def interpolate_delta(patch: Path, base_ct2: Path, weight: float, out: Path) -> Path:
    """A patch whose model lies `weight` of the way from the base model to the patched one
    (weight-space ensembling, "WiSE-FT", Wortsman et al. 2022): every changed tensor becomes
    base + weight x (tuned - base), computed in float32 and rounded once to float16, and
    each low-rank change's `u` factor is scaled by `weight`. Weight 1 is the patch itself,
    0 the base model. Fine-tuning moves a model away from what it knew; part of the way
    back keeps much of what it learned and forgets less (docs/models.md)."""
    from clinivox.asr.clinical import _read

    if not 0.0 < weight <= 1.0:
        raise ValueError("the interpolation weight must be in (0, 1]")
    header, tensors, factors = _read(Path(patch))
    base_bin = Path(base_ct2) / "model.bin"
    if sha256(base_bin) != header["base_sha256"]:
        raise ValueError(f"{patch} was made for another {header['base']} model.bin")
    base = read_model_bin(base_bin, prefix="")
    w = np.float32(weight)
    mixed: dict[str, np.ndarray] = {}
    for name, arr in tensors.items():
        a = base[name].astype(np.float32)
        mixed[name] = np.ascontiguousarray(
            (a + w * (arr.astype(np.float32) - a)).astype(arr.dtype))
    scaled = {name: ((u.astype(np.float32) * w).astype(np.float16), v)
              for name, (u, v) in factors.items()}
    header = {**header, "lowrank": list(header.get("lowrank", [])),
              "interpolated": {"weight": float(weight), "patch_sha256": sha256(Path(patch))}}
    return _save(out, header, mixed, scaled)
