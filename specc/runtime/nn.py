"""Vectorized NHWC float32 operators, written once against an array module ``xp``.

``xp`` is :mod:`numpy` on the CPU or :mod:`cupy` on a GPU: every function here
takes it as an argument and uses only what both modules provide. No function
loops over pixels, batch items or channels; convolutions are im2col (one
strided copy, or one per kernel tap with column dilation) followed by a single
matrix product, optionally fused with a following 2x2 max pooling; pooling is
a reshape where the windows tile the input and a loop over the window taps
otherwise.

Semantics follow Keras 3 (TensorFlow backend): 'same' padding puts the odd
extra pixel at the end, max pooling ignores padded cells, average pooling
divides by the number of real cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc.ir.resampling import resize_matrix as resize_matrix  # used as nn.resize_matrix
from specc.ir.shapes import window_padding

Array = Any  # numpy.ndarray or cupy.ndarray


def on_gpu(xp: Any) -> bool:
    """True when ``xp`` is CuPy (GPU-only kernels may be used)."""
    return xp is not np and getattr(xp, "__name__", "") == "cupy"


GPU_KERNEL_MAX_RUN = 16
GPU_KERNEL_MAX_SIZE = 2**24
"""The CUDA im2col kernel is used for runs of adjacent patch values (kw*C)
shorter than GPU_KERNEL_MAX_RUN, or matrices under GPU_KERNEL_MAX_SIZE values
(one launch instead of three); elsewhere the generic strided copy is faster
(H200: 3 channels, or batch 16 at 64x64, favour the kernel; 32 and 64 channels
at batch 256 the copy)."""


def _gpu_im2col_fits(x: Array, rows: int, cols: int, run: int) -> bool:
    from specc.runtime.cuda_kernels import fits

    return (run < GPU_KERNEL_MAX_RUN or rows * cols < GPU_KERNEL_MAX_SIZE) and fits(x, rows, cols)


def window_pads(
    shape: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) for a window op with Keras's ``padding``."""
    return window_padding(shape, kernel, strides, padding, dilation)


def pad_hw(xp: Any, x: Array, pads: tuple[tuple[int, int], tuple[int, int]], value=0.0) -> Array:
    """``x`` (N, H, W, C) with constant padding on the two spatial axes."""
    (t, b), (left, r) = pads
    if not (t or b or left or r):
        return x
    n, h, w, c = x.shape
    out = xp.full((n, h + t + b, w + left + r, c), value, dtype=x.dtype)
    out[:, t : t + h, left : left + w, :] = x
    return out


def _taps(kernel, strides, dilation, out_hw, origin=(0, 0), step=1):
    """(row slice, column slice) of the padded input for each kernel tap.

    The output grid starts at output pixel ``origin`` and takes every
    ``step``-th output pixel.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    (oy, ox) = origin
    for a in range(kh):
        for b in range(kw):
            top, left = oy * sh + a * dh, ox * sw + b * dw
            rows = slice(top, top + (ho - 1) * sh * step + 1, sh * step)
            cols = slice(left, left + (wo - 1) * sw * step + 1, sw * step)
            yield a, b, rows, cols


def _out_hw(padded_hw, kernel, strides, dilation) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        (n - d * (k - 1) - 1) // s + 1
        for n, k, s, d in zip(padded_hw, kernel, strides, dilation, strict=True)
    )


def im2col(
    xp: Any, x: Array, kernel, strides, dilation, ones: bool = False, pooled: bool = False
) -> tuple[Array, tuple[int, int]]:
    """Patches of padded ``x`` as rows (N*Ho*Wo, kh*kw*C [+1]) and the output size (Ho, Wo).

    Columns run over (kernel row, kernel column, channel), Keras's kernel
    order. With ``ones`` a last column of ones is appended, so that a bias
    can ride along in the matrix product. Without column dilation the kw taps
    of one kernel row are adjacent in memory, and one strided copy fills the
    whole matrix.

    With ``pooled`` the rows come in four blocks, one per corner of the 2x2
    windows of a following max pooling: outputs (2i, 2j), (2i, 2j+1),
    (2i+1, 2j), (2i+1, 2j+1) for i < Ho//2, j < Wo//2; (Ho//2, Wo//2) is
    returned. The pooling is then the maximum of the four blocks.
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    ho, wo = _out_hw((h, w), kernel, strides, dilation)
    sh, sw = strides
    k = kh * kw * c
    if (kh, kw) == (1, 1) and not ones and not pooled:
        view = x[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, :]
        return view.reshape(n * ho * wo, c), (ho, wo)
    step = 2 if pooled else 1
    ho, wo = ho // step, wo // step
    origins = [(oy, ox) for oy in range(step) for ox in range(step)]
    full = xp.empty((len(origins), n, ho, wo, k + int(ones)), dtype=x.dtype)
    if ones:
        full[..., k] = 1
    if full.size == 0:
        return full.reshape(-1, k + int(ones)), (ho, wo)
    # Views by explicit strides (CuPy's reshape of a sliced array may copy).
    fs, item = full.strides, full.dtype.itemsize
    if dilation[1] == 1 and x.flags.c_contiguous:
        # One copy for every phase, output pixel and kernel row: axes (row
        # phase, column phase, N, Ho, Wo, kernel row, kw*C adjacent values).
        # Strides from the shape: numpy leaves the strides of length-1 axes arbitrary.
        s = (h * w * c * item, w * c * item, c * item, item)
        patches = xp.lib.stride_tricks.as_strided(
            x,
            (step, step, n, ho, wo, kh, kw * c),
            (
                s[1] * sh,
                s[2] * sw,
                s[0],
                s[1] * sh * step,
                s[2] * sw * step,
                s[1] * dilation[0],
                s[3],
            ),
        )
        cols = xp.lib.stride_tricks.as_strided(
            full,
            (step, step, n, ho, wo, kh, kw * c),
            (fs[0] * step, fs[0], *fs[1:4], kw * c * item, item),
        )
        cols[...] = patches
    else:
        taps = xp.lib.stride_tricks.as_strided(
            full, (*full.shape[:4], kh, kw, c), (*fs[:4], kw * c * item, c * item, item)
        )
        for p, origin in enumerate(origins):
            for a, b, rs, cs in _taps(kernel, strides, dilation, (ho, wo), origin, step):
                taps[p, :, :, :, a, b, :] = x[:, rs, cs, :]
    return full.reshape(-1, k + int(ones)), (ho, wo)


def kernel_matrix(kernel: Array, bias: Array | None, xp: Any) -> Array:
    """Conv2D's (kh, kw, C, F) kernel as a (kh*kw*C [+1], F) matrix, the bias as its last row."""
    kh, kw, c, f = kernel.shape
    mat = kernel.reshape(kh * kw * c, f)
    if bias is None:
        return xp.ascontiguousarray(mat)
    return xp.concatenate([mat, bias.reshape(1, f)], axis=0)


def conv2d(
    xp: Any,
    x: Array,
    kernel: Array,
    strides=(1, 1),
    dilation=(1, 1),
    pads=((0, 0), (0, 0)),
    groups: int = 1,
    matrix: Array | None = None,
    pooled: bool = False,
) -> Array:
    """Keras Conv2D: ``kernel`` is Keras's (kh, kw, C/groups, F).

    ``matrix`` (from :func:`kernel_matrix`, groups=1 only) is the kernel with
    its bias folded in as a last row: one matrix product computes both.
    With ``pooled`` the result is the 2x2, stride-2 max pooling of the
    convolution (valid padding), and the outputs that pooling drops are never
    computed.
    """
    kh, kw, cg, f = kernel.shape
    n = x.shape[0]
    with_bias = groups == 1 and matrix is not None and matrix.shape[0] == kh * kw * cg + 1
    padded_hw = (x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1]))
    ho, wo = _out_hw(padded_hw, (kh, kw), strides, dilation)
    run = kw * cg if dilation[1] == 1 else cg
    if on_gpu(xp) and not pooled and _gpu_im2col_fits(x, n * ho * wo, kh * kw * cg + 1, run):
        from specc.runtime.cuda_kernels import im2col_padded

        cols = im2col_padded(x, (kh, kw), strides, dilation, pads, (ho, wo), with_bias)
    else:
        x = pad_hw(xp, x, pads)
        cols, (ho, wo) = im2col(xp, x, (kh, kw), strides, dilation, with_bias, pooled)
    if groups == 1:
        mat = matrix if matrix is not None else kernel.reshape(kh * kw * cg, f)
        out = cols @ mat
    else:
        m = cols.shape[0]
        fg = f // groups
        grouped = cols.reshape(m, kh * kw, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, -1)
        kmat = kernel.reshape(kh * kw, cg, groups, fg).transpose(2, 0, 1, 3)
        out = xp.matmul(grouped, kmat.reshape(groups, -1, fg)).transpose(1, 0, 2)
    if pooled:
        return max_of(xp, list(out.reshape(4, n, ho, wo, f)))
    return out.reshape(n, ho, wo, f)


def max_of(xp: Any, parts: list[Array]) -> Array:
    """Elementwise maximum of equally shaped arrays, into a new array."""
    out = xp.maximum(parts[0], parts[1])
    for part in parts[2:]:
        xp.maximum(out, part, out=out)
    return out


def depthwise_conv2d(
    xp: Any, x: Array, kernel: Array, strides=(1, 1), dilation=(1, 1), pads=((0, 0), (0, 0))
) -> Array:
    """Keras DepthwiseConv2D (no bias): ``kernel`` (kh, kw, C, M); channel c*M+m out."""
    kh, kw, c, mult = kernel.shape
    x = pad_hw(xp, x, pads)
    n, h, w, _ = x.shape
    ho, wo = _out_hw((h, w), (kh, kw), strides, dilation)
    shape = (n, ho, wo, c) if mult == 1 else (n, ho, wo, c, mult)
    out = xp.zeros(shape, dtype=x.dtype)
    for a, b, rows, cols in _taps((kh, kw), strides, dilation, (ho, wo)):
        patch = x[:, rows, cols, :]
        if mult == 1:
            out += patch * kernel[a, b, :, 0]
        else:
            out += patch[..., None] * kernel[a, b]
    return out.reshape(n, ho, wo, c * mult)


def conv2d_transpose(
    xp: Any,
    x: Array,
    kernel: Array,
    out_hw: tuple[int, int],
    strides=(1, 1),
    dilation=(1, 1),
    padding: str = "valid",
) -> Array:
    """Keras Conv2DTranspose (no bias), as TensorFlow's gradient of a convolution.

    ``kernel`` is Keras's (kh, kw, F, C). One matrix product gives every tap's
    contribution; a loop over the kh*kw taps scatters them (col2im), then the
    result is cropped where the forward convolution would have padded.
    """
    kh, kw, f, c = kernel.shape
    n, h, w, _ = x.shape
    sh, sw = strides
    dh, dw = dilation
    ho, wo = out_hw
    if padding == "same":
        top = max((h - 1) * sh + dh * (kh - 1) + 1 - ho, 0) // 2
        left = max((w - 1) * sw + dw * (kw - 1) + 1 - wo, 0) // 2
    else:
        top = left = 0
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, top + ho)
    full_w = max((w - 1) * sw + dw * (kw - 1) + 1, left + wo)
    kmat = kernel.transpose(3, 0, 1, 2).reshape(c, kh * kw * f)
    taps = (x.reshape(n * h * w, c) @ kmat).reshape(n, h, w, kh, kw, f)
    full = xp.zeros((n, full_h, full_w, f), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + (h - 1) * sh + 1, sh)
            cols = slice(b * dw, b * dw + (w - 1) * sw + 1, sw)
            full[:, rows, cols, :] += taps[:, :, :, a, b, :]
    return full[:, top : top + ho, left : left + wo, :]


def max_pool(xp: Any, x: Array, pool, strides, padding: str) -> Array:
    """Keras MaxPooling2D: padded cells never win."""
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if on_gpu(xp) and padding == "valid" and (ph, pw) == (sh, sw):
        # Tiling windows: one reduction kernel on a GPU (on a CPU, slices are faster).
        ho, wo = h // ph, w // pw
        tiles = x[:, : ho * ph, : wo * pw, :].reshape(n, ho, ph, wo, pw, c)
        return tiles.max(axis=(2, 4))
    pads = window_pads((h, w), pool, strides, (1, 1), padding)
    x = pad_hw(xp, x, pads, value=-np.inf)
    ho, wo = _out_hw(x.shape[1:3], pool, strides, (1, 1))
    return _window_reduce(xp, xp.maximum, x, pool, strides, (ho, wo))


def avg_pool(xp: Any, x: Array, pool, strides, padding: str) -> Array:
    """Keras AveragePooling2D: the sum of real cells over their count."""
    h, w = x.shape[1:3]
    ph, pw = pool
    pads = window_pads((h, w), pool, strides, (1, 1), padding)
    x = pad_hw(xp, x, pads)
    ho, wo = _out_hw(x.shape[1:3], pool, strides, (1, 1))
    out = _window_reduce(xp, xp.add, x, pool, strides, (ho, wo))
    if pads == ((0, 0), (0, 0)):
        return out / np.float32(ph * pw)
    ones = pad_hw(np, np.ones((1, h, w, 1), np.float32), pads)
    counts = _window_reduce(np, np.add, ones, pool, strides, (ho, wo))
    return out / xp.asarray(counts)


def _window_reduce(xp: Any, op, x: Array, pool, strides, out_hw) -> Array:
    """``op`` (maximum or add) over pooling windows: rows first, then columns (separable).

    The first step combines two strided views into a new array; later taps
    accumulate into it in place. The result never aliases ``x``.
    """
    (ph, pw), (sh, sw), (ho, wo) = pool, strides, out_hw
    rows = [x[:, a : a + (ho - 1) * sh + 1 : sh, :, :] for a in range(ph)]
    tall = rows[0] if ph == 1 else op(rows[0], rows[1])
    for part in rows[2:]:
        op(tall, part, out=tall)
    cols = [tall[:, :, b : b + (wo - 1) * sw + 1 : sw, :] for b in range(pw)]
    out = cols[0].copy() if pw == 1 else op(cols[0], cols[1])
    for part in cols[2:]:
        op(out, part, out=out)
    return out


def upsample_nearest(xp: Any, x: Array, size: tuple[int, int]) -> Array:
    """Each pixel repeated ``size`` times along height and width."""
    n, h, w, c = x.shape
    fh, fw = size
    wide = xp.broadcast_to(x[:, :, None, :, None, :], (n, h, fh, w, fw, c))
    return wide.reshape(n, h * fh, w * fw, c)


def resize(xp: Any, x: Array, rows: Array, cols: Array) -> Array:
    """``x`` (N, H, W, C) resized by per-axis matrices ``rows`` (Ho, H) and ``cols`` (Wo, W)."""
    n, h, w, c = x.shape
    ho, wo = rows.shape[0], cols.shape[0]
    tall = xp.matmul(rows, x.reshape(n, h, w * c)).reshape(n * ho, w, c)
    wide = xp.matmul(cols, tall)  # (n*ho, wo, c)
    return wide.reshape(n, ho, wo, c)
