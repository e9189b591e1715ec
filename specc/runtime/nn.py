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
divides by the number of real cells. Every window op takes its geometry
(kernel, strides, dilation, explicit pads, output size) resolved once by the
lowering stage (:class:`specc.lower.Window`); nothing here derives a size again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from specc.lower import Window

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


def im2col(
    xp: Any, x: Array, window: Window, ones: bool = False, pooled: bool = False
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
    kernel, strides, dilation = window.kernel, window.strides, window.dilation
    kh, kw = kernel
    ho, wo = window.out_hw
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


def grouped_kernel(xp: Any, kernel: Array, groups: int) -> Array:
    """A grouped Conv2D's (kh, kw, C/groups, F) kernel as (groups, kh*kw*C/groups, F/groups).

    Group ``g``'s matrix multiplies the group's im2col columns (kernel row,
    kernel column, channel) into its F/groups output channels.
    """
    kh, kw, cg, f = kernel.shape
    mats = kernel.reshape(kh * kw * cg, groups, f // groups).transpose(1, 0, 2)
    return xp.ascontiguousarray(mats)


def im2col_grouped(x: np.ndarray, window: Window, groups: int) -> np.ndarray:
    """Patches of padded ``x`` as (N*Ho*Wo, groups, kh*kw*C/groups), on the CPU.

    Each group's columns are adjacent, in Keras's kernel order, so that
    ``rows[:, g]`` is group ``g``'s im2col matrix (a row stride of C*kh*kw
    values): one matrix product per group reads it in place.
    """
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.strides, window.dilation
    ho, wo = window.out_hw
    cg = c // groups
    x = np.ascontiguousarray(x)
    row, item = w * c * x.itemsize, x.itemsize
    patches = np.lib.stride_tricks.as_strided(
        x,
        (n, ho, wo, groups, kh, kw, cg),
        (h * row, sh * row, sw * c * item, cg * item, dh * row, dw * c * item, item),
    )
    rows = np.empty((n, ho, wo, groups, kh, kw, cg), dtype=x.dtype)
    rows[...] = patches
    return rows.reshape(n * ho * wo, groups, kh * kw * cg)


def conv2d(
    xp: Any,
    x: Array,
    kernel: Array,
    window: Window,
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
    ho, wo = window.out_hw
    run = kw * cg if window.dilation[1] == 1 else cg
    if on_gpu(xp) and not pooled and _gpu_im2col_fits(x, n * ho * wo, kh * kw * cg + 1, run):
        from specc.runtime.cuda_kernels import im2col_padded

        cols = im2col_padded(
            x, (kh, kw), window.strides, window.dilation, window.pads, (ho, wo), with_bias
        )
    else:
        x = pad_hw(xp, x, window.pads)
        cols, (ho, wo) = im2col(xp, x, window, with_bias, pooled)
    if groups == 1:
        mat = matrix if matrix is not None else kernel.reshape(kh * kw * cg, f)
        out = cols @ mat
    else:
        m = cols.shape[0]
        grouped = cols.reshape(m, kh * kw, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, -1)
        out = xp.matmul(grouped, grouped_kernel(xp, kernel, groups)).transpose(1, 0, 2)
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
    xp: Any, x: Array, kernel: Array, window: Window, finish: Callable | None = None
) -> Array:
    """Keras DepthwiseConv2D (no bias): ``kernel`` (kh, kw, C, M); channel c*M+m out.

    A multiply-add per kernel tap over strided views of the padded input (no
    im2col). On the CPU, :func:`specc.runtime.numpy_depthwise.depthwise_conv2d`:
    the input unpadded, the output by cache-sized blocks of rows with long
    inner loops, and ``finish`` (the bias and activation, in place; it returns
    the finished block) applied to each block while it is in cache. The sums
    run in the same order either way.
    """
    if xp is np:
        from specc.runtime.numpy_depthwise import depthwise_conv2d

        return depthwise_conv2d(x, kernel, window, finish)
    kh, kw, c, mult = kernel.shape
    x = pad_hw(xp, x, window.pads)
    n, ho, wo = x.shape[0], *window.out_hw
    out = xp.zeros((n, ho, wo, c, mult), dtype=x.dtype)
    for a, b, rows, cols in _taps((kh, kw), window.strides, window.dilation, (ho, wo)):
        out += x[:, rows, cols, :, None] * kernel[a, b]
    out = out.reshape(n, ho, wo, c * mult)
    return out if finish is None else finish(out)


def batchnorm_affine(
    xp: Any, w: dict[str, Array], epsilon: float, prefix: str = ""
) -> tuple[Array, Array]:
    """BatchNormalization at inference as ``y * scale + offset``: (scale, offset) per channel.

    ``w`` holds the layer's weights under ``prefix + name`` (``gamma`` and
    ``beta`` only when the layer scales and centers), as
    ``tf.nn.batch_normalization`` folds them.
    """
    inv = 1.0 / xp.sqrt(w[prefix + "moving_variance"] + np.float32(epsilon))
    if prefix + "gamma" in w:
        inv = inv * w[prefix + "gamma"]
    shift = -w[prefix + "moving_mean"] * inv
    if prefix + "beta" in w:
        shift = shift + w[prefix + "beta"]
    return inv.astype(np.float32), shift.astype(np.float32)


def conv2d_transpose(xp: Any, x: Array, kernel: Array, window: Window) -> Array:
    """Keras Conv2DTranspose (no bias), as TensorFlow's gradient of a convolution.

    ``kernel`` is Keras's (kh, kw, F, C). One matrix product gives every tap's
    contribution; a loop over the kh*kw taps scatters them (col2im) into the
    full output, which is then cropped by ``window.pads``, where the forward
    convolution would have padded (output padding past its end stays zero).
    """
    kh, kw, f, c = kernel.shape
    n, h, w, _ = x.shape
    (sh, sw), (dh, dw) = window.strides, window.dilation
    ho, wo = window.out_hw
    (top, bottom), (left, right) = window.pads
    # The full output, or Keras's size when output padding asks for more (zeros).
    full_h, full_w = top + ho + bottom, left + wo + right
    kmat = kernel.transpose(3, 0, 1, 2).reshape(c, kh * kw * f)
    taps = (x.reshape(n * h * w, c) @ kmat).reshape(n, h, w, kh, kw, f)
    full = xp.zeros((n, full_h, full_w, f), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + (h - 1) * sh + 1, sh)
            cols = slice(b * dw, b * dw + (w - 1) * sw + 1, sw)
            full[:, rows, cols, :] += taps[:, :, :, a, b, :]
    return full[:, top : top + ho, left : left + wo, :]


def max_pool(xp: Any, x: Array, window: Window) -> Array:
    """Keras MaxPooling2D: padded cells never win."""
    n, _, _, c = x.shape
    (ph, pw), (sh, sw), (ho, wo) = window.kernel, window.strides, window.out_hw
    if on_gpu(xp) and not window.padded and (ph, pw) == (sh, sw):
        # Tiling windows: one reduction kernel on a GPU (on a CPU, slices are faster).
        tiles = x[:, : ho * ph, : wo * pw, :].reshape(n, ho, ph, wo, pw, c)
        return tiles.max(axis=(2, 4))
    x = pad_hw(xp, x, window.pads, value=-np.inf)
    return _window_reduce(xp, xp.maximum, x, window)


def avg_pool(xp: Any, x: Array, window: Window) -> Array:
    """Keras AveragePooling2D: the sum of real cells over their count."""
    h, w = x.shape[1:3]
    ph, pw = window.kernel
    x = pad_hw(xp, x, window.pads)
    out = _window_reduce(xp, xp.add, x, window)
    if not window.padded:
        return out / np.float32(ph * pw)
    ones = pad_hw(np, np.ones((1, h, w, 1), np.float32), window.pads)
    counts = _window_reduce(np, np.add, ones, window)
    return out / xp.asarray(counts)


def _window_reduce(xp: Any, op, x: Array, window: Window) -> Array:
    """``op`` (maximum or add) over pooling windows: rows first, then columns (separable).

    The first step combines two strided views into a new array; later taps
    accumulate into it in place. The result never aliases ``x``.
    """
    (ph, pw), (sh, sw), (ho, wo) = window.kernel, window.strides, window.out_hw
    rows = [x[:, a : a + (ho - 1) * sh + 1 : sh, :, :] for a in range(ph)]
    tall = rows[0] if ph == 1 else op(rows[0], rows[1])
    for part in rows[2:]:
        op(tall, part, out=tall)
    cols = [tall[:, :, b : b + (wo - 1) * sw + 1 : sw, :] for b in range(pw)]
    out = cols[0].copy() if pw == 1 else op(cols[0], cols[1])
    for part in cols[2:]:
        op(out, part, out=out)
    return out
