"""Core, normalization, reshaping and merge layers."""

import math
from typing import ClassVar

from specc.codes import E107
from specc.ir import shapes as sh
from specc.ir.layer_base import Layer, Weight, bias_weight
from specc.ir.shapes import Shape, ShapeError
from specc.ir.values import (
    Activation,
    Axis,
    Bool,
    Constraint,
    DataFormat,
    Epsilon,
    FnValue,
    Fraction,
    Initializer,
    Interpolation,
    NoiseShape,
    Padding2D,
    Pair,
    PositiveInt,
    Regularizer,
    Seed,
    TargetShape,
)


class Dense(Layer):
    """Keras ``Dense``: a matrix product on the last axis, plus bias and activation."""

    positional: ClassVar[tuple[str, ...]] = ("units",)
    bare_words: ClassVar[bool] = True

    units: PositiveInt
    activation: Activation = None
    use_bias: Bool = True
    kernel_initializer: Initializer = FnValue("glorot_uniform")
    bias_initializer: Initializer = FnValue("zeros")
    kernel_regularizer: Regularizer = None
    bias_regularizer: Regularizer = None
    activity_regularizer: Regularizer = None
    kernel_constraint: Constraint = None
    bias_constraint: Constraint = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if not inputs[0]:
            sh.require_rank(inputs[0], 1, "dense")
        return (*inputs[0][:-1], self.units)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        return [
            Weight("kernel", (inputs[0][-1], self.units), self.kernel_initializer),
            *bias_weight(self.use_bias, self.units, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return math.prod(inputs[0]) * self.units


class Flatten(Layer):
    """Keras ``Flatten``: every axis but the batch as one, in row-major (NHWC) order."""

    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return (math.prod(inputs[0]),)


class Dropout(Layer):
    """Keras ``Dropout``: zeroes a ``rate`` of the values in training; the identity at inference."""

    positional: ClassVar[tuple[str, ...]] = ("rate",)
    same_shape: ClassVar[bool] = True

    rate: Fraction
    noise_shape: NoiseShape = None
    seed: Seed = None


class BatchNormalization(Layer):
    """Keras ``BatchNormalization``: normalizes ``axis`` by moving statistics at inference."""

    aliases: ClassVar[tuple[str, ...]] = ("batchnorm", "bn")

    axis: Axis = -1
    momentum: Fraction = 0.99
    epsilon: Epsilon = 1e-3
    center: Bool = True
    scale: Bool = True
    beta_initializer: Initializer = FnValue("zeros")
    gamma_initializer: Initializer = FnValue("ones")
    moving_mean_initializer: Initializer = FnValue("zeros")
    moving_variance_initializer: Initializer = FnValue("ones")
    beta_regularizer: Regularizer = None
    gamma_regularizer: Regularizer = None
    beta_constraint: Constraint = None
    gamma_constraint: Constraint = None
    synchronized: Bool = False

    def _channels(self, shape: Shape) -> int:
        rank = len(shape) + 1  # Keras counts the batch axis
        if not -rank <= self.axis < rank or self.axis in (0, -rank):
            raise ShapeError(
                E107,
                f"batchnormalization axis={self.axis} is out of range for an input of "
                f"shape {sh.fmt_shape(shape)}",
            )
        return shape[self.axis - 1 if self.axis > 0 else self.axis]

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self._channels(inputs[0])
        return inputs[0]

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        c = (self._channels(inputs[0]),)
        out = []
        if self.scale:
            out.append(Weight("gamma", c, self.gamma_initializer))
        if self.center:
            out.append(Weight("beta", c, self.beta_initializer))
        out.append(Weight("moving_mean", c, self.moving_mean_initializer, trainable=False))
        out.append(Weight("moving_variance", c, self.moving_variance_initializer, trainable=False))
        return out


class ActivationLayer(Layer):
    """Keras ``Activation``: an activation function as a layer (``relu`` alone on a line)."""

    keras_class: ClassVar[str] = "Activation"
    positional: ClassVar[tuple[str, ...]] = ("activation",)
    same_shape: ClassVar[bool] = True

    activation: Activation


class ZeroPadding2D(Layer):
    """Keras ``ZeroPadding2D``: zeros added above, below, left and right of a feature map."""

    aliases: ClassVar[tuple[str, ...]] = ("zeropad",)
    positional: ClassVar[tuple[str, ...]] = ("padding",)
    input_rank: ClassVar[int | None] = 3

    padding: Padding2D = ((1, 1), (1, 1))
    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        h, w, c = inputs[0]
        (top, bottom), (left, right) = self.padding
        return (h + top + bottom, w + left + right, c)


class UpSampling2D(Layer):
    """Keras ``UpSampling2D``: height and width multiplied by ``size`` (repeat or resize)."""

    aliases: ClassVar[tuple[str, ...]] = ("upsample",)
    positional: ClassVar[tuple[str, ...]] = ("size",)
    input_rank: ClassVar[int | None] = 3

    size: Pair = (2, 2)
    data_format: DataFormat = None
    interpolation: Interpolation = "nearest"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        h, w, c = inputs[0]
        return (h * self.size[0], w * self.size[1], c)


class Reshape(Layer):
    """Keras ``Reshape``: the same values in ``target_shape`` (one -1 inferred)."""

    positional: ClassVar[tuple[str, ...]] = ("target_shape",)

    target_shape: TargetShape

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.reshape_shape(inputs[0], self.target_shape)


class _Merge(Layer):
    """What merges share: several inputs of broadcastable shapes, combined elementwise."""

    merge: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.broadcast_shapes(inputs, self.kind)


class Add(_Merge):
    """Keras ``Add``: the sum of the inputs."""


class Subtract(_Merge):
    """Keras ``Subtract``: the first input minus the second (exactly two inputs)."""

    max_inputs: ClassVar[int | None] = 2


class Multiply(_Merge):
    """Keras ``Multiply``: the elementwise product of the inputs."""


class Average(_Merge):
    """Keras ``Average``: the elementwise mean of the inputs."""


class Maximum(_Merge):
    """Keras ``Maximum``: the elementwise largest of the inputs."""


class Minimum(_Merge):
    """Keras ``Minimum``: the elementwise smallest of the inputs."""


class Concatenate(_Merge):
    """Keras ``Concatenate``: the inputs joined along ``axis`` (batch axis counted as 0)."""

    axis: Axis = -1

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.concat_shape(inputs, self.axis)
