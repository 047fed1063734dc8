"""Numpy layers shared by the networks clinivox runs without a deep-learning framework
(the MiniLM sentence encoder and the NLU's fine-tuned heads, the Whisper decoder that
scores rewrites)."""

from __future__ import annotations

import numpy as np


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Normalise `x: (..., d)` over its last axis, then scale by `w` and shift by `b`."""
    xc = x - x.mean(-1, keepdims=True)
    var = np.square(xc).mean(-1, keepdims=True)
    # in place, in the same order as (x - mu) / sqrt(var + eps) * w + b: the same numbers
    # with two fewer temporaries of x's size (the decoder calls this 3 times per layer)
    xc /= np.sqrt(var + eps)
    xc *= w
    xc += b
    return xc


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7), enough for float32 GELU; numpy
    has no erf and scipy is optional."""
    a = np.abs(x)
    e = np.multiply(a, a)  # exp(-a*a), computed first so `a` can become t in place
    np.negative(e, out=e)
    np.exp(e, out=e)
    t = np.multiply(a, 0.3275911, out=a)
    t += 1.0
    np.reciprocal(t, out=t)
    # Horner's rule, the same operations in the same order as the nested expression
    poly = t * 1.061405429
    poly += -1.453152027
    poly *= t
    poly += 1.421413741
    poly *= t
    poly += -0.284496736
    poly *= t
    poly += 0.254829592
    poly *= t
    poly *= e
    np.subtract(1.0, poly, out=poly)
    poly *= np.sign(x)
    return poly


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU with the exact (erf) form, as BERT and Whisper use it."""
    y = erf(x * 0.7071067811865476)
    y += 1.0
    y *= 0.5 * x  # (0.5 * x) * (1 + erf): the same product, in place
    return y


def softmax(x: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis of `x`, shifted by its maximum for stability."""
    x = np.exp(x - x.max(-1, keepdims=True))
    return x / x.sum(-1, keepdims=True)
