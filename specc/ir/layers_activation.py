"""Keras's activation layer classes: ReLU, LeakyReLU, PReLU, ELU and Softmax.

A bare activation name on a line (``relu``, ``elu``, ``softmax``) stays
Keras's ``Activation`` layer. The layer classes whose lowercased Keras name
is also an activation function's are written with ``_layer``: ``relu_layer``
is ``ReLU``, ``elu_layer`` is ``ELU``, ``softmax_layer`` is ``Softmax``;
``leakyrelu`` and ``prelu`` need no suffix (``leaky_relu`` is the activation,
with Keras's slope 0.2 where the LeakyReLU layer has 0.3).
"""

from typing import ClassVar

from specc.codes import E107
from specc.ir import shapes as sh
from specc.ir.layer_base import Layer, Weight
from specc.ir.shapes import Shape, ShapeError
from specc.ir.values import Constraint, FnValue, Initializer, Regularizer
from specc.ir.values_extra import Axes, NonNegNumber, Number, OptionalNonNegNumber, SharedAxes


class ReLU(Layer):
    """Keras ``ReLU``: ``max(x, 0)``, at most ``max_value``, ``negative_slope`` below ``threshold``.

    Written ``relu_layer``; a bare ``relu`` is ``Activation('relu')``.
    """

    kind: ClassVar[str] = "relu_layer"
    same_shape: ClassVar[bool] = True
    keras_class: ClassVar[str] = "ReLU"
    auto_name: ClassVar[str] = "re_lu"
    positional: ClassVar[tuple[str, ...]] = ("max_value",)

    max_value: OptionalNonNegNumber = None
    negative_slope: NonNegNumber = 0.0
    threshold: NonNegNumber = 0.0


class LeakyReLU(Layer):
    """Keras ``LeakyReLU``: ``x`` above zero, ``negative_slope * x`` below (slope 0.3)."""

    kind: ClassVar[str] = "leakyrelu"
    same_shape: ClassVar[bool] = True
    keras_class: ClassVar[str] = "LeakyReLU"
    auto_name: ClassVar[str] = "leaky_re_lu"
    positional: ClassVar[tuple[str, ...]] = ("negative_slope",)

    negative_slope: NonNegNumber = 0.3


class PReLU(Layer):
    """Keras ``PReLU``: a leaky ReLU whose slope ``alpha`` is a trained weight.

    ``alpha`` has the input's shape, with the ``shared_axes`` (counted with
    the batch axis, as Keras does) reduced to 1.
    """

    kind: ClassVar[str] = "prelu"
    keras_class: ClassVar[str] = "PReLU"
    auto_name: ClassVar[str] = "p_re_lu"

    alpha_initializer: Initializer = FnValue("zeros")
    alpha_regularizer: Regularizer = None
    alpha_constraint: Constraint = None
    shared_axes: SharedAxes = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.weights(inputs)
        return inputs[0]

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        shape = list(inputs[0])
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ShapeError(
                    E107,
                    f"prelu shared_axes={self.shared_axes} is out of range for an input of "
                    f"shape {sh.fmt_shape(inputs[0])} (axes 1..{len(shape)})",
                )
            shape[axis - 1] = 1
        return [Weight("alpha", tuple(shape), self.alpha_initializer)]


class ELU(Layer):
    """Keras ``ELU``: ``x`` above zero, ``alpha * (exp(x) - 1)`` below.

    Written ``elu_layer``; a bare ``elu`` is ``Activation('elu')`` (alpha 1).
    """

    kind: ClassVar[str] = "elu_layer"
    same_shape: ClassVar[bool] = True
    keras_class: ClassVar[str] = "ELU"
    auto_name: ClassVar[str] = "elu"
    positional: ClassVar[tuple[str, ...]] = ("alpha",)

    alpha: Number = 1.0


class Softmax(Layer):
    """Keras ``Softmax``: exponentials normalized to sum 1 over ``axis`` (one or several).

    Written ``softmax_layer``; a bare ``softmax`` is ``Activation('softmax')``
    (the last axis).
    """

    kind: ClassVar[str] = "softmax_layer"
    keras_class: ClassVar[str] = "Softmax"
    auto_name: ClassVar[str] = "softmax"
    positional: ClassVar[tuple[str, ...]] = ("axis",)

    axis: Axes = -1

    def output_shape(self, inputs: list[Shape]) -> Shape:
        sh.normalized_axes(inputs[0], self.axis, "softmax_layer")
        return inputs[0]
