"""Checks on what a forward pass is given: input shape, dtype and finiteness.

NaN and infinity are refused by default (E604): a network propagates them
silently, and a NaN in an image batch is almost always a bug upstream. Pass
``allow_nan=True`` (``--allow-nan``) to run them through anyway; every backend
then computes what IEEE arithmetic gives (max pooling and ``relu`` may differ
between backends on NaN, as they do between Keras backends).
"""

from __future__ import annotations

import numpy as np

from specc.codes import E602, E603, E604
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.ir.graph import Model
from specc.ir.shapes import fmt_shape


def _shape_text(shape: tuple[int, ...]) -> str:
    return fmt_shape(shape) if shape else "a scalar"


def check_input(
    model: Model, x: object, span: Span | None = None, allow_nan: bool = False
) -> np.ndarray:
    """``x`` as a float32 batch (N, *input_shape), or a :class:`SpeccError` (E602-E604).

    A single sample (exactly the input shape) gets a batch axis of 1. Integer
    and float arrays of any width are converted to float32 (images as 0..255);
    booleans, complex numbers, strings and objects are refused (E603).
    """
    span = span or model.input.span
    expected = tuple(model.input.output_shape or ())
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise SpeccError(Diagnostic(E603, f"input is not an array: {exc}", span)) from None
    assert isinstance(x, np.ndarray)
    check_input_layout(model, x.shape, x.dtype, span)
    if x.shape == expected:
        x = x[None]
    if x.shape[0] == 0:
        raise SpeccError(Diagnostic(E602, "input holds no samples (batch of 0)", span))
    with np.errstate(over="ignore", invalid="ignore"):
        x32 = np.ascontiguousarray(x, dtype=np.float32)
    if not allow_nan:
        finite = np.isfinite(x32)
        if not finite.all():
            bad = np.argwhere(~finite)[0]
            value = x32[tuple(bad)]
            origin = ""
            if np.isfinite(x[tuple(bad)]):
                origin = f" (the value {x[tuple(bad)]!r} overflows float32)"
            raise SpeccError(
                Diagnostic(
                    E604,
                    f"input holds {int((~finite).sum())} non-finite value(s); the first is "
                    f"{value} at index {tuple(int(i) for i in bad)}{origin}",
                    span,
                    "clean the data, or pass --allow-nan to run it anyway",
                )
            )
    return x32


def check_input_layout(
    model: Model, shape: tuple[int, ...], dtype: np.dtype, span: Span | None = None
) -> None:
    """E603 unless ``dtype`` holds numbers, E602 unless ``shape`` is a sample or a batch.

    Takes what a ``.npy`` header promises, so a file is judged before its data is read.
    """
    span = span or model.input.span
    expected = tuple(model.input.output_shape or ())
    kind = dtype.kind
    if kind not in "fiu":
        raise SpeccError(
            Diagnostic(
                E603,
                f"input has dtype {dtype}; expected numbers (float or integer)",
                span,
                "convert it with x.astype('float32')",
            )
        )
    batch = (1, *shape) if tuple(shape) == expected else tuple(shape)
    if batch[1:] != expected or len(batch) != len(expected) + 1:
        raise SpeccError(
            Diagnostic(
                E602,
                f"input of shape {_shape_text(tuple(shape))} does not fit model '{model.name}': "
                f"expected (batch, {', '.join(map(str, expected))}) or {fmt_shape(expected)}, "
                f"received {tuple(shape)}",
                span,
            )
        )
