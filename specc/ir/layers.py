"""The table of layers: one small Pydantic class per Keras layer.

Each class holds Keras's parameters with Keras's defaults and knows three
things about itself: its output shape (through the pure rules of
:mod:`specc.ir.shapes`), its weights (names, shapes, initializers, as Keras
builds them) and its multiply-accumulates. Params are counted from the weights,
so the two can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from specc.ir import shapes as sh
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
    OptionalPair,
    Padding,
    Padding2D,
    Pair,
    PositiveInt,
    Regularizer,
    Seed,
    TargetShape,
)


@dataclass(frozen=True)
class Weight:
    """One weight array as Keras builds it: ``kernel`` of shape (kh, kw, in, out), ..."""

    name: str
    shape: Shape
    initializer: FnValue
    trainable: bool = True

    @property
    def size(self) -> int:
        """Number of scalars."""
        return math.prod(self.shape)


class Layer(BaseModel):
    """Base of every layer class; subclasses declare Keras's parameters as fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    keras_class: ClassVar[str]
    auto_name: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    bare_words: ClassVar[bool] = False
    merge: ClassVar[bool] = False
    input_rank: ClassVar[int | None] = None
    # Parameters Keras requires although specc gives them a default (always passed on).
    keras_required: ClassVar[tuple[str, ...]] = ()

    trainable: Bool = True

    def output_shape(self, inputs: list[Shape]) -> Shape:
        """The output shape for the given input shapes (batch axis left out).

        The default is Keras's for shape-preserving layers (dropout, activation);
        every other layer overrides it.
        """
        return inputs[0]

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        """The weights Keras creates when it builds this layer on ``inputs``."""
        return []

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        """Multiply-accumulates for one sample (only convolutions and dense count)."""
        return 0

    def check_input(self, inputs: list[Shape]) -> None:
        """Refuse inputs of the wrong rank before the shape rule runs."""
        if self.input_rank is not None:
            sh.require_rank(inputs[0], self.input_rank, self.kind)


def _bias(use_bias: bool, n: int, init: FnValue) -> list[Weight]:
    return [Weight("bias", (n,), init)] if use_bias else []


class _ConvBase(Layer):
    bare_words: ClassVar[bool] = True
    input_rank: ClassVar[int | None] = 3

    kernel_size: Pair
    strides: Pair = (1, 1)
    padding: Padding = "valid"
    data_format: DataFormat = None
    dilation_rate: Pair = (1, 1)
    activation: Activation = None
    use_bias: Bool = True
    bias_initializer: Initializer = FnValue("zeros")
    bias_regularizer: Regularizer = None
    activity_regularizer: Regularizer = None
    bias_constraint: Constraint = None

    def check_config(self) -> None:
        """Keras's constructor refusals (strides with dilation; Conv2D and Conv2DTranspose only)."""
        if self.kind in ("depthwiseconv2d", "separableconv2d"):
            return  # Keras 3 builds and runs these with strides and dilation together
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ShapeError(
                "E203",
                f"{self.kind} does not support strides > 1 with dilation_rate > 1, received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}",
                "use strides=1 with the dilation, or dilation_rate=1 with the strides",
            )

    def _spatial(self, shape: Shape) -> tuple[int, int]:
        self.check_config()
        return sh.conv_output_shape(
            (shape[0], shape[1]),
            self.kernel_size,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.kind,
        )

    def _window(self) -> int:
        return self.kernel_size[0] * self.kernel_size[1]


class Conv2D(_ConvBase):
    kind: ClassVar[str] = "conv2d"
    aliases: ClassVar[tuple[str, ...]] = ("conv",)
    keras_class: ClassVar[str] = "Conv2D"
    auto_name: ClassVar[str] = "conv2d"
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")

    filters: PositiveInt
    groups: PositiveInt = 1
    kernel_initializer: Initializer = FnValue("glorot_uniform")
    kernel_regularizer: Regularizer = None
    kernel_constraint: Constraint = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        channels = inputs[0][2]
        if self.filters % self.groups or channels % self.groups:
            raise ShapeError(
                "E202",
                f"conv2d groups={self.groups} must divide both the input channels "
                f"({channels}) and filters ({self.filters})",
                "choose groups among the common divisors of both",
            )
        return (*self._spatial(inputs[0]), self.filters)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        kernel = (*self.kernel_size, inputs[0][2] // self.groups, self.filters)
        return [
            Weight("kernel", kernel, self.kernel_initializer),
            *_bias(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return self._window() * (inputs[0][2] // self.groups) * math.prod(output)


class DepthwiseConv2D(_ConvBase):
    kind: ClassVar[str] = "depthwiseconv2d"
    aliases: ClassVar[tuple[str, ...]] = ("dwconv",)
    keras_class: ClassVar[str] = "DepthwiseConv2D"
    auto_name: ClassVar[str] = "depthwise_conv2d"
    positional: ClassVar[tuple[str, ...]] = ("kernel_size",)

    depth_multiplier: PositiveInt = 1
    depthwise_initializer: Initializer = FnValue("glorot_uniform")
    depthwise_regularizer: Regularizer = None
    depthwise_constraint: Constraint = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return (*self._spatial(inputs[0]), inputs[0][2] * self.depth_multiplier)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        channels = inputs[0][2]
        kernel = (*self.kernel_size, channels, self.depth_multiplier)
        return [
            Weight("kernel", kernel, self.depthwise_initializer),
            *_bias(self.use_bias, channels * self.depth_multiplier, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return self._window() * math.prod(output)


class SeparableConv2D(_ConvBase):
    kind: ClassVar[str] = "separableconv2d"
    aliases: ClassVar[tuple[str, ...]] = ("sepconv",)
    keras_class: ClassVar[str] = "SeparableConv2D"
    auto_name: ClassVar[str] = "separable_conv2d"
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")

    filters: PositiveInt
    depth_multiplier: PositiveInt = 1
    depthwise_initializer: Initializer = FnValue("glorot_uniform")
    pointwise_initializer: Initializer = FnValue("glorot_uniform")
    depthwise_regularizer: Regularizer = None
    pointwise_regularizer: Regularizer = None
    depthwise_constraint: Constraint = None
    pointwise_constraint: Constraint = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return (*self._spatial(inputs[0]), self.filters)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        channels = inputs[0][2]
        mid = channels * self.depth_multiplier
        return [
            Weight(
                "depthwise_kernel",
                (*self.kernel_size, channels, self.depth_multiplier),
                self.depthwise_initializer,
            ),
            Weight("pointwise_kernel", (1, 1, mid, self.filters), self.pointwise_initializer),
            *_bias(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        h, w, _ = output
        mid = inputs[0][2] * self.depth_multiplier
        return self._window() * h * w * mid + h * w * mid * self.filters


class Conv2DTranspose(_ConvBase):
    kind: ClassVar[str] = "conv2dtranspose"
    aliases: ClassVar[tuple[str, ...]] = ("convtranspose",)
    keras_class: ClassVar[str] = "Conv2DTranspose"
    auto_name: ClassVar[str] = "conv2d_transpose"
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")

    filters: PositiveInt
    output_padding: OptionalPair = None
    kernel_initializer: Initializer = FnValue("glorot_uniform")
    kernel_regularizer: Regularizer = None
    kernel_constraint: Constraint = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        self.check_config()
        if self.output_padding is not None:
            for op, s in zip(self.output_padding, self.strides, strict=True):
                if op >= s:
                    raise ShapeError(
                        "E107",
                        f"conv2dtranspose output_padding must be smaller than strides, "
                        f"received output_padding={self.output_padding} and "
                        f"strides={self.strides}",
                    )
        ops = self.output_padding or (None, None)
        hw = tuple(
            sh.conv_transpose_output_length(n, k, s, self.padding, op, d)
            for n, k, s, op, d in zip(
                inputs[0][:2], self.kernel_size, self.strides, ops, self.dilation_rate, strict=True
            )
        )
        if min(hw) <= 0:
            raise ShapeError(
                "E201",
                f"conv2dtranspose output would be empty ({sh.fmt_shape(hw)}) for the "
                f"{sh.fmt_shape(inputs[0][:2])} input",
            )
        return (*hw, self.filters)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        kernel = (*self.kernel_size, self.filters, inputs[0][2])
        return [
            Weight("kernel", kernel, self.kernel_initializer),
            *_bias(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        # Every input pixel is multiplied into a full kernel window of every filter.
        return self._window() * math.prod(inputs[0]) * self.filters


class _Pool(Layer):
    bare_words: ClassVar[bool] = True
    input_rank: ClassVar[int | None] = 3
    positional: ClassVar[tuple[str, ...]] = ("pool_size",)

    pool_size: Pair = (2, 2)
    strides: OptionalPair = None
    padding: Padding = "valid"
    data_format: DataFormat = None

    @property
    def effective_strides(self) -> tuple[int, int]:
        """Keras: strides default to pool_size."""
        return self.strides or self.pool_size

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if self.strides is not None and min(self.strides) < 1:
            raise ShapeError(
                "E107", f"{self.kind} strides must be positive, received {self.strides}"
            )
        h, w, c = inputs[0]
        hw = sh.pool_output_shape(
            (h, w), self.pool_size, self.effective_strides, self.padding, self.kind
        )
        return (*hw, c)


class MaxPooling2D(_Pool):
    kind: ClassVar[str] = "maxpooling2d"
    aliases: ClassVar[tuple[str, ...]] = ("maxpool",)
    keras_class: ClassVar[str] = "MaxPooling2D"
    auto_name: ClassVar[str] = "max_pooling2d"


class AveragePooling2D(_Pool):
    kind: ClassVar[str] = "averagepooling2d"
    aliases: ClassVar[tuple[str, ...]] = ("avgpool",)
    keras_class: ClassVar[str] = "AveragePooling2D"
    auto_name: ClassVar[str] = "average_pooling2d"
    keras_required: ClassVar[tuple[str, ...]] = ("pool_size",)  # no default in Keras


class _GlobalPool(Layer):
    input_rank: ClassVar[int | None] = 3

    data_format: DataFormat = None
    keepdims: Bool = False

    def output_shape(self, inputs: list[Shape]) -> Shape:
        c = inputs[0][2]
        return (1, 1, c) if self.keepdims else (c,)


class GlobalAveragePooling2D(_GlobalPool):
    kind: ClassVar[str] = "globalaveragepooling2d"
    aliases: ClassVar[tuple[str, ...]] = ("globalavgpool",)
    keras_class: ClassVar[str] = "GlobalAveragePooling2D"
    auto_name: ClassVar[str] = "global_average_pooling2d"


class GlobalMaxPooling2D(_GlobalPool):
    kind: ClassVar[str] = "globalmaxpooling2d"
    aliases: ClassVar[tuple[str, ...]] = ("globalmaxpool",)
    keras_class: ClassVar[str] = "GlobalMaxPooling2D"
    auto_name: ClassVar[str] = "global_max_pooling2d"


class Dense(Layer):
    kind: ClassVar[str] = "dense"
    keras_class: ClassVar[str] = "Dense"
    auto_name: ClassVar[str] = "dense"
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
            *_bias(self.use_bias, self.units, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return math.prod(inputs[0]) * self.units


class Flatten(Layer):
    kind: ClassVar[str] = "flatten"
    keras_class: ClassVar[str] = "Flatten"
    auto_name: ClassVar[str] = "flatten"

    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return (math.prod(inputs[0]),)


class Dropout(Layer):
    kind: ClassVar[str] = "dropout"
    keras_class: ClassVar[str] = "Dropout"
    auto_name: ClassVar[str] = "dropout"
    positional: ClassVar[tuple[str, ...]] = ("rate",)

    rate: Fraction
    noise_shape: NoiseShape = None
    seed: Seed = None


class BatchNormalization(Layer):
    kind: ClassVar[str] = "batchnormalization"
    aliases: ClassVar[tuple[str, ...]] = ("batchnorm", "bn")
    keras_class: ClassVar[str] = "BatchNormalization"
    auto_name: ClassVar[str] = "batch_normalization"

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
                "E107",
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
    kind: ClassVar[str] = "activation"
    keras_class: ClassVar[str] = "Activation"
    auto_name: ClassVar[str] = "activation"
    positional: ClassVar[tuple[str, ...]] = ("activation",)

    activation: Activation


class ZeroPadding2D(Layer):
    kind: ClassVar[str] = "zeropadding2d"
    aliases: ClassVar[tuple[str, ...]] = ("zeropad",)
    keras_class: ClassVar[str] = "ZeroPadding2D"
    auto_name: ClassVar[str] = "zero_padding2d"
    positional: ClassVar[tuple[str, ...]] = ("padding",)
    input_rank: ClassVar[int | None] = 3

    padding: Padding2D = ((1, 1), (1, 1))
    data_format: DataFormat = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        h, w, c = inputs[0]
        (top, bottom), (left, right) = self.padding
        return (h + top + bottom, w + left + right, c)


class UpSampling2D(Layer):
    kind: ClassVar[str] = "upsampling2d"
    aliases: ClassVar[tuple[str, ...]] = ("upsample",)
    keras_class: ClassVar[str] = "UpSampling2D"
    auto_name: ClassVar[str] = "up_sampling2d"
    positional: ClassVar[tuple[str, ...]] = ("size",)
    input_rank: ClassVar[int | None] = 3

    size: Pair = (2, 2)
    data_format: DataFormat = None
    interpolation: Interpolation = "nearest"

    def output_shape(self, inputs: list[Shape]) -> Shape:
        h, w, c = inputs[0]
        return (h * self.size[0], w * self.size[1], c)


class Reshape(Layer):
    kind: ClassVar[str] = "reshape"
    keras_class: ClassVar[str] = "Reshape"
    auto_name: ClassVar[str] = "reshape"
    positional: ClassVar[tuple[str, ...]] = ("target_shape",)

    target_shape: TargetShape

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.reshape_shape(inputs[0], self.target_shape)


class _Merge(Layer):
    merge: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.broadcast_shapes(inputs, self.kind)


class Add(_Merge):
    kind: ClassVar[str] = "add"
    keras_class: ClassVar[str] = "Add"
    auto_name: ClassVar[str] = "add"


class Subtract(_Merge):
    kind: ClassVar[str] = "subtract"
    keras_class: ClassVar[str] = "Subtract"
    auto_name: ClassVar[str] = "subtract"
    max_inputs: ClassVar[int | None] = 2


class Multiply(_Merge):
    kind: ClassVar[str] = "multiply"
    keras_class: ClassVar[str] = "Multiply"
    auto_name: ClassVar[str] = "multiply"


class Average(_Merge):
    kind: ClassVar[str] = "average"
    keras_class: ClassVar[str] = "Average"
    auto_name: ClassVar[str] = "average"


class Maximum(_Merge):
    kind: ClassVar[str] = "maximum"
    keras_class: ClassVar[str] = "Maximum"
    auto_name: ClassVar[str] = "maximum"


class Minimum(_Merge):
    kind: ClassVar[str] = "minimum"
    keras_class: ClassVar[str] = "Minimum"
    auto_name: ClassVar[str] = "minimum"


class Concatenate(_Merge):
    kind: ClassVar[str] = "concatenate"
    keras_class: ClassVar[str] = "Concatenate"
    auto_name: ClassVar[str] = "concatenate"

    axis: Axis = -1

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return sh.concat_shape(inputs, self.axis)


LAYER_CLASSES: tuple[type[Layer], ...] = (
    Conv2D,
    DepthwiseConv2D,
    SeparableConv2D,
    Conv2DTranspose,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Dense,
    Flatten,
    Dropout,
    BatchNormalization,
    ActivationLayer,
    ZeroPadding2D,
    UpSampling2D,
    Reshape,
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
)

# kind or alias (lowercase) -> class
REGISTRY: dict[str, type[Layer]] = {}
for _cls in LAYER_CLASSES:
    for _word in (_cls.kind, *_cls.aliases):
        REGISTRY[_word] = _cls

KINDS: tuple[str, ...] = tuple(cls.kind for cls in LAYER_CLASSES)


def lookup(word: str) -> type[Layer] | None:
    """The layer class for a kind or alias, case-insensitively."""
    return REGISTRY.get(word.lower())


def explicit_params(layer: Layer) -> dict[str, Any]:
    """The parameters Keras needs or whose value differs from Keras's default, in order."""
    out = {}
    for name, info in type(layer).model_fields.items():
        value = getattr(layer, name)
        if info.is_required() or name in layer.keras_required or value != info.default:
            out[name] = value
    return out
