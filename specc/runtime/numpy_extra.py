"""The numpy runtime's activation, normalization and reshaping layers (a mixin).

Each method is named after its kind, takes the node and its weights (on the
device) and returns the function of the input arrays, as in
:class:`specc.runtime.numpy_backend.NumpyBackend`. Every formula is Keras 3's
own, in its order of operations (``keras/src/layers/...`` and the
TensorFlow backend's ``moments``, ``rsqrt`` and ``tf.image.resize``), so
that results agree to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from specc.ir import shapes as sh
from specc.ir.layers_norm import values_array
from specc.runtime import nn
from specc.runtime.activations import activate

Array = Any
Fn = Callable[[list[Array]], Array]
EPSILON = np.float32(1e-7)  # keras.backend.epsilon()


class ExtraLayers:
    """Mixin of ``NumpyBackend``: the kinds of :mod:`specc.ir.layers_activation`,
    :mod:`~specc.ir.layers_norm` and :mod:`~specc.ir.layers_reshape`."""

    xp: Any
    model: Any

    def _input_shape(self, node: Any) -> tuple[int, ...]:
        return tuple(self.model.nodes[node.inputs[0]].output_shape)

    # -- activations -----------------------------------------------------------------

    def relu_layer(self, node: Any, w: dict[str, Array]) -> Fn:
        """Keras ``activations.relu`` with ``negative_slope``, ``max_value`` and ``threshold``."""
        xp, layer = self.xp, node.layer
        slope, top = np.float32(layer.negative_slope), layer.max_value
        threshold = np.float32(layer.threshold)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if slope != 0 and top is None and threshold == 0:
                return xp.where(x > 0, x, x * slope)
            negative = xp.maximum(threshold - x, 0) if slope != 0 else None
            if threshold != 0:
                y = xp.where(x > threshold, x, np.float32(0))
            else:
                y = xp.maximum(x, 0)
            if top is not None:
                y = xp.clip(y, 0, np.float32(top))
            if negative is not None:
                y = y - slope * negative
            return y

        return fn

    def leakyrelu(self, node: Any, w: dict[str, Array]) -> Fn:
        """``x`` above zero, ``negative_slope * x`` elsewhere (``tf.nn.leaky_relu``)."""
        xp, slope = self.xp, np.float32(node.layer.negative_slope)
        return lambda inputs: xp.where(inputs[0] > 0, inputs[0], inputs[0] * slope)

    def prelu(self, node: Any, w: dict[str, Array]) -> Fn:
        """``relu(x) - alpha * relu(-x)``, ``alpha`` broadcast over the shared axes."""
        xp, alpha = self.xp, w["alpha"]
        return lambda inputs: xp.maximum(inputs[0], 0) + -alpha * xp.maximum(-inputs[0], 0)

    def elu_layer(self, node: Any, w: dict[str, Array]) -> Fn:
        """``tf.nn.elu``, then ``alpha`` times its negative part (unless alpha is 1)."""
        xp, alpha = self.xp, np.float32(node.layer.alpha)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            y = activate(xp, x, "elu")
            return y if alpha == 1 else xp.where(x > 0, y, alpha * y)

        return fn

    def softmax_layer(self, node: Any, w: dict[str, Array]) -> Fn:
        """Softmax over one axis; over several, ``exp(x - logsumexp(x))`` as Keras computes it."""
        xp = self.xp
        axes = sh.normalized_axes(self._input_shape(node), node.layer.axis, node.kind)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            top = x.max(axis=axes, keepdims=True)
            if len(axes) == 1:
                e = xp.exp(x - top)
                return e / e.sum(axis=axes, keepdims=True)
            return xp.exp(x - (xp.log(xp.exp(x - top).sum(axis=axes, keepdims=True)) + top))

        return fn

    # -- scaling and normalization -------------------------------------------------

    def rescaling(self, node: Any, w: dict[str, Array]) -> Fn:
        """``x * scale + offset`` (float32 constants, broadcast on the last axis)."""
        rank = len(self._input_shape(node)) + 1
        scale = self.xp.asarray(values_array(node.layer.scale, rank, -1))
        offset = self.xp.asarray(values_array(node.layer.offset, rank, -1))
        return lambda inputs: inputs[0] * scale + offset

    def normalization(self, node: Any, w: dict[str, Array]) -> Fn:
        """``(x - mean) / max(sqrt(variance), epsilon)``, or its inverse."""
        xp, layer = self.xp, node.layer
        shape = self._input_shape(node)
        kept = layer.kept_axes(shape)
        broadcast = sh.statistics_shape(shape, kept)
        if layer.mean is None:
            mean = w["mean"].reshape(broadcast)
            variance = w["variance"].reshape(broadcast)
        else:
            axis = kept[-1] if kept else 0
            mean = xp.asarray(values_array(layer.mean, len(broadcast), axis))
            variance = xp.asarray(values_array(layer.variance, len(broadcast), axis))
        denominator = xp.maximum(xp.sqrt(variance), EPSILON)
        if layer.invert:
            return lambda inputs: mean + inputs[0] * denominator
        return lambda inputs: (inputs[0] - mean) / denominator

    def _normalize(self, x: Array, axes: tuple[int, ...], eps: float, gamma, beta) -> Array:
        """Keras's ``moments``, ``rsqrt(variance + epsilon) * gamma`` and ``x * inv + res``."""
        xp = self.xp
        mean = x.mean(axis=axes, keepdims=True)
        variance = xp.square(x - mean).mean(axis=axes, keepdims=True)
        inv = np.float32(1) / xp.sqrt(variance + np.float32(eps))
        if gamma is not None:
            inv = inv * gamma
        res = -mean * inv
        if beta is not None:
            res = res + beta
        return x * inv + res

    def layernormalization(self, node: Any, w: dict[str, Array]) -> Fn:
        """Each sample normalized over ``axis``; gamma and beta reshaped as Keras reshapes them."""
        layer, shape = node.layer, self._input_shape(node)
        axes = tuple(sorted(sh.normalized_axes(shape, layer.axis, node.kind)))
        given = sorted((layer.axis,) if isinstance(layer.axis, int) else layer.axis)
        broadcast = sh.statistics_shape(shape, given)
        gamma = w["gamma"].reshape(broadcast) if "gamma" in w else None
        beta = w["beta"].reshape(broadcast) if "beta" in w else None
        return lambda inputs: self._normalize(inputs[0], axes, layer.epsilon, gamma, beta)

    def groupnormalization(self, node: Any, w: dict[str, Array]) -> Fn:
        """The axis split into (groups, channels per group); each group normalized."""
        layer, shape = node.layer, self._input_shape(node)
        (axis,) = sh.normalized_axes(shape, layer.axis, node.kind)
        groups = layer.group_count(shape)
        grouped = [*shape]
        grouped[axis - 1 : axis] = [groups, shape[axis - 1] // groups]
        rank = len(grouped) + 1
        reduce = tuple(a for a in range(1, rank) if a != axis)
        broadcast = [1] * rank
        broadcast[axis : axis + 2] = grouped[axis - 1 : axis + 1]
        gamma = w["gamma"].reshape(broadcast) if "gamma" in w else None
        beta = w["beta"].reshape(broadcast) if "beta" in w else None

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0].reshape(-1, *grouped)
            y = self._normalize(x, reduce, layer.epsilon, gamma, beta)
            return y.reshape(-1, *shape)

        return fn

    def unitnormalization(self, node: Any, w: dict[str, Array]) -> Fn:
        """``x * min(rsqrt(sum(x ** 2)), 1 / 1e-12)`` over ``axis`` (``ops.normalize``)."""
        xp = self.xp
        axes = sh.normalized_axes(self._input_shape(node), node.layer.axis, node.kind)
        cap = np.float32(1.0 / 1e-12)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            total = xp.square(x).sum(axis=axes, keepdims=True)
            with np.errstate(divide="ignore"):
                inv = np.float32(1) / xp.sqrt(total)
            return x * xp.minimum(inv, cap)

        return fn

    # -- reshaping -------------------------------------------------------------------

    def cropping2d(self, node: Any, w: dict[str, Array]) -> Fn:
        """Rows and columns sliced off."""
        (top, bottom), (left, right) = node.layer.cropping
        h, wd, _ = self._input_shape(node)
        return lambda inputs: inputs[0][:, top : h - bottom, left : wd - right, :]

    def spatialdropout2d(self, node: Any, w: dict[str, Array]) -> Fn:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def identity(self, node: Any, w: dict[str, Array]) -> Fn:
        """The input itself."""
        return lambda inputs: inputs[0]

    def permute(self, node: Any, w: dict[str, Array]) -> Fn:
        """The axes reordered (made contiguous for the layers after it)."""
        order = (0, *node.layer.dims)
        return lambda inputs: self.xp.ascontiguousarray(inputs[0].transpose(order))

    def resizing(self, node: Any, w: dict[str, Array]) -> Fn:
        """Crop or pad to the aspect ratio, then ``tf.image.resize`` as two matrices."""
        xp, layer = self.xp, node.layer
        h, wd, _ = self._input_shape(node)
        size = (layer.height, layer.width)
        crop = pads = None
        if layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio:
            ch, cw = sh.resized_crop((h, wd), size, layer.pad_to_aspect_ratio)
            if layer.crop_to_aspect_ratio:
                top, left = int((h - ch) / 2), int((wd - cw) / 2)
                crop = (top, top + ch, left, left + cw)
            else:
                top, left = int((ch - h) / 2), int((cw - wd) / 2)
                pads = ((top, top), (left, left))  # Keras pads by the start on both sides
                h, wd = h + 2 * top, wd + 2 * left
            if crop is not None:
                h, wd = ch, cw
        method, aa = layer.interpolation, layer.antialias
        rows = xp.asarray(nn.resize_matrix(h, layer.height, method, aa))
        cols = xp.asarray(nn.resize_matrix(wd, layer.width, method, aa))
        fill = layer.fill_value

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if crop is not None:
                x = x[:, crop[0] : crop[1], crop[2] : crop[3], :]
            if pads is not None:
                x = nn.pad_hw(xp, x, pads, fill)
            return nn.resize(xp, xp.ascontiguousarray(x), rows, cols)

        return fn
