"""ONNX operators for the activation, normalization and reshaping layers (a mixin).

As in :mod:`specc.emit.onnx_layers`, each method is named after its kind,
takes the :class:`specc.lower.Op` and returns ``(tensor name, layout)``. Elementwise layers
run in the layout their input is in (no transposes); axis arguments are
mapped to NCHW where the input is a feature map held that way. Statistics
are computed with ONNX's primitive ops in Keras's order (``moments``, then
``rsqrt(variance + epsilon) * gamma``), never with a fused ONNX op whose
rounding or axis rules differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc.emit.onnx_layers import KERAS, NCHW
from specc.ir import shapes as sh
from specc.lower import Op

_NHWC_TO_NCHW_AXIS = (0, 3, 1, 2)  # where Keras axis a of a feature map sits in NCHW
_TO_NHWC = (0, 2, 3, 1)


class ExtraLayerOps:
    """Mixin of :class:`~specc.emit.onnx.OnnxEmitter`: the kinds of
    :mod:`specc.ir.layers_activation`, :mod:`~specc.ir.layers_norm` and
    :mod:`~specc.ir.layers_reshape`."""

    model: Any

    # -- layouts and constants ------------------------------------------------------

    def _input_shape(self, op: Op) -> tuple[int, ...]:
        return tuple(op.input_shapes[0])

    @staticmethod
    def _axes(axes: tuple[int, ...], layout: str) -> list[int]:
        """Keras axes (batch counted, >= 0) in ``layout``."""
        if layout == NCHW:
            return [_NHWC_TO_NCHW_AXIS.index(a) for a in axes]
        return list(axes)

    @staticmethod
    def _laid_out(array: np.ndarray, layout: str) -> np.ndarray:
        """A constant of Keras's rank (batch axis included) transposed to ``layout``."""
        array = np.asarray(array, dtype=np.float32)
        if layout == NCHW and array.ndim == 4:
            return np.ascontiguousarray(array.transpose(0, 3, 1, 2))
        return array

    # -- activations -----------------------------------------------------------------

    def relu_layer(self, op: Op) -> tuple[str, str]:
        """Keras's relu: LeakyRelu, or ThresholdedRelu/Relu, Clip, minus slope x Relu(t - x)."""
        layer = op.layer
        x, layout = self.primary(op.inputs[0])
        slope, top, threshold = layer.negative_slope, layer.max_value, layer.threshold
        if slope != 0 and top is None and threshold == 0:
            return self.op("LeakyRelu", [x], alpha=slope), layout
        negative = None
        if slope != 0:
            shifted = self.op("Sub", [self.scalar("threshold", threshold), x])
            negative = self.op("Relu", [shifted])
        if threshold != 0:
            y = self.op("ThresholdedRelu", [x], alpha=threshold)
        else:
            y = self.op("Relu", [x])
        if top is not None:
            y = self.op("Clip", [y, self.scalar("zero", 0.0), self.scalar("max_value", top)])
        if negative is not None:
            y = self.op("Sub", [y, self.op("Mul", [negative, self.scalar("slope", slope)])])
        return y, layout

    def leakyrelu(self, op: Op) -> tuple[str, str]:
        """``LeakyRelu``."""
        x, layout = self.primary(op.inputs[0])
        return self.op("LeakyRelu", [x], alpha=op.layer.negative_slope), layout

    def prelu(self, op: Op) -> tuple[str, str]:
        """``PRelu`` with alpha in the input's layout."""
        x, layout = self.primary(op.inputs[0])
        alpha = self.weight("alpha")
        if layout == NCHW:
            alpha = alpha.transpose(2, 0, 1)
        return self.op("PRelu", [x, self.const("alpha", np.ascontiguousarray(alpha))]), layout

    def elu_layer(self, op: Op) -> tuple[str, str]:
        """``Elu`` with Keras's ``alpha``."""
        x, layout = self.primary(op.inputs[0])
        return self.op("Elu", [x], alpha=op.layer.alpha), layout

    def softmax_layer(self, op: Op) -> tuple[str, str]:
        """``Softmax`` on one axis; ``Exp(x - logsumexp(x))`` on several."""
        x, layout = self.primary(op.inputs[0])
        axes = self._axes(sh.normalized_axes(self._input_shape(op), op.layer.axis, ""), layout)
        if len(axes) == 1:
            return self.op("Softmax", [x], axis=axes[0]), layout
        reduce = self.ints("axes", axes)
        top = self.op("ReduceMax", [x, reduce], keepdims=1)
        total = self.op("ReduceSum", [self.op("Exp", [self.op("Sub", [x, top])]), reduce])
        logsumexp = self.op("Add", [self.op("Log", [total]), top])
        return self.op("Exp", [self.op("Sub", [x, logsumexp])]), layout

    # -- scaling and normalization -------------------------------------------------

    def rescaling(self, op: Op) -> tuple[str, str]:
        """``Mul`` by scale, ``Add`` offset."""
        x, layout = self.primary(op.inputs[0])
        scale, offset = (
            self._laid_out(a, layout) for a in op.layer.constants(self._input_shape(op))
        )
        product = self.op("Mul", [x, self.const("scale", scale)])
        return self.op("Add", [product, self.const("offset", offset)]), layout

    def normalization(self, op: Op) -> tuple[str, str]:
        """``(x - mean) / max(sqrt(variance), 1e-7)`` with both folded into constants."""
        weights = {n: self.weight(n) for n in ("mean", "variance") if op.layer.mean is None}
        mean, denominator = op.layer.folded(self._input_shape(op), weights)
        x, layout = self.primary(op.inputs[0])
        mean_name = self.const("mean", self._laid_out(mean, layout))
        denominator_name = self.const("denominator", self._laid_out(denominator, layout))
        if op.layer.invert:
            return self.op("Add", [mean_name, self.op("Mul", [x, denominator_name])]), layout
        return self.op("Div", [self.op("Sub", [x, mean_name]), denominator_name]), layout

    def _normalize(self, x: str, axes: list[int], eps: float, gamma: Any, beta: Any) -> str:
        """Keras's order: moments, ``inv = rsqrt(var + eps) * gamma``, ``x * inv - mean * inv``."""
        reduce = self.ints("axes", axes)
        mean = self.op("ReduceMean", [x, reduce], keepdims=1)
        centred = self.op("Sub", [x, mean])
        variance = self.op("ReduceMean", [self.op("Mul", [centred, centred]), reduce], keepdims=1)
        shifted = self.op("Add", [variance, self.scalar("epsilon", eps)])
        inv = self.op("Reciprocal", [self.op("Sqrt", [shifted])])
        if gamma is not None:
            inv = self.op("Mul", [inv, self.const("gamma", gamma)])
        res = self.op("Mul", [self.op("Neg", [mean]), inv])
        if beta is not None:
            res = self.op("Add", [res, self.const("beta", beta)])
        return self.op("Add", [self.op("Mul", [x, inv]), res])

    def layernormalization(self, op: Op) -> tuple[str, str]:
        """Statistics over ``axis`` per sample, gamma and beta reshaped as Keras reshapes them."""
        layer = op.layer
        x, layout = self.primary(op.inputs[0])
        axes, broadcast = layer.reduction(self._input_shape(op))
        gamma, beta = (
            self._laid_out(self.weight(n).reshape(broadcast), layout) if on else None
            for n, on in (("gamma", layer.scale), ("beta", layer.center))
        )
        return self._normalize(x, self._axes(axes, layout), layer.epsilon, gamma, beta), layout

    def groupnormalization(self, op: Op) -> tuple[str, str]:
        """Reshape into (groups, channels per group), normalize each group, reshape back."""
        layer, shape = op.layer, self._input_shape(op)
        grouped, reduce, broadcast = layer.grouping(shape)
        gamma = self.weight("gamma").reshape(broadcast) if layer.scale else None
        beta = self.weight("beta").reshape(broadcast) if layer.center else None
        x = self.get(op.inputs[0], KERAS)
        x = self.op("Reshape", [x, self.ints("groups", [0, *grouped])])
        y = self._normalize(x, list(reduce), layer.epsilon, gamma, beta)
        return self.op("Reshape", [y, self.ints("shape", [0, *shape])]), KERAS

    def unitnormalization(self, op: Op) -> tuple[str, str]:
        """``x * Min(1 / sqrt(ReduceSumSquare(x)), 1e12)``."""
        x, layout = self.primary(op.inputs[0])
        axes = sh.normalized_axes(self._input_shape(op), op.layer.axis, "unitnormalization")
        total = self.op("ReduceSumSquare", [x, self.ints("axes", self._axes(axes, layout))])
        inv = self.op("Reciprocal", [self.op("Sqrt", [total])])
        inv = self.op("Min", [inv, self.scalar("cap", 1.0 / 1e-12)])
        return self.op("Mul", [x, inv]), layout

    # -- reshaping -------------------------------------------------------------------

    def cropping2d(self, op: Op) -> tuple[str, str]:
        """``Slice`` of height and width, in the input's layout."""
        (top, bottom), (left, right) = op.layer.cropping
        h, w, _ = self._input_shape(op)
        x, layout = self.primary(op.inputs[0])
        axes = [2, 3] if layout == NCHW else [1, 2]
        starts, ends = self.ints("starts", [top, left]), self.ints("ends", [h - bottom, w - right])
        return self.op("Slice", [x, starts, ends, self.ints("axes", axes)]), layout

    def spatialdropout2d(self, op: Op) -> tuple[str, str]:
        """Identity at inference."""
        x, layout = self.primary(op.inputs[0])
        return self.op("Identity", [x]), layout

    def identity(self, op: Op) -> tuple[str, str]:
        """``Identity``."""
        x, layout = self.primary(op.inputs[0])
        return self.op("Identity", [x]), layout

    def permute(self, op: Op) -> tuple[str, str]:
        """One ``Transpose`` to Keras's permuted layout (from NCHW when the input is held so)."""
        perm = [0, *op.layer.dims]
        x, layout = self.primary(op.inputs[0])
        if layout == NCHW:
            perm = [_TO_NHWC[p] for p in perm]
        return self.op("Transpose", [x], perm=perm), KERAS

    def resizing(self, op: Op) -> tuple[str, str]:
        """Slice or Pad to the aspect ratio, then ``Resize``, or TensorFlow's resize as matrices.

        ONNX ``Resize`` computes nearest and bilinear (half-pixel) as TensorFlow
        does; TensorFlow's bicubic reads its coefficients from a table, and
        area, Lanczos and antialiasing have no ONNX equivalent, so those are
        two ``MatMul`` with the matrices of :mod:`specc.ir.resampling`.
        """
        layer = op.layer
        (top, left), (h, w) = layer.aspect_window(self._input_shape(op))
        x = self.get(op.inputs[0], NCHW)
        if layer.crop_to_aspect_ratio:
            starts, ends = self.ints("starts", [top, left]), self.ints("ends", [top + h, left + w])
            x = self.op("Slice", [x, starts, ends, self.ints("axes", [2, 3])])
        elif layer.pad_to_aspect_ratio:
            pads = self.ints("pads", [0, 0, top, left, 0, 0, top, left])
            x = self.op("Pad", [x, pads, self.scalar("fill_value", layer.fill_value)])
        method = layer.interpolation
        if method not in ("nearest", "bilinear") or layer.antialias:
            from specc.ir.resampling import resize_matrix

            rows = resize_matrix(h, layer.height, method, layer.antialias)
            cols = resize_matrix(w, layer.width, method, layer.antialias)
            x = self.op("MatMul", [self.const("rows", rows), x])
            return self.op("MatMul", [x, self.const("columns", np.ascontiguousarray(cols.T))]), NCHW
        # Scales, not sizes: onnxruntime's transpose optimizer breaks Resize's ``axes``
        # (and full sizes would need the batch). Each scale is out / in, nudged up where
        # rounding (float32 or float64) would make in * scale fall short of out.
        scales = [np.float32(1), np.float32(1)]
        for n, target in ((h, layer.height), (w, layer.width)):
            scale = np.float32(target) / np.float32(n)
            while np.float32(n) * scale < target or n * float(scale) < target:
                scale = np.nextafter(scale, np.float32(np.inf))
            scales.append(scale)
        scales_name = self.const("scales", np.array(scales, dtype=np.float32))
        if method == "nearest":
            attrs = {"mode": "nearest", "nearest_mode": "round_prefer_ceil"}
        else:
            attrs = {"mode": "linear"}
        y = self.op(
            "Resize", [x, "", scales_name], coordinate_transformation_mode="half_pixel", **attrs
        )
        return y, NCHW
