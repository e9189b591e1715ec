"""The numpy runtime's window ops: convolutions (fused with a max pooling or not) and poolings.

A mixin of :class:`specc.runtime.numpy_backend.NumpyBackend`: each method is
named after an op kind, receives the :class:`~specc.lower.Op` (its window
resolved by the lowering stage) and its weights on the device, and returns
the function computing the op's output from its input arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np

from specc.lower import Op, Window
from specc.runtime import nn, winograd
from specc.runtime.activations import activate_inplace
from specc.runtime.compiled import activation_mode
from specc.runtime.numpy_depthwise import compiled_depthwise
from specc.runtime.threads import SPLIT_PIECES, even_slices, run_split, split_width

Array = Any
Fn = Callable[[list[Array]], Array]
IM2COL_VALUES = 2**18
"""Values of im2col rows per piece of a convolution on the CPU (1 MiB, in L2)."""
MIN_COLUMN_BLOCK = 64
"""Fewest output channels in a piece of a product cut by channels."""


def is_depthwise(op: Op) -> bool:
    """True for an op computed as a depthwise convolution (also a separable one's
    first half, and a grouped Conv2D with one input channel per group)."""
    if op.kind in ("depthwiseconv2d", "separableconv2d"):
        return True
    groups = getattr(op.layer, "groups", 1)
    return op.kind == "conv2d" and groups > 1 and op.input_shapes[0][-1] == groups


def uses_winograd(op: Op) -> bool:
    """True for a Conv2D (fused with its pooling or not) that Winograd computes on the
    CPU (:func:`specc.runtime.winograd.applies`), when the backend uses Winograd."""
    if op.kind not in ("conv2d", "conv2d_maxpool") or op.window is None:
        return False
    kernel = (*op.window.kernel, op.input_shapes[0][-1], op.output_shape[-1])
    return winograd.applies(kernel, op.window.strides, op.window.dilation, op.layer.groups)


class WindowOps:
    """Convolutions and local poolings; the backend sets ``xp``, ``winograd``,
    ``compiled`` and ``_bias_rows``."""

    xp: Any
    compiled: ModuleType | None
    winograd: bool
    _bias_rows: dict[tuple[int, int], Array]

    def _finish(self, op: Op, y: Array, bias: Array | None) -> Array:
        """A fresh output ``y`` with the bias added and the op's activation applied, in place.

        On the CPU with numba, one compiled pass does both (a bare relu or
        relu6 stays NumPy's one ``clip``).
        """
        fused = self.compiled and activation_mode(op.activation)
        if fused and (bias is not None or fused[0] != 0) and y.flags.c_contiguous:
            width = y.shape[-1]
            shift = bias if bias is not None else np.zeros(width, np.float32)
            self.compiled.bias_rows(y.reshape(-1, width), shift, *fused)
            return y
        if bias is not None:
            self._add_bias(op, y, bias)
        return self._activate(y, op.activation)

    def _activate(self, y: Array, name: str | None) -> Array:
        """A fresh array ``y`` through activation ``name``, in place where it can be.

        With the compiled kernels loaded, silu and gelu are theirs (as in the
        ops that fuse them), so that fusing an activation into the op before
        it changes no number.
        """
        mode = self.compiled and activation_mode(name)
        if mode and mode[0] >= 2 and y.flags.c_contiguous and y.dtype == np.float32:
            self.compiled.activate_rows(y.reshape(-1, y.shape[-1]), *mode)
            return y
        return activate_inplace(self.xp, y, name)

    def _add_bias(self, op: Op, y: Array, bias: Array) -> None:
        """``y += bias`` over the last axis, a whole row of pixels per NumPy inner loop.

        Broadcasting a (F,) bias makes NumPy's inner loops F values long;
        adding the bias tiled along the width runs about twice as fast.
        """
        width = y.shape[-2] if y.ndim >= 3 else 1
        if not y.flags.c_contiguous or width == 1:
            y += bias
            return
        key = (op.index, width)
        row = self._bias_rows.get(key)
        if row is None:
            row = self._bias_rows[key] = self.xp.tile(bias, width)
        rows = y.reshape(-1, row.shape[0])
        rows += row

    def _conv(self, op: Op, w: dict[str, Array], pooled: bool) -> Fn:
        """Conv2D by Winograd, or im2col and one matrix product (per group)."""
        layer, xp, window = op.layer, self.xp, op.window
        assert window is not None
        kernel, bias = w["kernel"], w.get("bias")
        if self.winograd and uses_winograd(op):
            u = winograd.transform_kernel(kernel)

            mode = self.compiled and activation_mode(op.activation)
            clamp = (mode[1], mode[2]) if mode and mode[0] == 0 else (-np.inf, np.inf)

            def fast(inputs: list[Array]) -> Array:
                x = inputs[0]
                macs = op.node.macs * x.shape[0]
                run = partial(run_split, macs=macs) if xp is np else None
                if self.compiled and not pooled and run is not None:
                    y = winograd.conv3x3_compiled(
                        self.compiled, x, u, window, bias, clamp, run, split_width(macs)
                    )
                    return y if mode and mode[0] == 0 else self._activate(y, op.activation)
                y = winograd.conv3x3(xp, x, u, window, pooled, run, split_width(macs))
                return self._finish(op, y, bias)

            return fast
        if xp is np and is_depthwise(op) and not pooled:
            # One input channel per group (ConvNeXt's 7x7): a depthwise
            # convolution, output channel g * M + m from input channel g.
            kh, kw, _, f = kernel.shape
            depthwise = kernel.reshape(kh, kw, layer.groups, f // layer.groups)
            return self._depthwise(op, depthwise, bias)
        matrix = None
        if layer.groups == 1:
            # The bias rides along in the matrix product (a column of ones in
            # the im2col copy), unless the pooling leaves a quarter of the
            # values to add it to, or a 1x1 kernel reads its input uncopied.
            inline = not pooled and kernel.shape[:2] != (1, 1)
            matrix = nn.kernel_matrix(kernel, bias if inline else None, xp)
            bias = None if inline else bias
        elif xp is np and not pooled:
            matrix = nn.grouped_kernel(np, kernel, layer.groups)

        def op_fn(inputs: list[Array]) -> Array:
            # On the CPU by pieces (im2col in cache; 1x1 products only when
            # spread over threads: whole, BLAS runs them faster alone).
            macs = op.node.macs * inputs[0].shape[0]
            pieces = split_width(macs) > 1 or kernel.shape[:2] != (1, 1) or layer.groups > 1
            if matrix is not None and not pooled and xp is np and pieces:
                return self._split_product(op, inputs[0], matrix, bias)
            y = nn.conv2d(xp, inputs[0], kernel, window, layer.groups, matrix, pooled)
            return self._finish(op, y, bias)

        return op_fn

    def _split_product(
        self, op: Op, x: Array, matrix: Array, bias: Array | None, window: Window | None = None
    ) -> Array:
        """A convolution on the CPU by pieces of output rows, over the threads
        :func:`~specc.runtime.threads.run_split` allows (``window``: the op's,
        or a 1x1 one for a Dense layer over a map).

        Each piece builds its own im2col rows (about :data:`IM2COL_VALUES`
        values, in cache; a one-group 1x1 kernel reads its input uncopied),
        multiplies them and adds the bias and activation while the result is
        in cache. ``matrix`` is :func:`~specc.runtime.nn.kernel_matrix`'s, or
        :func:`~specc.runtime.nn.grouped_kernel`'s for a grouped convolution:
        then the rows come group by group and each group's product writes its
        channels of the output in place.
        """
        window = window or op.window
        assert window is not None
        (kh, kw), sh, dh = window.kernel, window.strides[0], window.dilation[0]
        columns = x.shape[-1] * kh * kw
        groups = matrix.shape[0] if matrix.ndim == 3 else 1
        with_bias = groups == 1 and matrix.shape[0] == columns + 1
        n, f = x.shape[0], matrix.shape[-1] * groups
        ho, wo = window.out_hw
        width = split_width(op.node.macs * n)
        pointwise = (kh, kw) == (1, 1) and groups == 1
        # Fewer pixels than output channels (late maps, one image): cut by rows,
        # every thread would pack the whole kernel for its few rows; instead
        # each multiplies all the rows by its block of kernel columns.
        by_columns = width > 1 and groups == 1 and n * ho * wo < f
        x = nn.pad_hw(np, x, window.pads)
        if pointwise or by_columns:
            cols, _ = nn.im2col(np, x, window, with_bias)
        if by_columns:
            return self._split_columns(op, cols, matrix, bias, width, (n, ho, wo, f))
        step = -(-ho // (SPLIT_PIECES * width)) if width > 1 else ho
        if not pointwise:
            step = max(1, min(step, IM2COL_VALUES // (wo * (columns + with_bias))))
        pieces = [(i, r0, min(ho, r0 + step)) for i in range(n) for r0 in range(0, ho, step)]
        out = np.empty((n, ho, wo, f), dtype=np.float32)

        def piece(index: int) -> None:
            i, r0, r1 = pieces[index]
            if pointwise:
                rows = cols[(i * ho + r0) * wo : (i * ho + r1) * wo]
            else:
                part = replace(window, out_hw=(r1 - r0, wo))
                inputs = x[i : i + 1, r0 * sh : (r1 - 1) * sh + (kh - 1) * dh + 1]
                if groups > 1:
                    rows = nn.im2col_grouped(inputs, part, groups)
                else:
                    rows, _ = nn.im2col(np, inputs, part, with_bias)
            y = out[i, r0:r1]
            if groups > 1:
                by_group = y.reshape(-1, groups, f // groups).transpose(1, 0, 2)
                np.matmul(rows.transpose(1, 0, 2), matrix, out=by_group)
            else:
                np.matmul(rows, matrix, out=y.reshape(-1, f))
            done = self._finish(op, y, bias)
            if done is not y:
                y[...] = done

        run_split(len(pieces), piece, op.node.macs * n)
        return out

    def _split_columns(
        self, op: Op, rows: Array, matrix: Array, bias: Array | None, width: int, shape: tuple
    ) -> Array:
        """``rows @ matrix`` by blocks of output channels over ``width`` threads, then the
        bias and activation over the whole output (small: a few pixels)."""
        out = np.empty(shape, dtype=np.float32)
        flat = out.reshape(-1, shape[-1])
        count = min(width * SPLIT_PIECES, max(1, shape[-1] // MIN_COLUMN_BLOCK))
        blocks = even_slices(shape[-1], count)

        def block(index: int) -> None:
            columns = blocks[index]
            np.matmul(rows, matrix[:, columns], out=flat[:, columns])

        run_split(len(blocks), block, op.node.macs * shape[0])
        return self._finish(op, out, bias)

    def conv2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras Conv2D: Winograd, or im2col and one matrix product (per group)."""
        return self._conv(op, w, pooled=False)

    def conv2d_maxpool(self, op: Op, w: dict[str, Array]) -> Fn:
        """A Conv2D with its 2x2 max pooling: only the four window corners are computed."""
        return self._conv(op, w, pooled=True)

    def conv2d_scaled(self, op: Op, w: dict[str, Array]) -> Fn:
        """A 1x1 Conv2D of a map times a (1, 1, C) factor
        (:func:`~specc.lower.passes.fuse_scale_into_conv`): the kernel's rows
        scaled by each image's factor, then one matrix product per image.

        Where the map has fewer pixels than the kernel has columns (the late,
        small maps) scaling the map is the smaller pass, and it is the one done.
        """
        xp, kernel, bias = self.xp, w["kernel"], w.get("bias")
        channels, filters = kernel.shape[2], kernel.shape[3]
        matrix = kernel.reshape(channels, filters)
        h, wd = op.input_shapes[0][:2]
        scale_kernel = h * wd > filters

        def op_fn(inputs: list[Array]) -> Array:
            x, factor = inputs
            n = x.shape[0]
            if scale_kernel:
                scaled = factor.reshape(n, channels, 1) * matrix
                y = xp.matmul(x.reshape(n, h * wd, channels), scaled)
            else:
                y = (x * factor).reshape(n * h * wd, channels) @ matrix
            return self._finish(op, y.reshape(n, h, wd, filters), bias)

        return op_fn

    def depthwiseconv2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras DepthwiseConv2D: a multiply-add per kernel tap over all channels."""
        return self._depthwise(op, w["kernel"], w.get("bias"))

    def _depthwise(self, op: Op, kernel: Array, bias: Array | None) -> Fn:
        """A depthwise convolution with ``kernel`` (kh, kw, C, M), then bias and activation."""
        xp, window = self.xp, op.window
        if self.compiled is not None:
            run = compiled_depthwise(self.compiled, kernel, bias, window, op.activation)
            return lambda inputs: run(inputs[0])

        def finish(y: Array) -> Array:
            return self._finish(op, y, bias)

        def op_fn(inputs: list[Array]) -> Array:
            return nn.depthwise_conv2d(xp, inputs[0], kernel, window, finish)

        return op_fn

    def separableconv2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras SeparableConv2D: depthwise, then a 1x1 convolution, then bias."""
        xp, window = self.xp, op.window
        depthwise, bias = w["depthwise_kernel"], w.get("bias")
        pointwise = w["pointwise_kernel"]
        mid, filters = pointwise.shape[2], pointwise.shape[3]
        pointwise = pointwise.reshape(mid, filters)
        compiled = self.compiled
        first = compiled and compiled_depthwise(compiled, depthwise, None, window, None)

        def op_fn(inputs: list[Array]) -> Array:
            y = first(inputs[0]) if first else nn.depthwise_conv2d(xp, inputs[0], depthwise, window)
            n, h, wd, _ = y.shape
            y = (y.reshape(n * h * wd, mid) @ pointwise).reshape(n, h, wd, filters)
            return self._finish(op, y, bias)

        return op_fn

    def conv2dtranspose(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras Conv2DTranspose: one matrix product, then col2im over the kernel taps."""
        xp, window = self.xp, op.window
        kernel, bias = w["kernel"], w.get("bias")

        def op_fn(inputs: list[Array]) -> Array:
            y = nn.conv2d_transpose(xp, inputs[0], kernel, window)
            if bias is not None:
                y = y + bias
            return self._activate(y, op.activation)

        return op_fn

    def maxpooling2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras MaxPooling2D (with the activation a pass deferred to it, if any)."""
        xp, window = self.xp, op.window
        return lambda inputs: self._finish(op, nn.max_pool(xp, inputs[0], window), None)

    def averagepooling2d(self, op: Op, w: dict[str, Array]) -> Fn:
        """Keras AveragePooling2D (padded cells not counted)."""
        xp, window = self.xp, op.window
        return lambda inputs: nn.avg_pool(xp, inputs[0], window)
