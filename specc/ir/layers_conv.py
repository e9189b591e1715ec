"""Convolution and pooling layers: Conv2D and its relatives, local and global pools."""

import math
from typing import ClassVar

from specc.codes import E107, E201, E202, E203
from specc.ir import shapes as sh
from specc.ir.layer_base import Layer, Weight, Window, bias_weight
from specc.ir.shapes import Shape, ShapeError
from specc.ir.values import (
    Activation,
    Bool,
    Constraint,
    DataFormat,
    FnValue,
    Initializer,
    OptionalPair,
    Padding,
    Pair,
    PositiveInt,
    Regularizer,
)


class _ConvBase(Layer):
    """What convolutions share: a kernel window, strides, padding, dilation, bias, activation."""

    bare_words: ClassVar[bool] = True
    input_rank: ClassVar[int | None] = 3
    # Keras 3 builds and runs depthwise and separable convolutions with strides and
    # dilation together; Conv2D and Conv2DTranspose refuse the pair in their constructor.
    strides_with_dilation: ClassVar[bool] = False

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
        """Keras refuses strides > 1 with dilation > 1, unless the class allows the pair."""
        if self.strides_with_dilation:
            return
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ShapeError(
                E203,
                f"{self.kind} does not support strides > 1 with dilation_rate > 1, received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}",
                "use strides=1 with the dilation, or dilation_rate=1 with the strides",
            )

    def window(self) -> Window:
        """The kernel window: (kernel_size, strides, dilation_rate, padding)."""
        return self.kernel_size, self.strides, self.dilation_rate, self.padding

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
    """Keras ``Conv2D``: ``filters`` kernels of ``kernel_size`` over all (or grouped) channels."""

    aliases: ClassVar[tuple[str, ...]] = ("conv",)
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
                E202,
                f"conv2d groups={self.groups} must divide both the input channels "
                f"({channels}) and filters ({self.filters})",
                "choose groups among the common divisors of both",
            )
        return (*self._spatial(inputs[0]), self.filters)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        kernel = (*self.kernel_size, inputs[0][2] // self.groups, self.filters)
        return [
            Weight("kernel", kernel, self.kernel_initializer),
            *bias_weight(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return self._window() * (inputs[0][2] // self.groups) * math.prod(output)


class DepthwiseConv2D(_ConvBase):
    """Keras ``DepthwiseConv2D``: one kernel per input channel (``depth_multiplier`` of them)."""

    aliases: ClassVar[tuple[str, ...]] = ("dwconv",)
    positional: ClassVar[tuple[str, ...]] = ("kernel_size",)
    strides_with_dilation: ClassVar[bool] = True

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
            *bias_weight(self.use_bias, channels * self.depth_multiplier, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        return self._window() * math.prod(output)


class SeparableConv2D(_ConvBase):
    """Keras ``SeparableConv2D``: a depthwise convolution, then a 1x1 one to ``filters``."""

    aliases: ClassVar[tuple[str, ...]] = ("sepconv",)
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")
    strides_with_dilation: ClassVar[bool] = True

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
            *bias_weight(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        h, w, _ = output
        mid = inputs[0][2] * self.depth_multiplier
        return self._window() * h * w * mid + h * w * mid * self.filters


class Conv2DTranspose(_ConvBase):
    """Keras ``Conv2DTranspose``: the gradient of a convolution, an upsampling with weights."""

    aliases: ClassVar[tuple[str, ...]] = ("convtranspose",)
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel_size")
    transposed: ClassVar[bool] = True

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
                        E107,
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
                E201,
                f"conv2dtranspose output would be empty ({sh.fmt_shape(hw)}) for the "
                f"{sh.fmt_shape(inputs[0][:2])} input",
            )
        return (*hw, self.filters)

    def weights(self, inputs: list[Shape]) -> list[Weight]:
        kernel = (*self.kernel_size, self.filters, inputs[0][2])
        return [
            Weight("kernel", kernel, self.kernel_initializer),
            *bias_weight(self.use_bias, self.filters, self.bias_initializer),
        ]

    def macs(self, inputs: list[Shape], output: Shape) -> int:
        # Every input pixel is multiplied into a full kernel window of every filter.
        return self._window() * math.prod(inputs[0]) * self.filters


class _Pool(Layer):
    """What local poolings share: a window, strides (pool_size by default) and padding."""

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

    def window(self) -> Window:
        """The pooling window: (pool_size, effective strides, no dilation, padding)."""
        return self.pool_size, self.effective_strides, (1, 1), self.padding

    def output_shape(self, inputs: list[Shape]) -> Shape:
        if self.strides is not None and min(self.strides) < 1:
            raise ShapeError(E107, f"{self.kind} strides must be positive, received {self.strides}")
        h, w, c = inputs[0]
        hw = sh.pool_output_shape(
            (h, w), self.pool_size, self.effective_strides, self.padding, self.kind
        )
        return (*hw, c)


class MaxPooling2D(_Pool):
    """Keras ``MaxPooling2D``: the largest value of each window (padded cells never win)."""

    aliases: ClassVar[tuple[str, ...]] = ("maxpool",)


class AveragePooling2D(_Pool):
    """Keras ``AveragePooling2D``: the mean of each window's real (unpadded) cells."""

    aliases: ClassVar[tuple[str, ...]] = ("avgpool",)
    keras_required: ClassVar[tuple[str, ...]] = ("pool_size",)  # no default in Keras


class _GlobalPool(Layer):
    """What global poolings share: one value per channel, optionally kept as 1x1."""

    input_rank: ClassVar[int | None] = 3

    data_format: DataFormat = None
    keepdims: Bool = False

    def output_shape(self, inputs: list[Shape]) -> Shape:
        c = inputs[0][2]
        return (1, 1, c) if self.keepdims else (c,)


class GlobalAveragePooling2D(_GlobalPool):
    """Keras ``GlobalAveragePooling2D``: the mean of each channel over height and width."""

    aliases: ClassVar[tuple[str, ...]] = ("globalavgpool",)


class GlobalMaxPooling2D(_GlobalPool):
    """Keras ``GlobalMaxPooling2D``: the largest value of each channel."""

    aliases: ClassVar[tuple[str, ...]] = ("globalmaxpool",)
