"""Keras 3 activations on an array module ``xp`` (numpy or cupy), elementwise and vectorized."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Array = Any

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_ERFC_COEFFS = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def erf(xp: Any, x: Array) -> Array:
    """The error function, computed in float64 and returned in ``x``'s dtype.

    Chebyshev fit of erfc (Numerical Recipes ``erfcc``): fractional error
    below 1.2e-7 everywhere, so float32 results are exact to rounding.
    """
    z = xp.abs(x.astype(xp.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = xp.zeros_like(t)
    for c in reversed(_ERFC_COEFFS):
        poly = poly * t + c
    erfc = t * xp.exp(-z * z + poly)
    return xp.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(x.dtype)


def _sigmoid(xp: Any, x: Array) -> Array:
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def _softplus(xp: Any, x: Array) -> Array:
    return xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(x, 0)


def _relu6(xp: Any, x: Array) -> Array:
    return xp.clip(x, 0, 6)


def _softmax(xp: Any, x: Array) -> Array:
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(xp: Any, x: Array) -> Array:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def _elu(xp: Any, x: Array) -> Array:
    return xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0)))


def _selu(xp: Any, x: Array) -> Array:
    neg = SELU_ALPHA * xp.expm1(xp.minimum(x, 0))
    return (SELU_SCALE * xp.where(x > 0, x, neg)).astype(x.dtype)


def _gelu(xp: Any, x: Array) -> Array:
    return 0.5 * x * (1.0 + erf(xp, x / x.dtype.type(math.sqrt(2.0))))


ACTIVATION_FUNCTIONS: dict[str, Callable[[Any, Array], Array]] = {
    "linear": lambda xp, x: x,
    "relu": lambda xp, x: xp.clip(x, 0, math.inf),
    "relu6": _relu6,
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "tanh": lambda xp, x: xp.tanh(x),
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "silu": lambda xp, x: x * _sigmoid(xp, x),
    "swish": lambda xp, x: x * _sigmoid(xp, x),
    "leaky_relu": lambda xp, x: xp.where(x >= 0, x, x * x.dtype.type(0.2)),
    "hard_sigmoid": lambda xp, x: _relu6(xp, x + 3) / 6,
    "hard_silu": lambda xp, x: x * (_relu6(xp, x + 3) / 6),
    "hard_swish": lambda xp, x: x * (_relu6(xp, x + 3) / 6),
    "softplus": _softplus,
    "softsign": lambda xp, x: x / (1 + xp.abs(x)),
    "mish": lambda xp, x: x * xp.tanh(_softplus(xp, x)),
    "exponential": lambda xp, x: xp.exp(x),
}


def activate_inplace(xp: Any, x: Array, name: str | None) -> Array:
    """Like :func:`activate`, overwriting ``x`` where the activation allows it (relu, relu6)."""
    if name == "relu":
        # clip, not maximum(x, 0): NumPy 2.4 runs maximum against a scalar
        # through a loop 3x slower than clip's; the results are identical.
        return xp.clip(x, 0, math.inf, out=x)
    if name == "relu6":
        return xp.clip(x, 0, 6, out=x)
    return activate(xp, x, name)


def activate(xp: Any, x: Array, name: str | None) -> Array:
    """``x`` through the Keras activation ``name`` (None is linear)."""
    if name is None or name == "linear":
        return x
    return ACTIVATION_FUNCTIONS[name](xp, x)
