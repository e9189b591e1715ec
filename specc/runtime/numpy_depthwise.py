"""The CPU depthwise convolution: one einsum multiply-add over every kernel tap, by blocks.

NumPy's multiply and add are one pass each over their operands, so a 3x3
depthwise convolution written as a multiply-add per tap is 17 passes over
its output, and a tap's (C,) weights broadcast over a row make NumPy's
loops only C values long. Here each block of output rows
(:data:`DEPTHWISE_BLOCK` values) first copies the padded input rows it reads
(:func:`_padded_rows`; a strided convolution's split by column phase, every
column ``sw * j + p`` of phase ``p`` adjacent), so that each output row reads
one run of ``wo * C`` adjacent values per tap. Then ``np.einsum`` over a
strided view with the taps as two more axes, against the kernel tiled along
the row, accumulates every tap in one pass each (:func:`_taps_into`), and the
bias and activation run on the block while it is in cache. The blocks are
independent; :func:`specc.runtime.threads.run_split` spreads them over the
cores when the op may use more than one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from specc.runtime.activations import activate_inplace
from specc.runtime.compiled import activation_mode
from specc.runtime.threads import run_split

if TYPE_CHECKING:
    from specc.lower import Window

DEPTHWISE_BLOCK = 65536
"""Output values per block: with its input rows, well inside a core's L2
(MobileNetV2: 32K to 256K values within noise, 16K slower)."""


def depthwise_conv2d(
    x: np.ndarray, kernel: np.ndarray, window: Window, finish: Callable | None = None
) -> np.ndarray:
    """Keras DepthwiseConv2D (no bias) of ``x`` (N, H, W, C): ``kernel`` (kh, kw, C, M).

    ``finish`` (the bias and activation, in place; it returns the finished
    block) is applied to each block while it is in cache.
    """
    kh, kw, c, mult = kernel.shape
    n = x.shape[0]
    ho, wo = window.out_hw
    sw, dw = window.strides[1], window.dilation[1]
    width = c * mult
    # The kernel columns by input column phase: tap b reads padded column
    # sw * j + b * dw, phase (b * dw) % sw, column (b * dw) // sw of that phase.
    groups: dict[int, list[int]] = {}
    for b in range(kw):
        groups.setdefault(b * dw % sw, []).append(b)
    tiled = np.tile(kernel.reshape(kh, kw, 1, width), (1, 1, wo, 1)).reshape(kh, kw, wo * width)
    plan = [part for phase, taps in sorted(groups.items()) for part in _runs(phase, taps, dw, sw)]
    plan = [(phase, first, step, tiled[:, taps]) for phase, first, step, taps in plan]
    cols = max(first + step * (k.shape[1] - 1) for _, first, step, k in plan) + wo
    out = np.empty((n, ho, wo * width), dtype=x.dtype)
    rows = max(1, DEPTHWISE_BLOCK // (wo * width))
    blocks = [(i, r0, min(ho, r0 + rows)) for i in range(n) for r0 in range(0, ho, rows)]

    def one_block(index: int) -> None:
        i, r0, r1 = blocks[index]
        source = _padded_rows(x[i], r0, r1, window, mult, cols)
        block = out[i, r0:r1]
        _taps_into(block, source, plan, window, wo * width)
        if finish is not None:
            shaped = block.reshape(r1 - r0, wo, width)
            done = finish(shaped)
            if done is not shaped:
                shaped[...] = done

    run_split(len(blocks), one_block, out.size * kh * kw)
    return out.reshape(n, ho, wo, width)


def compiled_depthwise(
    kernels: ModuleType,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    window: Window,
    activation: str | None,
) -> Callable[[np.ndarray], np.ndarray]:
    """The depthwise convolution with bias and activation, by the compiled kernel
    (:mod:`specc.runtime.compiled`), prepared once for ``kernel`` (kh, kw, C, M).

    Blocks of :data:`DEPTHWISE_BLOCK` output values go over the threads
    :func:`~specc.runtime.threads.run_split` allows. The kernel applies the
    activations :func:`~specc.runtime.compiled.activation_mode` knows; another
    runs on each block after it, in place, while the block is in cache.
    """
    kh, kw, c, mult = kernel.shape
    width = c * mult
    flat = np.ascontiguousarray(kernel.reshape(kh, kw, width), dtype=np.float32)
    shift = np.zeros(width, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    fused = activation_mode(activation)
    after = None if fused is not None else activation
    mode, lo, hi = fused or activation_mode(None)
    (top, _), (left, _) = window.pads
    geometry = np.array([*window.strides, *window.dilation, top, left, mult], dtype=np.int64)
    ho, wo = window.out_hw
    rows = max(1, DEPTHWISE_BLOCK // (wo * width))
    epilogue = (mode, np.float32(lo), np.float32(hi))

    def run(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = x.shape[0]
        out = np.empty((n, ho, wo, width), dtype=np.float32)
        blocks = [(i, r0, min(ho, r0 + rows)) for i in range(n) for r0 in range(0, ho, rows)]

        def one_block(index: int) -> None:
            i, r0, r1 = blocks[index]
            kernels.depthwise_rows(x[i], flat, shift, geometry, *epilogue, r0, r1, out[i])
            if after is not None:
                block = out[i, r0:r1]
                done = activate_inplace(np, block, after)
                if done is not block:
                    block[...] = done

        run_split(len(blocks), one_block, out.size * kh * kw)
        return out

    return run


def _runs(phase: int, taps: list[int], dw: int, sw: int) -> list[tuple[int, int, int, list[int]]]:
    """A phase's kernel columns as runs whose phase columns are evenly spaced:
    (phase, first column, spacing, kernel columns)."""
    offsets = [b * dw // sw for b in taps]
    step = offsets[1] - offsets[0] if len(taps) > 1 else 1
    if all(o == offsets[0] + k * step for k, o in enumerate(offsets)):
        return [(phase, offsets[0], step, taps)]
    return [(phase, o, 1, [b]) for o, b in zip(offsets, taps, strict=True)]


def _padded_rows(
    image: np.ndarray, r0: int, r1: int, window: Window, mult: int, cols: int
) -> np.ndarray:
    """The padded input rows that output rows ``[r0, r1)`` read, split by column phase.

    ``q[p, t, j]`` is padded row ``r0 * sh + t``, padded column ``sw * j + p``,
    its C channels each repeated ``mult`` times (flattened to C*M values).
    Only the padding's cells are zeroed.
    """
    h, w, c = image.shape
    (kh, _), (sh, sw), (dh, _) = window.kernel, window.strides, window.dilation
    (top, _), (left, _) = window.pads
    count = (r1 - r0 - 1) * sh + (kh - 1) * dh + 1
    q = np.empty((sw, count, cols, c * mult), dtype=image.dtype)
    y0 = r0 * sh - top  # the input row of q's first row
    lo, hi = max(0, y0), min(h, y0 + count)
    q[:, : max(0, lo - y0)] = 0
    q[:, max(0, hi - y0) :] = 0
    if lo >= hi:
        return q
    for p in range(sw):
        # Phase columns j read input column sw * j + p - left.
        j0 = min(cols, max(0, -(-(left - p) // sw)))
        j1 = max(j0, min(cols, -(-(w + left - p) // sw)))
        body = q[p, lo - y0 : hi - y0]
        body[:, :j0] = 0
        body[:, j1:] = 0
        if j0 < j1:
            first = sw * j0 + p - left
            source = image[lo:hi, first : first + sw * (j1 - j0 - 1) + 1 : sw]
            target = body[:, j0:j1].reshape(hi - lo, j1 - j0, c, mult)
            target[...] = source[..., None]
    return q


def _taps_into(block: np.ndarray, q: np.ndarray, plan: list, window: Window, span: int) -> None:
    """``block`` (rows, wo*C*M) = the sum over taps of the padded input ``q`` times the kernel.

    One ``einsum`` per run of kernel columns: a multiply-add of every tap in
    one pass over rows of ``span`` adjacent values (a view of ``q`` with the
    taps as two more axes); a second run goes through a buffer and is added.
    """
    (kh, _), (sh, _), (dh, _) = window.kernel, window.strides, window.dilation
    rows = block.shape[0]
    _, _, cols, width = q.shape
    item = q.itemsize
    scratch = None
    for index, (phase, first, step, kernel) in enumerate(plan):
        view = np.lib.stride_tricks.as_strided(
            q[phase, :, first:],
            (kh, kernel.shape[1], rows, span),
            (dh * cols * width * item, step * width * item, sh * cols * width * item, item),
        )
        if index == 0:
            np.einsum("abrw,abw->rw", view, kernel, out=block)
            continue
        if scratch is None:
            scratch = np.empty_like(block)
        np.einsum("abrw,abw->rw", view, kernel, out=scratch)
        block += scratch
