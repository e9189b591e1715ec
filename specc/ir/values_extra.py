"""Value types of the activation, normalization and reshaping layers' parameters.

As in :mod:`specc.ir.values`, each ``Annotated`` type turns what a spec may
write into one canonical Python value, or raises ``ValueError`` with a
sentence naming what was expected: an axis or several (``-1``, ``(1, 2)``),
one number or one per channel (``0.5``, ``(0.485, 0.456, 0.406)``), a
permutation of the axes (``(2, 1, 3)``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator

from specc.ir.values import _axis, _int, _optional


def _number(value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, received {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, received {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"expected a number >= {minimum:g}, received {value}")
    return float(value)


def _numbers(value: Any, minimum: float | None = None) -> float | tuple[float, ...]:
    """One number, or a tuple of them (one per position of the last axis)."""
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, tuple):
        if not value:
            raise ValueError("expected a number or a tuple of numbers, received ()")
        if any(isinstance(v, (tuple, list)) for v in value):
            raise ValueError(f"expected a flat tuple of numbers, received {value!r}")
        return tuple(_number(v, minimum) for v in value)
    return _number(value, minimum)


def _axes(value: Any) -> int | tuple[int, ...]:
    """An axis, or a tuple of distinct axes (counted with the batch axis, as Keras does)."""
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, tuple):
        if not value:
            raise ValueError("expected an axis or a tuple of axes, received ()")
        axes = tuple(_axis(v) for v in value)
        if len(set(axes)) != len(axes):
            raise ValueError(f"expected distinct axes, received {value!r}")
        return axes
    return _axis(value)


def _shared_axes(value: Any) -> tuple[int, ...] | None:
    """PReLU's ``shared_axes``: None, an axis or a tuple of axes, each >= 1."""
    if value is None:
        return None
    axes = _axes(value)
    axes = axes if isinstance(axes, tuple) else (axes,)
    for axis in axes:
        if axis < 1:
            raise ValueError(f"expected axes >= 1 (axis 0 is the batch), received {value!r}")
    return axes


def _groups(value: Any) -> int:
    """GroupNormalization's ``groups``: a positive integer, or -1 (one group per channel)."""
    if value == -1 and not isinstance(value, bool):
        return -1
    return _int(value, 1)


def _permutation(value: Any) -> tuple[int, ...]:
    """Permute's ``dims``: a permutation of 1..n (the batch axis stays first)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not value:
        raise ValueError(f"expected a tuple of axes such as (2, 1, 3), received {value!r}")
    dims = tuple(_axis(v) for v in value)
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise ValueError(
            f"expected a permutation of 1..{len(dims)} (the batch axis stays first), "
            f"received {value!r}"
        )
    return dims


def _constant(value: Any) -> str:
    if not isinstance(value, str) or value.lower() != "constant":
        raise ValueError(f"Keras's Resizing supports fill_mode=constant only, received {value!r}")
    return "constant"


Number = Annotated[float, BeforeValidator(_number)]
NonNegNumber = Annotated[float, BeforeValidator(lambda v: _number(v, 0.0))]
OptionalNonNegNumber = Annotated[
    float | None, BeforeValidator(_optional(lambda v: _number(v, 0.0)))
]
Numbers = Annotated[float | tuple[float, ...], BeforeValidator(_numbers)]
OptionalNumbers = Annotated[float | tuple[float, ...] | None, BeforeValidator(_optional(_numbers))]
OptionalNonNegNumbers = Annotated[
    float | tuple[float, ...] | None, BeforeValidator(_optional(lambda v: _numbers(v, 0.0)))
]
Axes = Annotated[int | tuple[int, ...], BeforeValidator(_axes)]
OptionalAxes = Annotated[int | tuple[int, ...] | None, BeforeValidator(_optional(_axes))]
SharedAxes = Annotated[tuple[int, ...] | None, BeforeValidator(_shared_axes)]
Groups = Annotated[int, BeforeValidator(_groups)]
Permutation = Annotated[tuple[int, ...], BeforeValidator(_permutation)]
FillMode = Annotated[str, BeforeValidator(_constant)]
