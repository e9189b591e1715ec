"""Windowed and weighted ONNX ops: Conv, ConvTranspose, pooling, Gemm/MatMul, BatchNormalization.

Paddings are resolved against Keras's rules in :mod:`specc.ir.shapes`: an
ONNX padding equal to what Keras's ``same`` adds is ``same``; no padding is
``valid``; any other becomes an explicit ``zeropadding2d`` before a
``valid`` window, which is exact for convolutions, for average pooling that
counts the padded cells, and for max pooling over values >= 0 (after a
ReLU). Trailing padding that no window reaches is dropped first, so a
padding that differs from Keras's only where nothing reads it is ``same``.
A transposed convolution whose crop (its ``pads``) is neither Keras's
``valid`` nor ``same`` is a ``valid`` one followed by a ``cropping2d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc.codes import E704
from specc.importers.onnx_model import NodeError, Tensor
from specc.ir import shapes as sh

Pads = tuple[tuple[int, int], tuple[int, int]]


class WindowOps:
    """``op_<op in snake case>`` methods of :class:`~specc.importers.onnx_ops.Translator`."""

    # -- paddings ----------------------------------------------------------------------

    def _pads(self, node, hw, kernel, strides, dilation, out_hw) -> tuple[Pads, Pads]:
        """ONNX's ((top, bottom), (left, right)), and the same with the end padding as far as
        the windows reach: less where no window reads the last cells, more where a
        ``ceil_mode`` window reaches past them."""
        auto = self.attr(node, "auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pairs = [sh.same_padding(*a) for a in zip(hw, kernel, strides, dilation, strict=True)]
            if auto == "SAME_LOWER":
                pairs = [(b, a) for a, b in pairs]
        elif auto == "VALID":
            pairs = [(0, 0), (0, 0)]
        else:
            p = list(self.attr(node, "pads", [0, 0, 0, 0]))
            pairs = [(p[0], p[2]), (p[1], p[3])]
        if min(min(pair) for pair in pairs) < 0:
            raise NodeError(E704, f"has negative pads {pairs} (a crop)")
        reached = []
        for (before, _), n, k, s, d, o in zip(
            pairs, hw, kernel, strides, dilation, out_hw, strict=True
        ):
            reach = (o - 1) * s + d * (k - 1) + 1 - n - before  # cells read past the end
            reached.append((before, max(reach, 0)))
        return (pairs[0], pairs[1]), (reached[0], reached[1])

    def _window(self, node, x: Tensor, kernel) -> tuple[Any, Any, Pads, Pads, tuple[int, int]]:
        strides = tuple(self.attr(node, "strides", [1, 1]))
        dilation = tuple(self.attr(node, "dilations", [1, 1]))
        out_hw = self.out_shape(node)[1:]
        pads, reached = self._pads(node, x.shape[1:], kernel, strides, dilation, out_hw)
        return strides, dilation, pads, reached, x.shape[1:]

    def _padded(self, node, x: Tensor, pads: Pads) -> str:
        """The name of ``x`` after an explicit zeropadding2d of ``pads`` (x itself for none)."""
        if pads == ((0, 0), (0, 0)):
            return x.layer
        self.add_layer(node, "zeropadding2d", {"padding": pads}, [x.layer], suffix="_pad")
        return self.layers[-1].name

    # -- convolutions ------------------------------------------------------------------

    def op_conv(self, node) -> None:
        x = self.feature_map(node)
        w = self.const(node, 1, "kernel")
        b = self.const(node, 2, "bias")
        if w is None or w.ndim != 4:
            raise NodeError(E704, "is not a 2-D convolution")
        kernel = tuple(self.attr(node, "kernel_shape", list(w.shape[2:])))
        group = self.attr(node, "group", 1)
        strides, dilation, pads, reached, hw = self._window(node, x, kernel)
        same = sh.window_padding(hw, kernel, strides, "same", dilation)
        padding, pre = _choose(pads, reached, same)
        c_in, c_out = x.shape[0], w.shape[0]
        depthwise = group == c_in and group > 1 and c_out % c_in == 0
        if not depthwise and max(strides) > 1 and max(dilation) > 1:
            raise NodeError(E704, "has strides and dilations both above 1, which Keras refuses")
        source = self._padded(node, x, pre)
        common = {"kernel_size": kernel, "strides": strides, "padding": padding}
        common["dilation_rate"] = dilation
        common["use_bias"] = b is not None
        bias = [b] if b is not None else []
        if depthwise:
            m = c_out // c_in
            k = w.reshape(c_in, m, *kernel).transpose(2, 3, 0, 1)
            params = {**common, "depth_multiplier": m}
            self.add_layer(node, "depthwiseconv2d", params, [source], [k, *bias])
        else:
            params = {"filters": c_out, **common, "groups": group}
            self.add_layer(node, "conv2d", params, [source], [w.transpose(2, 3, 1, 0), *bias])

    def op_conv_transpose(self, node) -> None:
        x = self.feature_map(node)
        w = self.const(node, 1, "kernel")
        b = self.const(node, 2, "bias")
        if w is None or w.ndim != 4:
            raise NodeError(E704, "is not a 2-D transposed convolution")
        if self.attr(node, "group", 1) != 1:
            raise NodeError(E704, "has groups, which Keras's Conv2DTranspose does not")
        kernel = tuple(self.attr(node, "kernel_shape", list(w.shape[2:])))
        strides = tuple(self.attr(node, "strides", [1, 1]))
        dilation = tuple(self.attr(node, "dilations", [1, 1]))
        out_hw = self.out_shape(node)[1:]
        if self.attr(node, "auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise NodeError(E704, "uses auto_pad SAME, which maps to no Keras padding")
        if max(strides) > 1 and max(dilation) > 1:
            raise NodeError(E704, "has strides and dilations both above 1, which Keras refuses")
        if self.attr(node, "output_shape", None) is not None:
            raise NodeError(E704, "sets output_shape; specc reads the crop from pads")
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        if min(pads) < 0:
            raise NodeError(E704, f"has negative pads {pads}")
        begins = (pads[0], pads[1])
        choice = _transpose_padding(x.shape[1:], kernel, strides, dilation, begins, out_hw)
        cropping = None
        if choice is None:  # a valid transposed convolution, then its crop
            choice, cropping = _transpose_crop(
                x.shape[1:], kernel, strides, dilation, begins, out_hw
            )
        padding, output_padding = choice
        params = {"filters": w.shape[1], "kernel_size": kernel, "strides": strides}
        params.update(padding=padding, output_padding=output_padding, dilation_rate=dilation)
        params["use_bias"] = b is not None
        weights = [w.transpose(2, 3, 1, 0), *([b] if b is not None else [])]
        if cropping is None:
            self.add_layer(node, "conv2dtranspose", params, [x.layer], weights)
            return
        full = self.add_layer(node, "conv2dtranspose", params, [x.layer], weights, suffix="_full")
        full.shape = (w.shape[1], *(o + sum(c) for o, c in zip(out_hw, cropping, strict=True)))
        self.layers[-1].output_shape = (*full.shape[1:], full.shape[0])
        self.crop(node, full, cropping)

    # -- pooling -----------------------------------------------------------------------

    def op_max_pool(self, node) -> None:
        self._pool(node, "maxpooling2d")

    def op_average_pool(self, node) -> None:
        self._pool(node, "averagepooling2d")

    def _pool(self, node, kind: str) -> None:
        x = self.feature_map(node)
        if len(node.output) > 1 and node.output[1]:
            raise NodeError(E704, "returns the indices of its maxima, which Keras does not")
        kernel = tuple(self.attr(node, "kernel_shape"))
        strides, dilation, pads, reached, hw = self._window(node, x, kernel)
        if max(dilation) > 1:
            raise NodeError(E704, "has dilations, which Keras's pooling does not")
        same = sh.window_padding(hw, kernel, strides, "same")
        padding, pre = _choose(pads, reached, same)
        counted = self.attr(node, "count_include_pad", 0) and pads != ((0, 0), (0, 0))
        if kind == "averagepooling2d" and counted:
            # The padded cells count in the averages: zeros are exact, Keras's 'same' is not,
            # unless a ceil_mode window reaches past the padding (those cells never count).
            if any(reached[a][1] > pads[a][1] for a in (0, 1)):
                raise NodeError(
                    E704, "counts its padded cells, and a ceil_mode window reaches past them"
                )
            padding, pre = "valid", pads
        elif pre != ((0, 0), (0, 0)) and not (kind == "maxpooling2d" and x.nonneg):
            why = (
                "over values that may be negative"
                if kind == "maxpooling2d"
                else "leaving padded cells out"
            )
            raise NodeError(
                E704,
                f"pads {reached} {why}; Keras's 'same' pads {same}, and zeros in their place "
                "would change the result",
            )
        source = self._padded(node, x, pre)
        params = {"pool_size": kernel, "strides": strides, "padding": padding}
        self.add_layer(node, kind, params, [source], nonneg=x.nonneg)

    def op_global_average_pool(self, node) -> None:
        x = self.feature_map(node)
        self.add_layer(
            node, "globalaveragepooling2d", {"keepdims": True}, [x.layer], nonneg=x.nonneg
        )

    def op_global_max_pool(self, node) -> None:
        x = self.feature_map(node)
        self.add_layer(node, "globalmaxpooling2d", {"keepdims": True}, [x.layer], nonneg=x.nonneg)

    def op_reduce_mean(self, node) -> None:
        self._reduce(node, "globalaveragepooling2d")

    def op_reduce_max(self, node) -> None:
        self._reduce(node, "globalmaxpooling2d")

    def _reduce(self, node, kind: str) -> None:
        x = self.feature_map(node)
        axes = self.attr(node, "axes", None)
        if axes is None and len(node.input) > 1:
            axes = self.const(node, 1, "axes")
        axes = sorted(int(a) % 4 for a in (axes if axes is not None else []))
        if axes != [2, 3]:
            raise NodeError(E704, f"reduces over axes {axes}; specc's global pooling takes H and W")
        keep = bool(self.attr(node, "keepdims", 1))
        self.add_layer(
            node,
            kind,
            {"keepdims": keep},
            [x.layer],
            layout="nchw" if keep else "plain",
            nonneg=x.nonneg,
        )

    # -- dense and normalization -------------------------------------------------------

    def _dense_input(self, node) -> Tensor:
        x = self.tensor(node, 0)
        if x.layout == "nchw":
            raise NodeError(E704, "multiplies a feature map; specc's dense takes a vector here")
        return x

    def _dense(self, node, x: Tensor, kernel: np.ndarray, bias: np.ndarray | None) -> None:
        if x.layout == "flat":  # rows in C, H, W order; the spec flattens H, W, C
            c, h, w = x.chw  # type: ignore[misc]
            kernel = kernel.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)
        units = kernel.shape[1]
        weights = [kernel, *([bias] if bias is not None else [])]
        params = {"units": units, "use_bias": bias is not None}
        self.add_layer(node, "dense", params, [x.layer], weights, layout="plain")

    def op_gemm(self, node) -> None:
        x = self._dense_input(node)
        b = self.const(node, 1, "kernel")
        c = self.const(node, 2, "bias")
        if self.attr(node, "transA", 0):
            raise NodeError(E704, "transposes its input (transA=1)")
        kernel = (b.T if self.attr(node, "transB", 0) else b) * self.attr(node, "alpha", 1.0)
        bias = None
        if c is not None:
            bias = np.broadcast_to(c * self.attr(node, "beta", 1.0), (kernel.shape[1],)).copy()
        self._dense(node, x, kernel, bias)

    def op_mat_mul(self, node) -> None:
        x = self._dense_input(node)
        b = self.const(node, 1, "kernel")
        if b is None or b.ndim != 2 or len(x.shape) != 1:
            raise NodeError(E704, "is not a vector times a constant matrix")
        self._dense(node, x, b, None)

    def op_batch_normalization(self, node) -> None:
        x = self.tensor(node, 0)
        if x.layout == "flat" or (x.layout == "plain" and len(x.shape) != 1):
            raise NodeError(E704, f"normalizes a tensor of shape {x.shape} on axis 1")
        if self.attr(node, "training_mode", 0) or any(n for n in node.output[1:]):
            raise NodeError(E704, "is in training mode; export the model in eval mode")
        arrays = [self.const(node, k, what) for k, what in enumerate(_BN_WEIGHTS, 1)]
        params = {"epsilon": float(self.attr(node, "epsilon", 1e-5))}
        params["momentum"] = float(self.attr(node, "momentum", 0.9))
        self.add_layer(node, "batchnormalization", params, [x.layer], arrays, layout=x.layout)


_BN_WEIGHTS = ("scale", "bias", "mean", "variance")


def _choose(pads: Pads, reached: Pads, same: Pads) -> tuple[str, Pads]:
    """``(padding, explicit pads before the window)`` for a window with ONNX's ``pads``.

    ``reached`` is the padding the windows actually read: where it is Keras's
    ``same`` (or none), no explicit padding is needed; otherwise ONNX's own
    padding is written, grown at the end where a ``ceil_mode`` window reads past it.
    """
    none = ((0, 0), (0, 0))
    if reached == none:
        return "valid", none
    if reached == same:
        return "same", none
    grown = tuple((p[0], max(p[1], r[1])) for p, r in zip(pads, reached, strict=True))
    return "valid", grown  # type: ignore[return-value]


def _transpose_padding(hw, kernel, strides, dilation, begins, out_hw):
    """Keras's (padding, output_padding) that gives ONNX's output and crop, or None."""
    options: list[tuple[str, tuple[int, int] | None]] = [("valid", None), ("same", None)]
    out_pad = tuple(
        o - ((n - 1) * s + d * (k - 1) + 1)
        for o, n, k, s, d in zip(out_hw, hw, kernel, strides, dilation, strict=False)
    )
    if all(0 <= p < s for p, s in zip(out_pad, strides, strict=True)):
        options.append(("valid", out_pad))
    same_pad = tuple(
        o - ((n - 1) * s + (d * (k - 1) + 1) - 2 * ((d * (k - 1) + 1) // 2))
        for o, n, k, s, d in zip(out_hw, hw, kernel, strides, dilation, strict=False)
    )
    if all(0 <= p < s for p, s in zip(same_pad, strides, strict=True)):
        options.append(("same", same_pad))
    for padding, output_padding in options:
        ops = output_padding or (None, None)
        lengths = tuple(
            sh.conv_transpose_output_length(n, k, s, padding, op, d)
            for n, k, s, op, d in zip(hw, kernel, strides, ops, dilation, strict=False)
        )
        if lengths != tuple(out_hw):
            continue
        crops = tuple(
            0 if padding == "valid" else max((n - 1) * s + d * (k - 1) + 1 - o, 0) // 2
            for n, k, s, d, o in zip(hw, kernel, strides, dilation, out_hw, strict=False)
        )
        if crops == tuple(begins):
            return padding, output_padding
    return None


def _transpose_crop(hw, kernel, strides, dilation, begins, out_hw):
    """``((padding, output_padding), cropping)``: Keras's valid transposed convolution, whose
    output holds ONNX's before its pads are cut, and the ``cropping2d`` that cuts them."""
    lengths, paddings = [], []
    for n, k, s, d, begin, o in zip(hw, kernel, strides, dilation, begins, out_hw, strict=True):
        extra = begin + o - ((n - 1) * s + d * (k - 1) + 1)  # cells ONNX's output_padding adds
        if extra >= s:
            raise NodeError(E704, f"adds output_padding {extra}, not less than its stride {s}")
        paddings.append(max(extra, 0))
    output_padding = tuple(paddings) if any(paddings) else None
    ops = output_padding or (None, None)
    for n, k, s, d, op in zip(hw, kernel, strides, dilation, ops, strict=True):
        lengths.append(sh.conv_transpose_output_length(n, k, s, "valid", op, d))
    cropping = tuple(
        (begin, length - begin - o)
        for begin, length, o in zip(begins, lengths, out_hw, strict=True)
    )
    return ("valid", output_padding), cropping
