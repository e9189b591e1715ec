"""The TensorFlow backend's activation, normalization and reshaping layers (a mixin).

Each method, named after its kind, returns a function of TensorFlow tensors
built from the ops Keras 3's TensorFlow backend calls for that layer
(``tf.nn.moments``, ``tf.math.rsqrt``, ``tf.image.resize``, ...), as in
:class:`specc.runtime.tf_backend.TensorFlowBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specc.ir import shapes as sh
from specc.lower import Op
from specc.runtime.numpy_extra import SlicingLayers

Tensor = Any
Fn = Callable[[list[Tensor]], Tensor]


class ExtraLayers(SlicingLayers):
    """Mixin of ``TensorFlowBackend``: the kinds of :mod:`specc.ir.layers_activation`,
    :mod:`~specc.ir.layers_norm` and :mod:`~specc.ir.layers_reshape`."""

    tf: Any

    # -- activations -----------------------------------------------------------------

    def relu_layer(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``keras.activations.relu``'s static call, op for op."""
        tf, layer = self.tf, op.layer
        slope, top, threshold = layer.negative_slope, layer.max_value, layer.threshold

        def fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            if slope != 0 and top is None and threshold == 0:
                return tf.nn.leaky_relu(x, alpha=slope)
            negative = None
            if slope != 0:
                negative = tf.nn.relu(-x + threshold) if threshold != 0 else tf.nn.relu(-x)
            clip = top is not None
            if threshold != 0:
                y = tf.where(tf.greater(x, threshold), x, tf.zeros_like(x))
            elif top == 6:
                y, clip = tf.nn.relu6(x), False
            else:
                y = tf.nn.relu(x)
            if clip:
                y = tf.clip_by_value(y, 0.0, top)
            if negative is not None:
                y = y - slope * negative
            return y

        return fn

    def leakyrelu(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.leaky_relu``."""
        slope = op.layer.negative_slope
        return lambda inputs: self.tf.nn.leaky_relu(inputs[0], alpha=slope)

    def prelu(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``relu(x) + -alpha * relu(-x)``."""
        tf, alpha = self.tf, w["alpha"]
        return lambda inputs: tf.nn.relu(inputs[0]) + -alpha * tf.nn.relu(-inputs[0])

    def elu_layer(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.elu``, its negative part times ``alpha``."""
        tf, alpha = self.tf, op.layer.alpha

        def fn(inputs: list[Tensor]) -> Tensor:
            y = tf.nn.elu(inputs[0])
            return y if alpha == 1 else tf.where(inputs[0] > 0, y, alpha * y)

        return fn

    def softmax_layer(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.softmax`` on one axis, ``exp(x - logsumexp(x))`` on several."""
        tf = self.tf
        axes = sh.normalized_axes(self._input_shape(op), op.layer.axis, op.kind)
        if len(axes) == 1:
            return lambda inputs: tf.nn.softmax(inputs[0], axis=axes[0])
        axes_list = list(axes)
        return lambda inputs: tf.exp(
            inputs[0] - tf.math.reduce_logsumexp(inputs[0], axis=axes_list, keepdims=True)
        )

    # -- scaling and normalization -------------------------------------------------

    def rescaling(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``x * scale + offset``."""
        scale, offset = (self.tf.constant(a) for a in op.layer.constants(self._input_shape(op)))
        return lambda inputs: inputs[0] * scale + offset

    def normalization(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``(x - mean) / maximum(sqrt(variance), epsilon)``, or ``mean + x * ...`` inverted."""
        arrays = {key: value.numpy() for key, value in w.items()}
        folded = op.layer.folded(self._input_shape(op), arrays)
        mean, denominator = (self.tf.constant(a) for a in folded)
        if op.layer.invert:
            return lambda inputs: mean + inputs[0] * denominator
        return lambda inputs: (inputs[0] - mean) / denominator

    def _normalize(self, x: Tensor, axes: list[int], eps: float, gamma, beta) -> Tensor:
        tf = self.tf
        mean, variance = tf.nn.moments(x, axes, keepdims=True)
        inv = tf.math.rsqrt(variance + eps)
        if gamma is not None:
            inv = inv * gamma
        res = -mean * inv
        if beta is not None:
            res = res + beta
        return x * inv + res

    def layernormalization(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``ops.layer_normalization``: moments over ``axis``, then scale and shift."""
        tf, layer = self.tf, op.layer
        axes, broadcast = layer.reduction(self._input_shape(op))
        gamma = tf.reshape(w["gamma"], broadcast) if "gamma" in w else None
        beta = tf.reshape(w["beta"], broadcast) if "beta" in w else None
        return lambda inputs: self._normalize(inputs[0], list(axes), layer.epsilon, gamma, beta)

    def groupnormalization(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Keras's ``GroupNormalization.call``: reshape into groups, normalize, reshape back."""
        tf, layer, shape = self.tf, op.layer, self._input_shape(op)
        grouped, reduce, broadcast = layer.grouping(shape)
        gamma = tf.reshape(w["gamma"], broadcast) if "gamma" in w else None
        beta = tf.reshape(w["beta"], broadcast) if "beta" in w else None

        def fn(inputs: list[Tensor]) -> Tensor:
            x = tf.reshape(inputs[0], [-1, *grouped])
            y = self._normalize(x, list(reduce), layer.epsilon, gamma, beta)
            return tf.reshape(y, [-1, *shape])

        return fn

    def unitnormalization(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``ops.normalize(order=2, epsilon=1e-12)``: ``x * minimum(rsqrt(sum(x**2)), 1e12)``."""
        tf = self.tf
        axes = list(sh.normalized_axes(self._input_shape(op), op.layer.axis, op.kind))

        def fn(inputs: list[Tensor]) -> Tensor:
            total = tf.reduce_sum(tf.square(inputs[0]), axis=axes, keepdims=True)
            return inputs[0] * tf.minimum(tf.math.rsqrt(total), 1.0 / 1e-12)

        return fn

    # -- reshaping -------------------------------------------------------------------

    def permute(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """``tf.transpose`` with the batch axis first."""
        order = [0, *op.layer.dims]
        return lambda inputs: self.tf.transpose(inputs[0], order)

    def resizing(self, op: Op, w: dict[str, Tensor]) -> Fn:
        """Crop or pad to the aspect ratio as Keras does, then ``tf.image.resize``."""
        tf, layer = self.tf, op.layer
        (top, left), (h, wd) = layer.aspect_window(self._input_shape(op))
        pads = [[0, 0], [top, top], [left, left], [0, 0]]

        def fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            if layer.crop_to_aspect_ratio:
                x = x[:, top : top + h, left : left + wd, :]
            elif layer.pad_to_aspect_ratio:
                x = tf.pad(x, pads, constant_values=layer.fill_value)
            size = (layer.height, layer.width)
            return tf.image.resize(x, size, method=layer.interpolation, antialias=layer.antialias)

        return fn
