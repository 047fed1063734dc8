"""A learned check on each rewrite the medical layer would make.

The decision (`ChunkRewrites.decide`) keeps a rewrite when its gain, one weighted sum of the
evidence, clears `min_score`. A threshold on one number cannot tell a rare drug that sounds
a little like the words from a common one that sounds just like them, and each wrong rewrite
writes a term into the record that nobody said. The verifier is a logistic regression over
the rewrite's evidence taken apart (`features`: the acoustic and LM deltas, the sound
similarity, Whisper's confidence in the span, the term's rarity and category, where the
candidate came from); trained on decoded audio with references (`clinivox tune --verifier`),
it gives each rewrite the probability that the term it writes is in the reference, and the
decision skips those below its threshold, so that an overlapping candidate may take the span
instead. numpy only: the model is a few dozen numbers in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clinivox.errors import InputError

if TYPE_CHECKING:
    from clinivox.biasing.profile import BiasProfile
    from clinivox.biasing.rewrites import Rewrite

HERE = Path(__file__).parent
# shipped verifiers, by name (a profile's `verifier`); anything else is a path
BUILTIN_VERIFIERS = {"clinical": HERE / "clinical_verifier.json"}

CATEGORIES = ("drug", "diagnosis", "symptom", "procedure", "anatomy", "lab", "abbreviation")
FEATURES = ("gain", "d_am", "d_lm", "d_len", "similarity", "span_logprob", "rare", "screened",
            "screen_only", "proposed", "span_words", "form_words",
            *(f"category_{c}" for c in CATEGORIES))


def features(rw: Rewrite, p: BiasProfile) -> list[float]:
    """The evidence for one rewrite, in `FEATURES` order."""
    return [rw.gain(p), rw.d_am, rw.d_lm, float(rw.d_len), rw.similarity, rw.span_logprob,
            float(rw.entry.rare), float(rw.screened), float(rw.screen_only),
            float(rw.proposed), float(rw.b - rw.a), float(len(rw.written().split())),
            *(float(rw.entry.category == c) for c in CATEGORIES)]


@dataclass(frozen=True)
class Verifier:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = 0.5  # rewrites less likely than this to be right are skipped
    names: tuple[str, ...] = FEATURES
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def probability(self, rw: Rewrite, p: BiasProfile) -> float:
        return float(self.probabilities(np.asarray([features(rw, p)]))[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale) @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))

    def accept(self, rw: Rewrite, p: BiasProfile) -> bool:
        """Whether `rw` is likely enough to be right: the profile's `verifier_threshold`
        where set, else this verifier's own."""
        t = self.threshold if p.verifier_threshold is None else p.verifier_threshold
        return t <= 0.0 or self.probability(rw, p) >= t

    def save(self, path: Path, **meta: object) -> None:
        d = asdict(self)
        d["meta"] = {**self.meta, **meta}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Verifier:
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            v = cls(tuple(map(float, d["mean"])), tuple(map(float, d["scale"])),
                    tuple(map(float, d["coef"])), float(d["intercept"]),
                    float(d.get("threshold", 0.5)), tuple(d.get("names", FEATURES)),
                    dict(d.get("meta", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read rewrite verifier {path.name}: {exc}") from None
        if v.names != FEATURES or not len(v.mean) == len(v.scale) == len(v.coef) == \
                len(FEATURES):
            raise InputError(f"{path.name}: a verifier for other features than this "
                             "clinivox computes; train it again (clinivox tune --verifier)")
        if not 0.0 <= v.threshold <= 1.0 or min(v.scale) <= 0:
            raise InputError(f"{path.name}: threshold must be in [0, 1] and scales > 0")
        return v


def logistic_newton(z: np.ndarray, y: np.ndarray, l2: float = 1.0,
                    weight: np.ndarray | None = None) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method on (standardised) features
    `z` and 0/1 labels `y`, each example weighted by `weight` (default 1). Returns the
    weights of [features..., intercept]; the intercept is not shrunk."""
    z = np.hstack([z, np.ones((len(z), 1))])
    weight = np.ones(len(y)) if weight is None else weight
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(100):
        prob = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (weight * (prob - y)) + reg * w
        hess = (z * (weight * prob * (1 - prob))[:, None]).T @ z + np.diag(reg) \
            + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, threshold: float = 0.5,
        **meta: Any) -> Verifier:
    """L2-regularised logistic regression on standardised features (Newton's method).
    x: (n, len(FEATURES)); y: 1 where the rewrite's term is in the reference."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or len(y) != len(x):
        raise ValueError("x must be (n, len(FEATURES)) and y (n,)")
    if len(y) < 10 or y.min() == y.max():
        raise InputError(f"too few rewrites to train a verifier on ({len(y)}, "
                         f"{int(y.sum())} right): give more rows")
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale == 0] = 1.0
    w = logistic_newton((x - mean) / scale, y, l2)
    return Verifier(tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:-1].tolist()),
                    float(w[-1]), threshold, FEATURES, dict(meta))


@lru_cache(maxsize=16)
def load_verifier(name: str) -> Verifier:
    """A profile's `verifier`: a shipped one by name (`clinical`) or a file."""
    path = BUILTIN_VERIFIERS.get(name, Path(name))
    if not Path(path).is_file():
        raise InputError(f"rewrite verifier not found: {Path(name).name} (give a file from "
                         f"`clinivox tune --verifier`, or one of: {', '.join(BUILTIN_VERIFIERS)})")
    return Verifier.load(path)


def examples(chunks: Sequence[Any], p: BiasProfile, reference_terms: set[str]
             ) -> tuple[list[list[float]], list[float]]:
    """Training rows from one utterance's recorded chunks (`ChunkRewrites`): every rewrite
    the decision under `p` may consider (`Rewrite.considered`), labelled 1 when its term is
    among `reference_terms` (lexicon canonicals)."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for cr in chunks:
        for rw in cr.rewrites:
            if not rw.considered(p):
                continue
            xs.append(features(rw, p))
            ys.append(float(rw.entry.canonical.lower() in reference_terms))
    return xs, ys
