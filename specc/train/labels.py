"""What a loss expects of its labels, and checking labels against it before training.

Keras accepts many label layouts silently and fails (or trains on garbage)
late: class ids past the last unit, one-hot rows fed to a sparse loss,
probabilities outside 0..1 fed to a crossentropy. Each is refused here with
E803 at the data file, naming the first offending sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from specc.codes import E803
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.ir.graph import Model
from specc.ir.values import FnValue

LabelKind = Literal["sparse", "categorical", "binary", "dense"]

_KINDS: dict[str, LabelKind] = {
    "sparse_categorical_crossentropy": "sparse",
    "categorical_crossentropy": "categorical",
    "categorical_focal_crossentropy": "categorical",
    "categorical_hinge": "categorical",
    "kl_divergence": "categorical",
    "kld": "categorical",
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
}
_PROBABILITIES = frozenset(
    {
        "categorical_crossentropy",
        "categorical_focal_crossentropy",
        "binary_crossentropy",
        "binary_focal_crossentropy",
    }
)


@dataclass(frozen=True)
class Loss:
    """The spec's loss as far as labels are concerned."""

    name: str
    from_logits: bool = False
    ignore_class: int | None = None

    @property
    def kind(self) -> LabelKind:
        """``sparse`` (class ids), ``categorical`` (one row per class), ``binary`` or ``dense``."""
        return _KINDS.get(self.name, "dense")

    @property
    def classifier(self) -> bool:
        """True for the crossentropies: predictions are classes, a confusion matrix makes sense."""
        return self.name in _PROBABILITIES or self.kind == "sparse"


def loss_of(model: Model) -> Loss | None:
    """The loss of the model's ``compile`` settings, or None without one."""
    if model.compile is None or "loss" not in model.compile.kwargs:
        return None
    value = model.compile.kwargs["loss"]
    if isinstance(value, FnValue):
        return Loss(
            value.name.lower(), bool(value.get("from_logits", False)), value.get("ignore_class")
        )
    return Loss(str(value).lower())


def _fail(message: str, span: Span, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(E803, message, span, help))


def _first(mask: np.ndarray) -> int:
    return int(np.argwhere(mask.reshape(len(mask), -1).any(axis=1))[0][0])


def check_labels(y: object, model: Model, loss: Loss, samples: int, span: Span) -> np.ndarray:
    """``y`` as Keras will get it (int32 class ids or float32), or E803 naming what is wrong."""
    output = tuple(model.output_shape or ())
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise _fail(f"labels have dtype {y.dtype}; expected numbers", span)
    if y.ndim == 0 or y.shape[0] != samples:
        got = "a scalar" if y.ndim == 0 else f"{y.shape[0]:,} labels"
        raise _fail(f"{samples:,} samples but {got}", span, "x and y need one row per sample")
    y = y.astype(np.float64) if y.dtype.kind == "b" else y
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        i = _first(~np.isfinite(y))
        raise _fail(f"label of sample {i} is {y[i].ravel()[0]!r}; labels must be finite", span)
    if loss.kind == "sparse":
        return _sparse(y, output, loss, span)
    expected = (samples, *output)
    if loss.kind == "binary" and output == (1,) and y.shape == (samples,):
        y = y[:, None]
    if loss.kind == "dense" and output == (1,) and y.shape == (samples,):
        y = y[:, None]
    if y.shape != expected:
        help = None
        if loss.kind == "categorical" and y.shape == (samples,):
            help = (
                "these look like class ids: use loss=sparse_categorical_crossentropy, "
                "or one-hot encode them with keras.utils.to_categorical"
            )
        raise _fail(
            f"labels of shape {y.shape} do not fit loss {loss.name} on the model's output "
            f"{output}: expected {expected}",
            span,
            help,
        )
    if loss.name in _PROBABILITIES and not loss.from_logits:
        outside = (y < 0) | (y > 1)
        if outside.any():
            i = _first(outside)
            raise _fail(
                f"label of sample {i} holds {y[i][outside[i]].ravel()[0]!r}; {loss.name} "
                "takes labels between 0 and 1",
                span,
            )
    return np.ascontiguousarray(y, dtype=np.float32)


def _sparse(y: np.ndarray, output: tuple[int, ...], loss: Loss, span: Span) -> np.ndarray:
    samples, units = y.shape[0], output[-1]
    expected = (samples, *output[:-1])
    if y.shape == (*expected, 1):
        y = y.reshape(expected)
    if y.shape != expected:
        help = None
        if y.shape == (samples, *output):
            help = "these look one-hot: use loss=categorical_crossentropy, or pass class ids"
        raise _fail(
            f"labels of shape {y.shape} do not fit {loss.name} on the model's output {output}: "
            f"expected class ids of shape {expected}",
            span,
            help,
        )
    if y.dtype.kind == "f" and (y != np.round(y)).any():
        i = _first(y != np.round(y))
        raise _fail(
            f"label of sample {i} is {y[i].ravel()[0]!r}; {loss.name} takes whole class ids",
            span,
        )
    bad = (y < 0) | (y >= units)
    if loss.ignore_class is not None:
        bad &= y != loss.ignore_class
    if bad.any():
        i = _first(bad)
        value = y[i].ravel()[bad[i].ravel()][0]
        raise _fail(
            f"label of sample {i} is class {int(value)}, out of range for the model's "
            f"{units} output units (classes 0 to {units - 1})",
            span,
        )
    return np.ascontiguousarray(y, dtype=np.int32)


def true_classes(y: np.ndarray, loss: Loss) -> np.ndarray:
    """Class ids of checked labels ``y`` (for a confusion matrix)."""
    if loss.kind == "sparse":
        return y.astype(np.int64)
    if loss.kind == "binary":
        return (y.reshape(len(y)) > 0.5).astype(np.int64)
    return np.argmax(y, axis=-1)


def predicted_classes(outputs: np.ndarray, loss: Loss) -> np.ndarray:
    """Class ids of model outputs: the largest unit, or one unit above its threshold."""
    if outputs.shape[-1] == 1:
        threshold = 0.0 if loss.from_logits else 0.5
        return (outputs.reshape(len(outputs)) > threshold).astype(np.int64)
    return np.argmax(outputs, axis=-1)
