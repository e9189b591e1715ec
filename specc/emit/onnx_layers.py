"""ONNX operators for each layer kind: one method per kind, named after it.

Every method takes the IR node, reads its inputs through ``self.get`` (in the
layout it needs) and returns ``(tensor name, layout)`` of its result, the
layer's activation applied. Keras's semantics are kept exactly: explicit
``pads`` for 'same' with the odd pixel at the end, pooling that ignores
padded cells, Keras's BatchNormalization epsilon, Keras's activation constants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from specc.diagnostics import error
from specc.ir.graph import Node
from specc.ir.shapes import same_padding, window_padding

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


def window_pads(
    hw: tuple[int, ...],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    dilation: tuple[int, int] = (1, 1),
) -> list[int]:
    """ONNX ``pads`` (top, left, bottom, right) of a 2-D window op."""
    (t, b), (lf, r) = window_padding((hw[0], hw[1]), kernel, strides, padding, dilation)
    return [t, lf, b, r]


class LayerOps:
    """Mixin of :class:`~specc.emit.onnx.OnnxEmitter`: the layer kinds."""

    # Provided by OnnxEmitter: model, opset, op, const, scalar, ints, weight, get,
    # primary, rank.
    model: Any
    opset: int

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

    def activation(self, node: Node) -> tuple[str, str]:
        x, layout = self.primary(node.inputs[0])
        return self.activate(x, node.layer.activation, layout), layout

    def dropout(self, node: Node) -> tuple[str, str]:
        x, layout = self.primary(node.inputs[0])
        return self.op("Identity", [x]), layout

    # -- convolutions ------------------------------------------------------------

    def _bias_inputs(self, use_bias: bool) -> list[str]:
        return [self.const("bias", self.weight("bias"))] if use_bias else []

    def _in_hw(self, node: Node) -> tuple[int, int]:
        shape = self.model.nodes[node.inputs[0]].output_shape
        return shape[0], shape[1]

    def _conv_attrs(self, node: Node) -> dict[str, Any]:
        layer = node.layer
        return {
            "kernel_shape": list(layer.kernel_size),
            "strides": list(layer.strides),
            "dilations": list(layer.dilation_rate),
            "pads": window_pads(
                self._in_hw(node),
                layer.kernel_size,
                layer.strides,
                layer.padding,
                layer.dilation_rate,
            ),
        }

    def conv2d(self, node: Node) -> tuple[str, str]:
        layer = node.layer
        x = self.get(node.inputs[0], NCHW)
        w = self.const("kernel", self.weight("kernel").transpose(3, 2, 0, 1))
        inputs = [x, w, *self._bias_inputs(layer.use_bias)]
        y = self.op("Conv", inputs, group=layer.groups, **self._conv_attrs(node))
        return self.activate(y, layer.activation, NCHW), NCHW

    def _depthwise(self, x: str, kernel: np.ndarray, suffix: str, node: Node, bias: list[str]):
        kh, kw, channels, mult = kernel.shape
        w = kernel.reshape(kh, kw, channels * mult).transpose(2, 0, 1)[:, None, :, :]
        inputs = [x, self.const(suffix, w), *bias]
        return self.op("Conv", inputs, group=channels, **self._conv_attrs(node))

    def depthwiseconv2d(self, node: Node) -> tuple[str, str]:
        layer = node.layer
        x = self.get(node.inputs[0], NCHW)
        bias = self._bias_inputs(layer.use_bias)
        y = self._depthwise(x, self.weight("kernel"), "kernel", node, bias)
        return self.activate(y, layer.activation, NCHW), NCHW

    def separableconv2d(self, node: Node) -> tuple[str, str]:
        layer = node.layer
        x = self.get(node.inputs[0], NCHW)
        mid = self._depthwise(x, self.weight("depthwise_kernel"), "depthwise_kernel", node, [])
        pointwise = self.weight("pointwise_kernel").transpose(3, 2, 0, 1)
        inputs = [mid, self.const("pointwise_kernel", pointwise)]
        y = self.op("Conv", [*inputs, *self._bias_inputs(layer.use_bias)], kernel_shape=[1, 1])
        return self.activate(y, layer.activation, NCHW), NCHW

    def conv2dtranspose(self, node: Node) -> tuple[str, str]:
        """Pads and output_padding chosen so the output has Keras's (specc's) size."""
        layer = node.layer
        x = self.get(node.inputs[0], NCHW)
        begin, end, extra = [], [], []
        for n, out, k, s, d in zip(
            self._in_hw(node),
            node.output_shape[:2],
            layer.kernel_size,
            layer.strides,
            layer.dilation_rate,
            strict=True,
        ):
            before = same_padding(out, k, s, d)[0] if layer.padding == "same" else 0
            after = s * (n - 1) + (k - 1) * d + 1 - before - out
            begin.append(before)
            end.append(max(after, 0))
            extra.append(max(-after, 0))
        w = self.const("kernel", self.weight("kernel").transpose(3, 2, 0, 1))
        y = self.op(
            "ConvTranspose",
            [x, w, *self._bias_inputs(layer.use_bias)],
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.strides),
            dilations=list(layer.dilation_rate),
            pads=begin + end,
            output_padding=extra,
        )
        return self.activate(y, layer.activation, NCHW), NCHW

    # -- pooling -----------------------------------------------------------------

    def _pool(self, node: Node, op_type: str, **extra: Any) -> tuple[str, str]:
        layer = node.layer
        strides = layer.effective_strides
        pads = window_pads(self._in_hw(node), layer.pool_size, strides, layer.padding)
        x = self.get(node.inputs[0], NCHW)
        kernel = list(layer.pool_size)
        y = self.op(op_type, [x], kernel_shape=kernel, strides=list(strides), pads=pads, **extra)
        return y, NCHW

    def maxpooling2d(self, node: Node) -> tuple[str, str]:
        return self._pool(node, "MaxPool")

    def averagepooling2d(self, node: Node) -> tuple[str, str]:
        return self._pool(node, "AveragePool", count_include_pad=0)

    def _global_pool(self, node: Node, op_type: str) -> tuple[str, str]:
        y = self.op(op_type, [self.get(node.inputs[0], NCHW)])
        if node.layer.keepdims:
            return y, NCHW
        return self.op("Flatten", [y], axis=1), KERAS

    def globalaveragepooling2d(self, node: Node) -> tuple[str, str]:
        return self._global_pool(node, "GlobalAveragePool")

    def globalmaxpooling2d(self, node: Node) -> tuple[str, str]:
        return self._global_pool(node, "GlobalMaxPool")

    # -- dense, normalization, reshaping -----------------------------------------

    def dense(self, node: Node) -> tuple[str, str]:
        """Gemm on vectors; MatMul (+ Add) per position on higher ranks, in Keras's layout."""
        layer = node.layer
        x = self.get(node.inputs[0], KERAS)
        w = self.const("kernel", self.weight("kernel"))
        bias = self._bias_inputs(layer.use_bias)
        if self.rank(node.inputs[0]) == 2:
            y = self.op("Gemm", [x, w, *bias])
        else:
            y = self.op("MatMul", [x, w])
            if bias:
                y = self.op("Add", [y, bias[0]])
        return self.activate(y, layer.activation, KERAS), KERAS

    def batchnormalization(self, node: Node) -> tuple[str, str]:
        """ONNX BatchNormalization where the normalized axis can be axis 1, else Mul/Add."""
        layer = node.layer
        rank = self.rank(node.inputs[0])
        axis = layer.axis % rank
        mean, var = self.weight("moving_mean"), self.weight("moving_variance")
        gamma = self.weight("gamma") if layer.scale else np.ones_like(mean)
        beta = self.weight("beta") if layer.center else np.zeros_like(mean)
        if (rank == 4 and axis == 3) or axis == 1:
            layout = NCHW if rank == 4 and axis == 3 else KERAS
            x = self.get(node.inputs[0], layout)
            stats = [("gamma", gamma), ("beta", beta), ("moving_mean", mean)]
            inputs = [self.const(n, a) for n, a in stats]
            inputs.append(self.const("moving_variance", var))
            return self.op("BatchNormalization", [x, *inputs], epsilon=layer.epsilon), layout
        # Keras (TensorFlow): x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
        inv = (gamma / np.sqrt(var + np.float32(layer.epsilon))).astype(np.float32)
        shift = (beta - mean * inv).astype(np.float32)
        shape = [len(mean) if i == axis else 1 for i in range(1, rank)]
        x = self.get(node.inputs[0], KERAS)
        y = self.op("Mul", [x, self.const("inv", inv.reshape(shape))])
        return self.op("Add", [y, self.const("shift", shift.reshape(shape))]), KERAS

    def flatten(self, node: Node) -> tuple[str, str]:
        return self.op("Flatten", [self.get(node.inputs[0], KERAS)], axis=1), KERAS

    def reshape(self, node: Node) -> tuple[str, str]:
        shape = self.ints("shape", [0, *node.output_shape])
        return self.op("Reshape", [self.get(node.inputs[0], KERAS), shape]), KERAS

    def zeropadding2d(self, node: Node) -> tuple[str, str]:
        (top, bottom), (left, right) = node.layer.padding
        x = self.get(node.inputs[0], NCHW)
        inputs = [x, self.ints("pads", [0, 0, top, left, 0, 0, bottom, right])]
        if self._feeds_pool(node.index):
            # onnxruntime's PadFusion folds a zero Pad into a following pool's
            # pads, where max pooling ignores them (wrong) and average pooling
            # may refuse them; it skips a constant that is not all zero bytes.
            # -0.0 == 0.0, so the values are Keras's.
            inputs.append(self.scalar("negative_zero", -0.0))
        return self.op("Pad", inputs, mode="constant"), NCHW

    def _feeds_pool(self, index: int) -> bool:
        """True when a pool takes ``index``'s output, directly or through identities."""
        for i in self.model.consumers()[index]:
            consumer = self.model.nodes[i]
            if consumer.kind in ("maxpooling2d", "averagepooling2d"):
                return True
            passes = consumer.kind == "dropout" or (
                consumer.kind == "activation" and consumer.layer.activation in (None, "linear")
            )
            if passes and self._feeds_pool(i):
                return True
        return False

    def upsampling2d(self, node: Node) -> tuple[str, str]:
        """Resize as Keras 3 does it: repeat for nearest, half-pixel for the others."""
        layer = node.layer
        sh, sw = layer.size
        scales = self.const("scales", np.array([1, 1, sh, sw], dtype=np.float32))
        x = self.get(node.inputs[0], NCHW)
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
                "E607",
                f"ONNX Resize has no '{layer.interpolation}' interpolation",
                node.span_of("interpolation"),
                "use interpolation=nearest, bilinear or bicubic for an ONNX target",
            )
        return self.op("Resize", [x, "", scales], antialias=0, **attrs), NCHW

    # -- merges ------------------------------------------------------------------

    def _merge_inputs(self, node: Node) -> tuple[list[str], str]:
        """Inputs in one layout; lower ranks expanded at axis 1 as Keras's Merge does."""
        ranks = [self.rank(i) for i in node.inputs]
        if all(r == 4 for r in ranks):
            return [self.get(i, NCHW) for i in node.inputs], NCHW
        top = max(ranks)
        names = []
        for i, r in zip(node.inputs, ranks, strict=True):
            x = self.get(i, KERAS)
            if r < top:
                x = self.op("Unsqueeze", [x, self.ints("axes", list(range(1, 1 + top - r)))])
            names.append(x)
        return names, KERAS

    def _chain(self, node: Node, op_type: str) -> tuple[str, str]:
        names, layout = self._merge_inputs(node)
        y = names[0]
        for other in names[1:]:
            y = self.op(op_type, [y, other])
        return y, layout

    def add(self, node: Node) -> tuple[str, str]:
        return self._chain(node, "Add")

    def subtract(self, node: Node) -> tuple[str, str]:
        return self._chain(node, "Sub")

    def multiply(self, node: Node) -> tuple[str, str]:
        return self._chain(node, "Mul")

    def average(self, node: Node) -> tuple[str, str]:
        y, layout = self._chain(node, "Add")
        return self.op("Div", [y, self.scalar("count", float(len(node.inputs)))]), layout

    def maximum(self, node: Node) -> tuple[str, str]:
        names, layout = self._merge_inputs(node)
        return self.op("Max", names), layout

    def minimum(self, node: Node) -> tuple[str, str]:
        names, layout = self._merge_inputs(node)
        return self.op("Min", names), layout

    def concatenate(self, node: Node) -> tuple[str, str]:
        names, layout = self._merge_inputs(node)
        rank = self.rank(node.inputs[0])
        axis = node.layer.axis % rank
        if layout == NCHW:
            axis = [0, 2, 3, 1][axis]
        return self.op("Concat", names, axis=axis), layout
