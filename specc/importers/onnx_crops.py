"""ONNX ops that pad or cut a feature map's height and width: Pad and Slice.

A ``Pad`` is a ``zeropadding2d`` for its positive pads and a ``cropping2d``
for its negative ones (ONNX's negative pad removes cells); the two act on
different ends, so their order does not matter. A ``Slice`` of height or
width with step 1 is a ``cropping2d``; torch writes one ``Slice`` per axis
(``x[:, :, 1:-1, 2:]``), and consecutive crops are joined by the fusion pass.
"""

from __future__ import annotations

import numpy as np

from specc.codes import E704
from specc.importers.onnx_model import NodeError, Tensor

Pads = tuple[tuple[int, int], tuple[int, int]]
NONE: Pads = ((0, 0), (0, 0))


class CropOps:
    """``op_<op in snake case>`` methods of :class:`~specc.importers.onnx_ops.Translator`."""

    def crop(self, node, source: Tensor, cropping: Pads) -> None:
        """The node's output: a ``cropping2d`` of ``source`` by ``((top, bottom), (left, right))``.

        Its shape is computed here: shape inference leaves a Pad's output open when its
        pads are computed (torch's ``ZeroPad2d`` builds them from a reversed list).
        """
        (top, bottom), (left, right) = cropping
        c, h, w = source.shape
        if top + bottom >= h or left + right >= w:
            raise NodeError(E704, f"cuts {cropping} from a {h}x{w} map, which leaves nothing")
        out = self.add_layer(
            node, "cropping2d", {"cropping": cropping}, [source.layer], nonneg=source.nonneg
        )
        out.shape = (c, h - top - bottom, w - left - right)
        self.layers[-1].output_shape = (out.shape[1], out.shape[2], c)

    def _zero_padded(self, node, x: Tensor, padding: Pads, suffix: str) -> Tensor:
        (top, bottom), (left, right) = padding
        c, h, w = x.shape
        params = {"padding": padding}
        out = self.add_layer(
            node, "zeropadding2d", params, [x.layer], nonneg=x.nonneg, suffix=suffix
        )
        out.shape = (c, h + top + bottom, w + left + right)
        self.layers[-1].output_shape = (out.shape[1], out.shape[2], c)
        return out

    def op_pad(self, node) -> None:
        x = self.feature_map(node)
        mode = self.attr(node, "mode", "constant")
        pads = self.attr(node, "pads", None) if self.opset < 11 else self.const(node, 1, "pads")
        value = self.attr(node, "value", 0.0) if self.opset < 11 else self.const(node, 2, "value")
        if len(node.input) > 3 and node.input[3]:
            raise NodeError(E704, "pads selected axes; specc pads height and width")
        p = [int(v) for v in np.asarray(pads).reshape(-1)]
        if len(p) != 8 or p[0] or p[1] or p[4] or p[5]:
            raise NodeError(E704, f"pads {p}; specc pads only height and width")
        padding: Pads = ((max(p[2], 0), max(p[6], 0)), (max(p[3], 0), max(p[7], 0)))
        cropping: Pads = ((max(-p[2], 0), max(-p[6], 0)), (max(-p[3], 0), max(-p[7], 0)))
        if padding != NONE and mode != "constant":
            raise NodeError(E704, f"pads in mode {mode}; Keras pads with zeros")
        fill = 0.0 if value is None else float(np.asarray(value))
        if padding != NONE and fill != 0.0:
            raise NodeError(E704, f"pads with {fill}; Keras pads with zeros")
        if padding == NONE and cropping == NONE:
            self.alias(node, x)
            return
        if padding != NONE:  # the crop, if any, takes the node's name
            x = self._zero_padded(node, x, padding, "_pad" if cropping != NONE else "")
        if cropping != NONE:
            self.crop(node, x, cropping)

    def op_slice(self, node) -> None:
        x = self.tensor(node)
        shape = (1, *x.shape)  # ONNX's, batch included
        starts = self.const(node, 1, "starts")
        ends = self.const(node, 2, "ends")
        axes = self.const(node, 3, "axes")
        steps = self.const(node, 4, "steps")
        if self.opset < 10:
            starts, ends = self.attr(node, "starts"), self.attr(node, "ends")
            axes = self.attr(node, "axes", None)
        starts = np.asarray(starts).reshape(-1)
        axes = range(len(starts)) if axes is None else np.asarray(axes).reshape(-1)
        steps = np.ones(len(starts), np.int64) if steps is None else np.asarray(steps)
        ends, steps = np.asarray(ends).reshape(-1), steps.reshape(-1)
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise NodeError(E704, "has starts, ends, axes and steps of different lengths")
        feature_map = x.layout == "nchw" and len(shape) == 4
        cut: dict[int, tuple[int, int]] = {}
        for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
            axis = int(axis) % len(shape)
            n = shape[axis]
            begin = int(np.clip(start + n if start < 0 else start, 0, n))
            stop = int(np.clip(end + n if end < 0 else end, 0, n))
            if (begin, stop) == (0, n) and step == 1:
                continue
            if not feature_map or axis not in (2, 3) or step != 1:
                raise NodeError(
                    E704,
                    f"slices axis {axis} of a tensor of shape {x.shape} (batch left out) with "
                    f"step {int(step)}; specc crops only the height and width of a feature map",
                )
            cut[axis] = (begin, n - stop)
        cropping: Pads = (cut.get(2, (0, 0)), cut.get(3, (0, 0)))
        if cropping == NONE:
            self.alias(node, x)
            return
        self.crop(node, x, cropping)
