"""Keras 3 activations on an array module ``xp`` (numpy or cupy), elementwise and vectorized."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Array = Any

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# Eigen's float32 erf (what TensorFlow's and XLA's CPU kernels compute): x * P(x^2) / Q(x^2)
# on x clamped to [-4, 4], absolute error below 2e-7 on the whole real line.
ERF_NUMERATOR = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
ERF_DENOMINATOR = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)
INPLACE_CHUNK = 16384
"""Values per piece of an activation computed in place on the CPU: its
temporaries stay in cache (gelu's are a dozen passes)."""


def _horner(xp: Any, x2: Array, coefficients: tuple[float, ...]) -> Array:
    dtype = x2.dtype.type
    out = x2 * dtype(coefficients[0])
    for c in coefficients[1:-1]:
        out += dtype(c)
        out *= x2
    out += dtype(coefficients[-1])
    return out


def erf(xp: Any, x: Array) -> Array:
    """The error function in ``x``'s dtype, as TensorFlow computes it in float32
    (Eigen's rational approximation: absolute error below 2e-7)."""
    t = xp.clip(x, -4, 4)
    t2 = t * t
    out = _horner(xp, t2, ERF_NUMERATOR)
    out *= t
    out /= _horner(xp, t2, ERF_DENOMINATOR)
    return out


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
    out = erf(xp, x * x.dtype.type(1 / math.sqrt(2.0)))
    out += 1
    out *= x
    out *= x.dtype.type(0.5)
    return out


def _silu(xp: Any, x: Array) -> Array:
    # x / (1 + exp(-x)): exp overflows to inf below -88, giving -0 for values under 1e-36.
    out = xp.negative(x)
    xp.exp(out, out=out)
    out += 1
    return xp.divide(x, out, out=out)


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
    "silu": _silu,
    "swish": _silu,
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
    if name in (None, "linear"):
        return x
    if getattr(xp, "__name__", "") == "numpy" and x.flags.c_contiguous and x.size > INPLACE_CHUNK:
        # By cache-sized pieces (the function is elementwise), each written back.
        fn, flat = ACTIVATION_FUNCTIONS[name], x.reshape(-1)
        if name not in ("softmax", "log_softmax"):
            for start in range(0, flat.size, INPLACE_CHUNK):
                piece = flat[start : start + INPLACE_CHUNK]
                piece[...] = fn(xp, piece)
            return x
    return activate(xp, x, name)


def activate(xp: Any, x: Array, name: str | None) -> Array:
    """``x`` through the Keras activation ``name`` (None is linear)."""
    if name is None or name == "linear":
        return x
    return ACTIVATION_FUNCTIONS[name](xp, x)
