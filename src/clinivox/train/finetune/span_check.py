"""Train the check on the learned tagger's spans (`clinivox.nlu.span_check`): an
L2-regularised logistic regression with balanced class weights over `span_check.features`,
fitted with L-BFGS (scipy). No torch.

    x = features(encoder, stored_references(encoder), text, spans)  # rows stacked
    weight, bias = fit(x, y)
    export("span_check.npz", weight, bias, references, threshold=0.5, keep_at=0.8)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinivox.nlu.span_check import FEATURES, REFERENCES

try:
    from scipy.optimize import minimize
except ImportError as exc:  # pragma: no cover - the [train] extra
    raise ImportError("pip install clinivox[train]") from exc


def fit(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, float]:
    """Weights and bias minimising c * sum_i s_i log-loss_i + |w|^2 / 2 (the bias not
    penalised), s_i = n / (2 n_class(i)): each class weighs as much as the other."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(set(y.tolist())) != 2:
        raise ValueError("fit needs rows of features and labels of both classes (0 and 1)")
    n1 = y.sum()
    s = np.where(y == 1, len(y) / (2 * n1), len(y) / (2 * (len(y) - n1)))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        # log(1 + e^z) - y z, stably
        nll = np.logaddexp(0.0, z) - y * z
        g = s * (1.0 / (1.0 + np.exp(-z)) - y)
        grad = np.concatenate([c * (x.T @ g) + w, [c * g.sum()]])
        return float(c * (s * nll).sum() + 0.5 * w @ w), grad

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000})
    return res.x[:-1].astype(np.float32), float(res.x[-1])


def export(path: str | Path, weight: np.ndarray, bias: float,
           references: dict[str, np.ndarray], threshold: float, keep_at: float,
           labels: Sequence[str] = ("problem",), notes: dict[str, Any] | None = None) -> None:
    """Write a check: the logistic regression's weights (float32), the reference
    embeddings (float16: `stored_references` gives them as the model reads them back) and
    its settings."""
    arrays: dict[str, np.ndarray] = {
        "weight": np.asarray(weight, np.float32), "bias": np.asarray(bias, np.float32),
        **{f"ref.{k}": np.asarray(references[k], np.float16) for k in REFERENCES}}
    arrays["meta"] = np.array(json.dumps({
        "features": list(FEATURES), "threshold": threshold, "keep_at": keep_at,
        "labels": list(labels), "base": "all-MiniLM-L6-v2", **(notes or {})}))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


