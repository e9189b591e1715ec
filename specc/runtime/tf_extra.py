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
from specc.ir.layers_norm import values_array

Tensor = Any
Fn = Callable[[list[Tensor]], Tensor]


class ExtraLayers:
    """Mixin of ``TensorFlowBackend``: the kinds of :mod:`specc.ir.layers_activation`,
    :mod:`~specc.ir.layers_norm` and :mod:`~specc.ir.layers_reshape`."""

    tf: Any
    model: Any

    def _input_shape(self, node: Any) -> tuple[int, ...]:
        return tuple(self.model.nodes[node.inputs[0]].output_shape)

    # -- activations -----------------------------------------------------------------

    def relu_layer(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``keras.activations.relu``'s static call, op for op."""
        tf, layer = self.tf, node.layer
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

    def leakyrelu(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.leaky_relu``."""
        slope = node.layer.negative_slope
        return lambda inputs: self.tf.nn.leaky_relu(inputs[0], alpha=slope)

    def prelu(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``relu(x) + -alpha * relu(-x)``."""
        tf, alpha = self.tf, w["alpha"]
        return lambda inputs: tf.nn.relu(inputs[0]) + -alpha * tf.nn.relu(-inputs[0])

    def elu_layer(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.elu``, its negative part times ``alpha``."""
        tf, alpha = self.tf, node.layer.alpha

        def fn(inputs: list[Tensor]) -> Tensor:
            y = tf.nn.elu(inputs[0])
            return y if alpha == 1 else tf.where(inputs[0] > 0, y, alpha * y)

        return fn

    def softmax_layer(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``tf.nn.softmax`` on one axis, ``exp(x - logsumexp(x))`` on several."""
        tf = self.tf
        axes = sh.normalized_axes(self._input_shape(node), node.layer.axis, node.kind)
        if len(axes) == 1:
            return lambda inputs: tf.nn.softmax(inputs[0], axis=axes[0])
        axes_list = list(axes)
        return lambda inputs: tf.exp(
            inputs[0] - tf.math.reduce_logsumexp(inputs[0], axis=axes_list, keepdims=True)
        )

    # -- scaling and normalization -------------------------------------------------

    def rescaling(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``x * scale + offset``."""
        rank = len(self._input_shape(node)) + 1
        scale = self.tf.constant(values_array(node.layer.scale, rank, -1))
        offset = self.tf.constant(values_array(node.layer.offset, rank, -1))
        return lambda inputs: inputs[0] * scale + offset

    def normalization(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``(x - mean) / maximum(sqrt(variance), epsilon)``, or ``mean + x * ...`` inverted."""
        tf, layer = self.tf, node.layer
        shape = self._input_shape(node)
        kept = layer.kept_axes(shape)
        broadcast = sh.statistics_shape(shape, kept)
        if layer.mean is None:
            mean = tf.reshape(w["mean"], broadcast)
            variance = tf.reshape(w["variance"], broadcast)
        else:
            axis = kept[-1] if kept else 0
            mean = tf.constant(values_array(layer.mean, len(broadcast), axis))
            variance = tf.constant(values_array(layer.variance, len(broadcast), axis))
        denominator = tf.maximum(tf.sqrt(variance), 1e-7)
        if layer.invert:
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

    def layernormalization(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``ops.layer_normalization``: moments over ``axis``, then scale and shift."""
        tf, layer, shape = self.tf, node.layer, self._input_shape(node)
        given = sorted((layer.axis,) if isinstance(layer.axis, int) else layer.axis)
        broadcast = sh.statistics_shape(shape, given)
        gamma = tf.reshape(w["gamma"], broadcast) if "gamma" in w else None
        beta = tf.reshape(w["beta"], broadcast) if "beta" in w else None
        return lambda inputs: self._normalize(inputs[0], given, layer.epsilon, gamma, beta)

    def groupnormalization(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """Keras's ``GroupNormalization.call``: reshape into groups, normalize, reshape back."""
        tf, layer, shape = self.tf, node.layer, self._input_shape(node)
        (axis,) = sh.normalized_axes(shape, layer.axis, node.kind)
        groups = layer.group_count(shape)
        grouped = [*shape]
        grouped[axis - 1 : axis] = [groups, shape[axis - 1] // groups]
        reduce = [a for a in range(1, len(grouped) + 1) if a != axis]
        broadcast = [1] * (len(grouped) + 1)
        broadcast[axis : axis + 2] = grouped[axis - 1 : axis + 1]
        gamma = tf.reshape(w["gamma"], broadcast) if "gamma" in w else None
        beta = tf.reshape(w["beta"], broadcast) if "beta" in w else None

        def fn(inputs: list[Tensor]) -> Tensor:
            x = tf.reshape(inputs[0], [-1, *grouped])
            y = self._normalize(x, reduce, layer.epsilon, gamma, beta)
            return tf.reshape(y, [-1, *shape])

        return fn

    def unitnormalization(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``ops.normalize(order=2, epsilon=1e-12)``: ``x * minimum(rsqrt(sum(x**2)), 1e12)``."""
        tf = self.tf
        axes = list(sh.normalized_axes(self._input_shape(node), node.layer.axis, node.kind))

        def fn(inputs: list[Tensor]) -> Tensor:
            total = tf.reduce_sum(tf.square(inputs[0]), axis=axes, keepdims=True)
            return inputs[0] * tf.minimum(tf.math.rsqrt(total), 1.0 / 1e-12)

        return fn

    # -- reshaping -------------------------------------------------------------------

    def cropping2d(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """Rows and columns sliced off."""
        (top, bottom), (left, right) = node.layer.cropping
        h, wd, _ = self._input_shape(node)
        return lambda inputs: inputs[0][:, top : h - bottom, left : wd - right, :]

    def spatialdropout2d(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def identity(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """The input itself."""
        return lambda inputs: inputs[0]

    def permute(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """``tf.transpose`` with the batch axis first."""
        order = [0, *node.layer.dims]
        return lambda inputs: self.tf.transpose(inputs[0], order)

    def resizing(self, node: Any, w: dict[str, Tensor]) -> Fn:
        """Crop or pad to the aspect ratio as Keras does, then ``tf.image.resize``."""
        tf, layer = self.tf, node.layer
        h, wd, _ = self._input_shape(node)
        size = (layer.height, layer.width)

        def fn(inputs: list[Tensor]) -> Tensor:
            x = inputs[0]
            if layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio:
                ch, cw = sh.resized_crop((h, wd), size, layer.pad_to_aspect_ratio)
                if layer.crop_to_aspect_ratio:
                    top, left = int((h - ch) / 2), int((wd - cw) / 2)
                    x = x[:, top : top + ch, left : left + cw, :]
                else:
                    top, left = int((ch - h) / 2), int((cw - wd) / 2)
                    pads = [[0, 0], [top, top], [left, left], [0, 0]]
                    x = tf.pad(x, pads, constant_values=layer.fill_value)
            return tf.image.resize(x, size, method=layer.interpolation, antialias=layer.antialias)

        return fn
