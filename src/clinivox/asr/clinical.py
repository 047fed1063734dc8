"""The bundled clinical models: a fine-tuned decoder shipped as a patch of a bundled model.

`clinivox/asr/clinical_models/<base>.npz` holds the float16 tensors that fine-tuning changed
(`train.finetune.delta`), by their model.bin names, and the SHA-256 of the base model.bin
they apply to. On first use the base model.bin is copied and those tensors are written over
their own bytes (same names, shapes and dtype), then the result is checked and cached under
$CLINIVOX_HOME/models. No torch, no network.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import threading
from pathlib import Path

import numpy as np

from clinivox.asr.models import sha256
from clinivox.errors import ModelIntegrityError, ModelNotFoundError

PATCH_DIR = Path(__file__).resolve().parent / "clinical_models"
SUFFIX = "-clinical"
# Whether `--medical` switches a bundled model to its clinical build (tiny.en ->
# tiny.en-clinical, base -> base-clinical); `--bundled-model` keeps the bundled one. On,
# since 2026-12-06: on the held-out-voice validation split the clinical build with the
# medical layer finds more terms and drugs and writes under half the wrong terms the
# bundled model does; it still reads general English a little worse (en_read_speech +0.78
# points, goal +0.5; docs/models.md "Default for --medical"). Plain runs keep the bundled
# model.
DEFAULT_FOR_MEDICAL = True
_LOCK = threading.Lock()
_DTYPE_IDS = {0: "float32", 4: "float16", 1: "int8", 2: "int16", 3: "int32", 5: "bfloat16"}


def clinical_name(base: str) -> str:
    return base + SUFFIX


def available(base: str) -> bool:
    return (PATCH_DIR / f"{base}.npz").is_file()


def variable_offsets(path: Path) -> dict[str, tuple[int, int, str, tuple[int, ...]]]:
    """name -> (byte offset, byte count, dtype, shape) of each variable in a model.bin."""
    data = path.read_bytes()
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (v,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return int(v)

    def text() -> str:
        nonlocal pos
        n = take("H")
        s = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return s

    take("I")
    text()
    take("I")
    out: dict[str, tuple[int, int, str, tuple[int, ...]]] = {}
    for _ in range(take("I")):
        name = text()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype = _DTYPE_IDS.get(take("B"), "unknown")
        nbytes = take("I")
        out[name] = (pos, nbytes, dtype, shape)
        pos += nbytes
    return out


def apply_lowrank(base: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """base (float16) + u @ v, computed in float32 and rounded once to float16: how a
    low-rank change of a patch (`train.finetune.delta`) is applied, and how its writer
    checks it."""
    return (base.astype(np.float32) + u.astype(np.float32) @ v.astype(np.float32)
            ).astype(np.float16)


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray],
                                dict[str, tuple[np.ndarray, np.ndarray]]]:
    """A patch's header, whole tensors and low-rank factors, from one read of the file."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(bytes(z["header"]).decode())
        tensors = {name: z[f"t{i}"] for i, name in enumerate(header["tensors"])}
        factors = {name: (z[f"u{i}"], z[f"v{i}"])
                   for i, name in enumerate(header.get("lowrank", []))}
    return header, tensors, factors


def read_patch(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the whole tensors of a patch (its low-rank changes: `read_factors`)."""
    header, tensors, _ = _read(path)
    return header, tensors


def read_factors(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (u, v) of each low-rank change in a patch: the tensor becomes base + u @ v."""
    return _read(path)[2]


def build(base_dir: Path, patch: Path, out_dir: Path) -> Path:
    """Apply `patch` to the CTranslate2 model in `base_dir`, writing `out_dir` atomically."""
    header, tensors, factors = _read(patch)
    base_bin = base_dir / "model.bin"
    if sha256(base_bin) != header["base_sha256"]:
        raise ModelIntegrityError(f"the clinical patch was made for another {header['base']} "
                                  "model.bin (checksum differs); reinstall clinivox and the "
                                  "model package")
    offsets = variable_offsets(base_bin)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clinical-", dir=out_dir.parent))
    try:
        shutil.copyfile(base_bin, tmp / "model.bin")
        with open(tmp / "model.bin", "r+b") as f:
            for name, arr in tensors.items():
                if name not in offsets:
                    raise ModelIntegrityError(f"clinical patch names {name}, which the base "
                                              "model does not have")
                pos, nbytes, dtype, shape = offsets[name]
                if dtype != str(arr.dtype) or shape != arr.shape or nbytes != arr.nbytes:
                    raise ModelIntegrityError(f"clinical patch tensor {name} does not fit "
                                              "the base model")
                f.seek(pos)
                f.write(np.ascontiguousarray(arr).tobytes())
            for name, (u, v) in factors.items():
                if name not in offsets:
                    raise ModelIntegrityError(f"clinical patch names {name}, which the base "
                                              "model does not have")
                pos, nbytes, dtype, shape = offsets[name]
                if dtype != "float16" or len(shape) != 2 or u.ndim != 2 or v.ndim != 2 or \
                        (u.shape[0], v.shape[1]) != shape or u.shape[1] != v.shape[0]:
                    raise ModelIntegrityError(f"clinical patch factors of {name} do not fit "
                                              "the base model")
                f.seek(pos)
                base_arr = np.frombuffer(f.read(nbytes), np.float16).reshape(shape)
                f.seek(pos)
                f.write(np.ascontiguousarray(apply_lowrank(base_arr, u, v)).tobytes())
        for name in os.listdir(base_dir):
            if name != "model.bin" and (base_dir / name).is_file():
                shutil.copyfile(base_dir / name, tmp / name)
        (tmp / "clinical.json").write_text(json.dumps(
            {"base": header["base"], "patch_sha256": sha256(patch),
             "model_sha256": sha256(tmp / "model.bin"),
             "tensors": len(tensors), "lowrank": len(factors),
             "languages": header.get("languages", [])}, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def clinical_model(base: str) -> Path:
    """The clinical model directory for bundled `base` ("tiny.en"), built on first use and
    verified on every call (its model.bin checksum against the one recorded at build)."""
    from clinivox.asr.models import BUNDLED, cache_dir

    patch = PATCH_DIR / f"{base}.npz"
    if not patch.is_file():
        raise ModelNotFoundError(f"no clinical model for {base} in this clinivox")
    patch_sha = sha256(patch)
    out = cache_dir() / "models" / f"whisper-{base}{SUFFIX}-{patch_sha[:12]}"
    with _LOCK:
        meta = out / "clinical.json"
        if meta.is_file():
            info = json.loads(meta.read_text())
            if (out / "model.bin").is_file() and \
                    info.get("model_sha256") == sha256(out / "model.bin"):
                return out
        return build(BUNDLED[base](), patch, out)


_GENERAL: dict[Path, Path | None] = {}


def general_model(model_dir: Path) -> Path | None:
    """The bundled model a clinical build in `model_dir` was made from, when its patch
    changed only the decoder (so the two share their encoder output, and a chunk encoded
    once can be decoded by either); None for any other model.

    The medical layer decodes a chunk again with it where the clinical model wrote plain
    English with no clinical term in it (`BiasProfile.general_fallback`): fine-tuned on
    synthetic clinical speech, the clinical decoder reads real general English worse than
    the model it came from (docs/models.md "General fallback")."""
    model_dir = Path(model_dir)
    if model_dir in _GENERAL:
        return _GENERAL[model_dir]
    from clinivox.asr.models import BUNDLED

    out = None
    try:
        info = json.loads((model_dir / "clinical.json").read_text(encoding="utf-8"))
        base = info.get("base") if isinstance(info, dict) else None
        patch = PATCH_DIR / f"{base}.npz"
        if isinstance(base, str) and base in BUNDLED and patch.is_file() and \
                sha256(patch) == info.get("patch_sha256"):
            header, _, factors = _read(patch)
            names = [*header["tensors"], *factors]
            if names and all(n.startswith("decoder/") for n in names):
                out = Path(BUNDLED[base]())
    except (OSError, ValueError, KeyError):
        out = None
    _GENERAL[model_dir] = out
    return out
