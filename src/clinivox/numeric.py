"""Numpy layers shared by the networks clinivox runs without a deep-learning framework
(the MiniLM sentence encoder, the Whisper decoder that scores rewrites)."""

from __future__ import annotations

import numpy as np


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Normalise `x: (..., d)` over its last axis, then scale by `w` and shift by `b`."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7), enough for float32 GELU; numpy
    has no erf and scipy is optional."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                     + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU with the exact (erf) form, as BERT and Whisper use it."""
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))
