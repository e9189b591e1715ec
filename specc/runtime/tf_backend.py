"""The TensorFlow backend: a model's plan as ``tf.nn`` operations inside one ``tf.function``.

No Keras model is built: each op kind has a method of the same name that
returns a function of TensorFlow tensors, calling the same ``tf.nn`` kernels
Keras 3's TensorFlow backend calls (so results agree to rounding); the op's
activation is applied after it. The graph is traced once for any batch size;
weights are constants on the chosen device.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from specc.codes import E605
from specc.diagnostics import Diagnostic, SpeccError
from specc.ir.graph import Model
from specc.lower import Op, lower
from specc.runtime.tf_extra import ExtraLayers

Tensor = Any
Fn = Callable[[list[Tensor]], Tensor]


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def tf_activation(tf: Any, x: Tensor, name: str | None) -> Tensor:
    """Keras 3's activation ``name`` with TensorFlow ops."""
    if name is None or name == "linear":
        return x
    table: dict[str, Callable[[Tensor], Tensor]] = {
        "relu": tf.nn.relu,
        "relu6": tf.nn.relu6,
        "sigmoid": tf.sigmoid,
        "softmax": lambda v: tf.nn.softmax(v, axis=-1),
        "log_softmax": lambda v: tf.nn.log_softmax(v, axis=-1),
        "tanh": tf.tanh,
        "elu": tf.nn.elu,
        "selu": tf.nn.selu,
        "gelu": lambda v: tf.nn.gelu(v, approximate=False),
        "silu": tf.nn.silu,
        "swish": tf.nn.silu,
        "leaky_relu": lambda v: tf.nn.leaky_relu(v, alpha=0.2),
        "hard_sigmoid": lambda v: tf.nn.relu6(v + 3.0) / 6.0,
        "hard_silu": lambda v: v * (tf.nn.relu6(v + 3.0) / 6.0),
        "hard_swish": lambda v: v * (tf.nn.relu6(v + 3.0) / 6.0),
        "softplus": tf.math.softplus,
        "softsign": tf.math.softsign,
        "mish": lambda v: v * tf.tanh(tf.math.softplus(v)),
        "exponential": tf.exp,
    }
    return table[name](x)


class TensorFlowBackend(ExtraLayers):
    """A traced ``tf.function`` of the whole model; call it with a float32 batch."""

    name = "tensorflow"

    def __init__(self, model: Model, weights: dict[str, np.ndarray], device: str = "cpu") -> None:
        try:
            tf = _tf()
        except ImportError as exc:
            raise SpeccError(
                Diagnostic(
                    E605,
                    f"the tensorflow backend needs TensorFlow: {exc}",
                    model.span,
                    "pip install 'specc[tensorflow]'",
                )
            ) from None
        if device == "gpu" and not tf.config.list_physical_devices("GPU"):
            raise SpeccError(
                Diagnostic(
                    E605,
                    "TensorFlow sees no GPU here",
                    model.span,
                    "install TensorFlow with CUDA (tensorflow[and-cuda]), or use --device cpu",
                )
            )
        self.tf, self.model = tf, model
        self.device_name = "/GPU:0" if device == "gpu" else "/CPU:0"
        plan = lower(model)
        with tf.device(self.device_name):
            steps = []
            for op in plan.ops:
                w = {
                    name: tf.constant(weights[key], dtype=tf.float32) for name, key in op.weights()
                }
                steps.append((op, getattr(self, op.kind)(op, w)))
        spec = tf.TensorSpec([None, *(model.input.output_shape or ())], tf.float32)

        @tf.function(input_signature=[spec], reduce_retracing=True)
        def forward(x: Tensor) -> Tensor:
            values = {0: x}
            for op, fn in steps:
                y = fn([values[i] for i in op.inputs])
                values[op.index] = tf_activation(tf, y, op.activation)
            return values[plan.output]

        self.forward = forward

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for the batch ``x``."""
        with self.tf.device(self.device_name):
            out = self.forward(self.tf.constant(x, dtype=self.tf.float32))
        return np.asarray(out.numpy(), dtype=np.float32)

    def synchronize(self) -> None:
        """``__call__`` returns host arrays: nothing is left queued."""

    # helpers ---------------------------------------------------------------

    def _biased(self, y: Tensor, bias: Tensor | None) -> Tensor:
        return y if bias is None else self.tf.nn.bias_add(y, bias)

    # convolutions ------------------------------------------------------------

    def conv2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.convolution``; groups run as one convolution per group, concatenated."""
        tf, layer = self.tf, op.layer
        kernel, bias = w["kernel"], w.get("bias")
        kernels = tf.split(kernel, layer.groups, axis=-1) if layer.groups > 1 else [kernel]

        def conv(x: Tensor, k: Tensor) -> Tensor:
            return tf.nn.convolution(
                x, k, layer.strides, layer.padding.upper(), dilations=layer.dilation_rate
            )

        def op_fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            if layer.groups == 1:
                y = conv(x, kernel)
            else:
                parts = tf.split(x, layer.groups, axis=-1)
                y = tf.concat([conv(p, k) for p, k in zip(parts, kernels, strict=True)], -1)
            return self._biased(y, bias)

        return op_fn

    def _depthwise(self, op: Op, x: Tensor, depthwise: Tensor, pointwise=None) -> Tensor:
        tf, layer, window = self.tf, op.layer, op.window
        assert window is not None
        (sh, sw), dil = window.strides, window.dilation
        if max(sh, sw) > 1 and max(dil) > 1:
            # TensorFlow refuses strides with dilation: dilated at stride 1, then
            # subsampled, as Keras 3 decomposes it.
            x = tf.pad(x, [[0, 0], list(window.pads[0]), list(window.pads[1]), [0, 0]])
            y = tf.nn.depthwise_conv2d(x, depthwise, (1, 1, 1, 1), "VALID", dilations=dil)
            y = y[:, ::sh, ::sw, :]
            if pointwise is not None:
                y = tf.nn.conv2d(y, pointwise, (1, 1, 1, 1), "VALID")
            return y
        strides = (1, sh, sw, 1)
        padding = layer.padding.upper()
        if pointwise is not None:
            return tf.nn.separable_conv2d(x, depthwise, pointwise, strides, padding, dilations=dil)
        return tf.nn.depthwise_conv2d(x, depthwise, strides, padding, dilations=dil)

    def depthwiseconv2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.depthwise_conv2d``."""
        kernel, bias = w["kernel"], w.get("bias")
        return lambda inputs: self._biased(self._depthwise(op, inputs[0], kernel), bias)

    def separableconv2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.separable_conv2d``."""
        dk, pk, bias = w["depthwise_kernel"], w["pointwise_kernel"], w.get("bias")
        return lambda inputs: self._biased(self._depthwise(op, inputs[0], dk, pk), bias)

    def conv2dtranspose(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.conv_transpose`` to the inferred output size."""
        tf, layer = self.tf, op.layer
        kernel, bias = w["kernel"], w.get("bias")
        ho, wo, f = op.output_shape

        def op_fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            shape = tf.stack([tf.shape(x)[0], ho, wo, f])
            y = tf.nn.conv_transpose(
                x,
                kernel,
                shape,
                layer.strides,
                padding=layer.padding.upper(),
                dilations=layer.dilation_rate,
            )
            return self._biased(y, bias)

        return op_fn

    def dense(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.matmul`` on the last axis."""
        tf = self.tf
        kernel, bias = w["kernel"], w.get("bias")
        shape = op.output_shape

        def op_fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            if len(shape) == 1:
                y = tf.matmul(x, kernel)
            else:
                flat = tf.reshape(x, [-1, x.shape[-1]])
                y = tf.reshape(tf.matmul(flat, kernel), [-1, *shape])
            return self._biased(y, bias)

        return op_fn

    # pooling -----------------------------------------------------------------

    def maxpooling2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.max_pool2d``."""
        layer, window = op.layer, op.window
        return lambda inputs: self.tf.nn.max_pool2d(
            inputs[0], window.kernel, window.strides, layer.padding.upper()
        )

    def averagepooling2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.avg_pool2d`` (padded cells not counted)."""
        layer, window = op.layer, op.window
        return lambda inputs: self.tf.nn.avg_pool2d(
            inputs[0], window.kernel, window.strides, layer.padding.upper()
        )

    def globalaveragepooling2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Mean over height and width."""
        keep = op.layer.keepdims
        return lambda inputs: self.tf.reduce_mean(inputs[0], axis=[1, 2], keepdims=keep)

    def globalmaxpooling2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Max over height and width."""
        keep = op.layer.keepdims
        return lambda inputs: self.tf.reduce_max(inputs[0], axis=[1, 2], keepdims=keep)

    # shape and elementwise layers ---------------------------------------------

    def flatten(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Row-major (NHWC) flattening."""
        size = int(np.prod(op.output_shape))
        return lambda inputs: self.tf.reshape(inputs[0], [-1, size])

    def reshape(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """To the inferred target shape."""
        shape = list(op.output_shape)
        return lambda inputs: self.tf.reshape(inputs[0], [-1, *shape])

    def dropout(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def activation(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """A Keras activation function (the op's activation, applied after every op)."""
        return lambda inputs: inputs[0]

    def batchnormalization(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.batch_normalization`` with the moving statistics."""
        tf, layer = self.tf, op.layer
        shape, axis = op.output_shape, op.axis
        rank = len(shape) + 1
        broadcast = [1] * rank
        broadcast[axis] = shape[axis - 1]

        def shaped(name: str) -> Tensor | None:
            return tf.reshape(w[name], broadcast) if name in w else None

        mean, var = shaped("moving_mean"), shaped("moving_variance")
        beta, gamma = shaped("beta"), shaped("gamma")
        eps = layer.epsilon
        return lambda inputs: tf.nn.batch_normalization(inputs[0], mean, var, beta, gamma, eps)

    def zeropadding2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.pad`` with zeros."""
        (t, b), (left, r) = op.layer.padding
        pads = [[0, 0], [t, b], [left, r], [0, 0]]
        return lambda inputs: self.tf.pad(inputs[0], pads)

    def upsampling2d(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.repeat`` for nearest, ``tf.image.resize`` otherwise (as Keras 3)."""
        tf, layer = self.tf, op.layer
        (fh, fw), (ho, wo) = layer.size, op.output_shape[:2]
        if layer.interpolation == "nearest":
            return lambda inputs: tf.repeat(tf.repeat(inputs[0], fh, axis=1), fw, axis=2)
        method = layer.interpolation
        return lambda inputs: tf.image.resize(inputs[0], (ho, wo), method=method)

    # merges --------------------------------------------------------------------

    def add(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Sum."""
        return lambda inputs: functools.reduce(self.tf.add, inputs)

    def subtract(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Difference."""
        return lambda inputs: self.tf.subtract(inputs[0], inputs[1])

    def multiply(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Product."""
        return lambda inputs: functools.reduce(self.tf.multiply, inputs)

    def average(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Sum over count."""
        return lambda inputs: functools.reduce(self.tf.add, inputs) / float(len(inputs))

    def maximum(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Elementwise maximum."""
        return lambda inputs: functools.reduce(self.tf.maximum, inputs)

    def minimum(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Elementwise minimum."""
        return lambda inputs: functools.reduce(self.tf.minimum, inputs)

    def concatenate(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.concat`` on ``axis`` (batch axis counted)."""
        return lambda inputs: self.tf.concat(inputs, axis=op.axis)
