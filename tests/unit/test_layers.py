"""The package layering of docs/architecture.md, read from the imports themselves.

Lower layers never import higher ones (lazy imports inside functions count too), so a
capability can be reused, tested and replaced without dragging the layers above it in.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "clinivox"

# Each top-level module or package of clinivox, and its layer (low to high).
LAYERS = {
    "units": 0, "errors": 0, "resources": 0, "numeric": 0,
    "audio": 1,
    "asr": 2,
    "io": 3,
    "medical": 4,
    "nlp": 5, "nlu": 5, "privacy": 5,
    # the medical layer of decoding reads the NLU's and privacy's judgements (a person's
    # name is never rewritten into a term)
    "biasing": 6,
    "alerts": 7, "diarize": 7, "tts": 7,
    "pipeline": 8,
    "eval": 9, "train": 9, "export": 9,
    "scribe": 10, "apps": 10,
    "batch": 11, "serve": 11, "cli": 11, "testing": 11, "__init__": 11,
}


def _top(parts: tuple[str, ...]) -> str:
    return parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "clinivox":
                out.append((node.lineno, parts[1] if len(parts) > 1 else "__init__"))
    return out


def test_every_package_has_a_layer():
    tops = {_top(p.relative_to(SRC).parts) for p in SRC.rglob("*.py")}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_no_import_from_a_lower_layer_to_a_higher_one():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        top = _top(path.relative_to(SRC).parts)
        for line, target in imports_of(path):
            if LAYERS[target] > LAYERS[top]:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({top}) imports {target}")
    assert wrong == []


def test_the_check_sees_a_violation(tmp_path):
    bad = tmp_path / "vad.py"
    bad.write_text("def f():\n    from clinivox.asr.types import VadOptions\n")
    assert imports_of(bad) == [(2, "asr")] and LAYERS["asr"] > LAYERS["audio"]
