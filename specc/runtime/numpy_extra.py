"""The numpy runtime's activation, normalization and reshaping layers (a mixin).

Each method is named after its kind, takes the op (:class:`specc.lower.Op`) and its weights (on the
device) and returns the function of the input arrays, as in
:class:`specc.runtime.numpy_backend.NumpyBackend`. Every formula is Keras 3's
own, in its order of operations (``keras/src/layers/...`` and the
TensorFlow backend's ``moments``, ``rsqrt`` and ``tf.image.resize``), so
that results agree to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from specc.ir import shapes as sh
from specc.lower import Op
from specc.runtime import nn, resize
from specc.runtime.activations import activate, activate_inplace
from specc.runtime.compiled import activation_mode

Array = Any
Fn = Callable[[list[Array]], Array]
NORM_PIECE = 131072
"""Values per piece of a BatchNormalization on the CPU (in a core's L2 over its passes)."""


def _host(array: Array) -> np.ndarray:
    """A numpy copy of a numpy or cupy array."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


class SlicingLayers:
    """The layers whose function is slicing, or nothing, at inference: the same code for
    NumPy, CuPy and TensorFlow arrays."""

    model: Any

    def _input_shape(self, op: Op) -> tuple[int, ...]:
        return tuple(op.input_shapes[0])

    def cropping2d(self, op: Op, w: dict[str, Any]) -> Fn:
        """Rows and columns sliced off."""
        (top, bottom), (left, right) = op.layer.cropping
        h, wd, _ = self._input_shape(op)
        return lambda inputs: inputs[0][:, top : h - bottom, left : wd - right, :]

    def spatialdropout2d(self, op: Op, w: dict[str, Any]) -> Fn:
        """Identity at inference."""
        return lambda inputs: inputs[0]

    def identity(self, op: Op, w: dict[str, Any]) -> Fn:
        """The input itself."""
        return lambda inputs: inputs[0]


class ExtraLayers(SlicingLayers):
    """Mixin of ``NumpyBackend``: the kinds of :mod:`specc.ir.layers_activation`,
    :mod:`~specc.ir.layers_norm` and :mod:`~specc.ir.layers_reshape`."""

    xp: Any
    compiled: ModuleType | None

    # -- normalization ---------------------------------------------------------------

    def batchnormalization(self, op: Op, w: dict[str, Array]) -> Fn:
        """Inference: moving statistics, as ``tf.nn.batch_normalization`` folds them
        (then a fused activation, in place)."""
        shape, axis = op.output_shape, op.axis
        assert axis is not None
        scale, offset = nn.batchnorm_affine(self.xp, w, op.layer.epsilon)
        broadcast = [1] * (len(shape) + 1)
        broadcast[axis] = shape[axis - 1]
        scale, offset = scale.reshape(broadcast), offset.reshape(broadcast)
        xp, activation = self.xp, op.activation

        def fn(inputs: list[Array]) -> Array:
            y = inputs[0] * scale
            y += offset
            return self._activate(y, activation)

        if xp is not np or axis != len(shape):
            return fn
        compiled = self.compiled
        if compiled is not None:
            # One pass (a multiply-add per value, and relu/relu6 inside); another
            # activation after it, so the numbers never depend on which it is.
            flat_scale = np.ascontiguousarray(scale.reshape(-1), np.float32)
            flat_offset = np.ascontiguousarray(offset.reshape(-1), np.float32)
            fused = activation_mode(activation)
            mode = fused or activation_mode(None)

            def compiled_fn(inputs: list[Array]) -> Array:
                x = np.ascontiguousarray(inputs[0], dtype=np.float32)
                out = np.empty(x.shape, dtype=np.float32)
                pixels = out.reshape(-1, shape[-1])
                compiled.affine_rows(
                    x.reshape(pixels.shape), flat_scale, flat_offset, *mode, pixels
                )
                return out if fused else activate_inplace(np, out, activation)

            return compiled_fn

        # Over the channels on the CPU: by pieces of rows, in cache, with scale
        # and offset repeated along a row (loops of W*C values, not C).
        width = shape[-2] if len(shape) == 3 else 1
        scale, offset = np.tile(scale.reshape(-1), width), np.tile(offset.reshape(-1), width)
        step = max(1, NORM_PIECE // scale.size)

        def rows_fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            out = np.empty(x.shape, dtype=np.float32)
            rows, flat = out.reshape(-1, scale.size), x.reshape(-1, scale.size)
            for start in range(0, rows.shape[0], step):
                piece = rows[start : start + step]
                np.multiply(flat[start : start + step], scale, out=piece)
                piece += offset
                # Softmax and friends run over the channels: the piece as (pixels, C).
                pixels = piece.reshape(-1, shape[-1])
                done = activate_inplace(xp, pixels, activation)
                if done is not pixels:
                    pixels[...] = done
            return out

        return rows_fn

    # -- activations -----------------------------------------------------------------

    def relu_layer(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras ``activations.relu`` with ``negative_slope``, ``max_value`` and ``threshold``."""
        xp, layer = self.xp, op.layer
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

    def leakyrelu(self, op: Op, w: dict[str, Array]) -> Fn:
        """``x`` above zero, ``negative_slope * x`` elsewhere (``tf.nn.leaky_relu``)."""
        xp, slope = self.xp, np.float32(op.layer.negative_slope)
        return lambda inputs: xp.where(inputs[0] > 0, inputs[0], inputs[0] * slope)

    def prelu(self, op: Op, w: dict[str, Array]) -> Fn:
        """``relu(x) - alpha * relu(-x)``, ``alpha`` broadcast over the shared axes."""
        xp, alpha = self.xp, w["alpha"]
        return lambda inputs: xp.maximum(inputs[0], 0) + -alpha * xp.maximum(-inputs[0], 0)

    def elu_layer(self, op: Op, w: dict[str, Array]) -> Fn:
        """``tf.nn.elu``, then ``alpha`` times its negative part (unless alpha is 1)."""
        xp, alpha = self.xp, np.float32(op.layer.alpha)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            y = activate(xp, x, "elu")
            return y if alpha == 1 else xp.where(x > 0, y, alpha * y)

        return fn

    def softmax_layer(self, op: Op, w: dict[str, Array]) -> Fn:
        """Softmax over one axis; over several, ``exp(x - logsumexp(x))`` as Keras computes it."""
        xp = self.xp
        axes = sh.normalized_axes(self._input_shape(op), op.layer.axis, op.kind)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            top = x.max(axis=axes, keepdims=True)
            if len(axes) == 1:
                e = xp.exp(x - top)
                return e / e.sum(axis=axes, keepdims=True)
            return xp.exp(x - (xp.log(xp.exp(x - top).sum(axis=axes, keepdims=True)) + top))

        return fn

    # -- scaling and normalization -------------------------------------------------

    def rescaling(self, op: Op, w: dict[str, Array]) -> Fn:
        """``x * scale + offset`` (float32 constants, broadcast on the last axis)."""
        scale, offset = (self.xp.asarray(a) for a in op.layer.constants(self._input_shape(op)))
        return lambda inputs: inputs[0] * scale + offset

    def normalization(self, op: Op, w: dict[str, Array]) -> Fn:
        """``(x - mean) / max(sqrt(variance), epsilon)``, or its inverse."""
        xp = self.xp
        arrays = {key: _host(value) for key, value in w.items()}
        mean, denominator = (xp.asarray(a) for a in op.layer.folded(self._input_shape(op), arrays))
        if op.layer.invert:
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

    def layernormalization(self, op: Op, w: dict[str, Array]) -> Fn:
        """Each sample normalized over ``axis``; gamma and beta reshaped as Keras reshapes them."""
        layer = op.layer
        axes, broadcast = layer.reduction(self._input_shape(op))
        gamma = w["gamma"].reshape(broadcast) if "gamma" in w else None
        beta = w["beta"].reshape(broadcast) if "beta" in w else None
        return lambda inputs: self._normalize(inputs[0], axes, layer.epsilon, gamma, beta)

    def groupnormalization(self, op: Op, w: dict[str, Array]) -> Fn:
        """The axis split into (groups, channels per group); each group normalized."""
        layer, shape = op.layer, self._input_shape(op)
        grouped, reduce, broadcast = layer.grouping(shape)
        gamma = w["gamma"].reshape(broadcast) if "gamma" in w else None
        beta = w["beta"].reshape(broadcast) if "beta" in w else None

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0].reshape(-1, *grouped)
            y = self._normalize(x, reduce, layer.epsilon, gamma, beta)
            return y.reshape(-1, *shape)

        return fn

    def unitnormalization(self, op: Op, w: dict[str, Array]) -> Fn:
        """``x * min(rsqrt(sum(x ** 2)), 1 / 1e-12)`` over ``axis`` (``ops.normalize``)."""
        xp = self.xp
        axes = sh.normalized_axes(self._input_shape(op), op.layer.axis, op.kind)
        cap = np.float32(1.0 / 1e-12)

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            total = xp.square(x).sum(axis=axes, keepdims=True)
            with np.errstate(divide="ignore"):
                inv = np.float32(1) / xp.sqrt(total)
            return x * xp.minimum(inv, cap)

        return fn

    # -- reshaping -------------------------------------------------------------------

    def permute(self, op: Op, w: dict[str, Array]) -> Fn:
        """The axes reordered (made contiguous for the layers after it)."""
        order = (0, *op.layer.dims)
        return lambda inputs: self.xp.ascontiguousarray(inputs[0].transpose(order))

    def resizing(self, op: Op, w: dict[str, Array]) -> Fn:
        """Crop or pad to the aspect ratio, then ``tf.image.resize`` as two matrices."""
        xp, layer = self.xp, op.layer
        (top, left), (h, wd) = layer.aspect_window(self._input_shape(op))
        method, aa = layer.interpolation, layer.antialias
        rows = xp.asarray(resize.resize_matrix(h, layer.height, method, aa))
        cols = xp.asarray(resize.resize_matrix(wd, layer.width, method, aa))
        pads = ((top, top), (left, left))

        def fn(inputs: list[Array]) -> Array:
            x = inputs[0]
            if layer.crop_to_aspect_ratio:
                x = xp.ascontiguousarray(x[:, top : top + h, left : left + wd, :])
            elif layer.pad_to_aspect_ratio:
                x = nn.pad_hw(xp, x, pads, layer.fill_value)
            return resize.resize(xp, x, rows, cols)

        return fn
