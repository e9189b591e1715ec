"""ONNX operators for each layer kind: one method per kind, named after it.

Every method takes the plan's :class:`~specc.lower.Op`, reads its inputs
through ``self.get`` (in the layout it needs) and returns ``(tensor name,
layout)`` of its result; the emitter then applies the op's activation
(:meth:`LayerOps.activate`). Keras's semantics are kept exactly: the explicit
``pads`` the plan resolved ('same' with the odd pixel at the end), pooling that
ignores padded cells, Keras's BatchNormalization epsilon, Keras's activation
constants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from specc.codes import E607
from specc.diagnostics import error
from specc.lower import Op, Window

KERAS, NCHW = "keras", "nchw"

# Keras's SELU constants (keras/src/activations/activations.py).
SELU_ALPHA = 1.67326324235437728481704299
SELU_SCALE = 1.05070098735548049341933498

_SIMPLE = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "exponential": "Exp",
    "mish": "Mish",
    "hard_silu": "HardSwish",
    "hard_swish": "HardSwish",
}


class LayerOps:
    """Mixin of :class:`~specc.emit.onnx.OnnxEmitter`: the layer kinds."""

    # Provided by OnnxEmitter: model, opset, ops, consumers, op, const, scalar, ints,
    # weight, get, primary, rank.
    model: Any
    opset: int
    ops: dict[int, Op]
    consumers: dict[int, list[int]]

    # -- activations -------------------------------------------------------------

    def activate(self, x: str, activation: str | None, layout: str) -> str:
        """``activation`` (a Keras name) applied to ``x``; softmax over the channel axis."""
        if activation in (None, "linear"):
            return x
        if activation in _SIMPLE:
            return self.op(_SIMPLE[activation], [x])
        axis = 1 if layout == NCHW else -1
        if activation == "softmax":
            return self.op("Softmax", [x], axis=axis)
        if activation == "log_softmax":
            return self.op("LogSoftmax", [x], axis=axis)
        if activation == "relu6":
            return self.op("Clip", [x, self.scalar("zero", 0.0), self.scalar("six", 6.0)])
        if activation == "leaky_relu":
            return self.op("LeakyRelu", [x], alpha=0.2)
        if activation == "elu":
            return self.op("Elu", [x], alpha=1.0)
        if activation == "selu":
            return self.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
        if activation == "hard_sigmoid":
            return self.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        if activation in ("silu", "swish"):
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        if activation == "gelu":
            if self.opset >= 20:
                return self.op("Gelu", [x], approximate="none")
            scaled = self.op("Div", [x, self.scalar("sqrt2", math.sqrt(2.0))])
            erf = self.op("Add", [self.op("Erf", [scaled]), self.scalar("one", 1.0)])
            return self.op("Mul", [self.op("Mul", [x, erf]), self.scalar("half", 0.5)])
        raise ValueError(f"activation '{activation}' has no ONNX form")

    def activation(self, op: Op) -> tuple[str, str]:
        """The input as it is: the emitter applies the op's activation to it."""
        return self.primary(op.inputs[0])

    def dropout(self, op: Op) -> tuple[str, str]:
        x, layout = self.primary(op.inputs[0])
        return self.op("Identity", [x]), layout

    # -- convolutions ------------------------------------------------------------

    def _bias_inputs(self, use_bias: bool) -> list[str]:
        return [self.const("bias", self.weight("bias"))] if use_bias else []

    @staticmethod
    def _window_attrs(window: Window | None) -> dict[str, Any]:
        """Kernel shape, strides, dilations and pads [top, left, bottom, right] of a window op."""
        assert window is not None
        return {
            "kernel_shape": list(window.kernel),
            "strides": list(window.strides),
            "dilations": list(window.dilation),
            "pads": window.onnx_pads,
        }

    def conv2d(self, op: Op) -> tuple[str, str]:
        layer = op.layer
        x = self.get(op.inputs[0], NCHW)
        w = self.const("kernel", self.weight("kernel").transpose(3, 2, 0, 1))
        inputs = [x, w, *self._bias_inputs(layer.use_bias)]
        return self.op("Conv", inputs, group=layer.groups, **self._window_attrs(op.window)), NCHW

    def _depthwise(self, x: str, kernel: np.ndarray, suffix: str, op: Op, bias: list[str]):
        kh, kw, channels, mult = kernel.shape
        w = kernel.reshape(kh, kw, channels * mult).transpose(2, 0, 1)[:, None, :, :]
        inputs = [x, self.const(suffix, w), *bias]
        return self.op("Conv", inputs, group=channels, **self._window_attrs(op.window))

    def depthwiseconv2d(self, op: Op) -> tuple[str, str]:
        x = self.get(op.inputs[0], NCHW)
        bias = self._bias_inputs(op.layer.use_bias)
        return self._depthwise(x, self.weight("kernel"), "kernel", op, bias), NCHW

    def separableconv2d(self, op: Op) -> tuple[str, str]:
        x = self.get(op.inputs[0], NCHW)
        mid = self._depthwise(x, self.weight("depthwise_kernel"), "depthwise_kernel", op, [])
        pointwise = self.weight("pointwise_kernel").transpose(3, 2, 0, 1)
        inputs = [mid, self.const("pointwise_kernel", pointwise)]
        bias = self._bias_inputs(op.layer.use_bias)
        return self.op("Conv", [*inputs, *bias], kernel_shape=[1, 1]), NCHW

    def conv2dtranspose(self, op: Op) -> tuple[str, str]:
        """The plan's crop as ``pads`` and its output padding, so the output has Keras's size."""
        assert op.window is not None
        x = self.get(op.inputs[0], NCHW)
        w = self.const("kernel", self.weight("kernel").transpose(3, 2, 0, 1))
        y = self.op(
            "ConvTranspose",
            [x, w, *self._bias_inputs(op.layer.use_bias)],
            output_padding=list(op.window.output_padding),
            **self._window_attrs(op.window),
        )
        return y, NCHW

    # -- pooling -----------------------------------------------------------------

    def _pool(self, op: Op, op_type: str, **extra: Any) -> tuple[str, str]:
        attrs = self._window_attrs(op.window)
        del attrs["dilations"]  # (1, 1), and an attribute AveragePool lacks before opset 19
        x = self.get(op.inputs[0], NCHW)
        return self.op(op_type, [x], **attrs, **extra), NCHW

    def maxpooling2d(self, op: Op) -> tuple[str, str]:
        return self._pool(op, "MaxPool")

    def averagepooling2d(self, op: Op) -> tuple[str, str]:
        return self._pool(op, "AveragePool", count_include_pad=0)

    def _global_pool(self, op: Op, op_type: str) -> tuple[str, str]:
        y = self.op(op_type, [self.get(op.inputs[0], NCHW)])
        if op.layer.keepdims:
            return y, NCHW
        return self.op("Flatten", [y], axis=1), KERAS

    def globalaveragepooling2d(self, op: Op) -> tuple[str, str]:
        return self._global_pool(op, "GlobalAveragePool")

    def globalmaxpooling2d(self, op: Op) -> tuple[str, str]:
        return self._global_pool(op, "GlobalMaxPool")

    # -- dense, normalization, reshaping -----------------------------------------

    def dense(self, op: Op) -> tuple[str, str]:
        """Gemm on vectors; MatMul (+ Add) per position on higher ranks, in Keras's layout."""
        x = self.get(op.inputs[0], KERAS)
        w = self.const("kernel", self.weight("kernel"))
        bias = self._bias_inputs(op.layer.use_bias)
        if len(op.input_shapes[0]) == 1:
            y = self.op("Gemm", [x, w, *bias])
        else:
            y = self.op("MatMul", [x, w])
            if bias:
                y = self.op("Add", [y, bias[0]])
        return y, KERAS

    def batchnormalization(self, op: Op) -> tuple[str, str]:
        """ONNX BatchNormalization where the normalized axis can be axis 1, else Mul/Add."""
        layer, axis = op.layer, op.axis
        rank = len(op.input_shapes[0]) + 1
        mean, var = self.weight("moving_mean"), self.weight("moving_variance")
        gamma = self.weight("gamma") if layer.scale else np.ones_like(mean)
        beta = self.weight("beta") if layer.center else np.zeros_like(mean)
        if (rank == 4 and axis == 3) or axis == 1:
            layout = NCHW if rank == 4 and axis == 3 else KERAS
            x = self.get(op.inputs[0], layout)
            stats = [("gamma", gamma), ("beta", beta), ("moving_mean", mean)]
            inputs = [self.const(n, a) for n, a in stats]
            inputs.append(self.const("moving_variance", var))
            return self.op("BatchNormalization", [x, *inputs], epsilon=layer.epsilon), layout
        # Keras (TensorFlow): x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
        inv = (gamma / np.sqrt(var + np.float32(layer.epsilon))).astype(np.float32)
        shift = (beta - mean * inv).astype(np.float32)
        shape = [len(mean) if i == axis else 1 for i in range(1, rank)]
        x = self.get(op.inputs[0], KERAS)
        y = self.op("Mul", [x, self.const("inv", inv.reshape(shape))])
        return self.op("Add", [y, self.const("shift", shift.reshape(shape))]), KERAS

    def flatten(self, op: Op) -> tuple[str, str]:
        return self.op("Flatten", [self.get(op.inputs[0], KERAS)], axis=1), KERAS

    def reshape(self, op: Op) -> tuple[str, str]:
        shape = self.ints("shape", [0, *op.output_shape])
        return self.op("Reshape", [self.get(op.inputs[0], KERAS), shape]), KERAS

    def zeropadding2d(self, op: Op) -> tuple[str, str]:
        (top, bottom), (left, right) = op.layer.padding
        x = self.get(op.inputs[0], NCHW)
        inputs = [x, self.ints("pads", [0, 0, top, left, 0, 0, bottom, right])]
        if self._feeds_pool(op.index):
            # onnxruntime's PadFusion folds a zero Pad into a following pool's
            # pads, where max pooling ignores them (wrong) and average pooling
            # may refuse them; it skips a constant that is not all zero bytes.
            # -0.0 == 0.0, so the values are Keras's.
            inputs.append(self.scalar("negative_zero", -0.0))
        return self.op("Pad", inputs, mode="constant"), NCHW

    def _feeds_pool(self, index: int) -> bool:
        """True when a pool takes ``index``'s output, directly or through identities."""
        for i in self.consumers[index]:
            consumer = self.ops[i]
            if consumer.kind in ("maxpooling2d", "averagepooling2d"):
                return True
            passes = consumer.kind == "dropout" or (
                consumer.kind == "activation" and consumer.activation in (None, "linear")
            )
            if passes and self._feeds_pool(i):
                return True
        return False

    def upsampling2d(self, op: Op) -> tuple[str, str]:
        """Resize as Keras 3 does it: repeat for nearest, half-pixel for the others."""
        layer = op.layer
        sh, sw = layer.size
        scales = self.const("scales", np.array([1, 1, sh, sw], dtype=np.float32))
        x = self.get(op.inputs[0], NCHW)
        if layer.interpolation == "nearest":
            attrs = {
                "mode": "nearest",
                "coordinate_transformation_mode": "asymmetric",
                "nearest_mode": "floor",
            }
        elif layer.interpolation == "bilinear":
            attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
        elif layer.interpolation == "bicubic":
            attrs = {
                "mode": "cubic",
                "coordinate_transformation_mode": "half_pixel",
                "cubic_coeff_a": -0.5,
                "exclude_outside": 1,
            }
        else:
            raise error(
                E607,
                f"ONNX Resize has no '{layer.interpolation}' interpolation",
                op.node.span_of("interpolation"),
                "use interpolation=nearest, bilinear or bicubic for an ONNX target",
            )
        return self.op("Resize", [x, "", scales], antialias=0, **attrs), NCHW

    # -- merges ------------------------------------------------------------------

    def _merge_inputs(self, op: Op) -> tuple[list[str], str]:
        """Inputs in one layout; lower ranks expanded at axis 1 as Keras's Merge does."""
        ranks = [self.rank(i) for i in op.inputs]
        if all(r == 4 for r in ranks):
            return [self.get(i, NCHW) for i in op.inputs], NCHW
        top = max(ranks)
        names = []
        for i, r in zip(op.inputs, ranks, strict=True):
            x = self.get(i, KERAS)
            if r < top:
                x = self.op("Unsqueeze", [x, self.ints("axes", list(range(1, 1 + top - r)))])
            names.append(x)
        return names, KERAS

    def _chain(self, op: Op, op_type: str) -> tuple[str, str]:
        names, layout = self._merge_inputs(op)
        y = names[0]
        for other in names[1:]:
            y = self.op(op_type, [y, other])
        return y, layout

    def add(self, op: Op) -> tuple[str, str]:
        return self._chain(op, "Add")

    def subtract(self, op: Op) -> tuple[str, str]:
        return self._chain(op, "Sub")

    def multiply(self, op: Op) -> tuple[str, str]:
        return self._chain(op, "Mul")

    def average(self, op: Op) -> tuple[str, str]:
        y, layout = self._chain(op, "Add")
        return self.op("Div", [y, self.scalar("count", float(len(op.inputs)))]), layout

    def maximum(self, op: Op) -> tuple[str, str]:
        names, layout = self._merge_inputs(op)
        return self.op("Max", names), layout

    def minimum(self, op: Op) -> tuple[str, str]:
        names, layout = self._merge_inputs(op)
        return self.op("Min", names), layout

    def concatenate(self, op: Op) -> tuple[str, str]:
        names, layout = self._merge_inputs(op)
        axis = op.axis
        if layout == NCHW:
            axis = [0, 2, 3, 1][axis]
        return self.op("Concat", names, axis=axis), layout
