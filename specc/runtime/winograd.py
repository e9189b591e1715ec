"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25x fewer multiplications.

For each 2x2 block of output pixels, the 4x4 input tile ``d`` and the 3x3
kernel ``g`` are transformed (``V = Bt d B``, ``U = G g Gt``), multiplied
elementwise over the 16 tile positions (16 matrix products over the
channels) and transformed back (``Y = At M A``) (Lavin & Gray, 2015). The
transforms are sums and differences of strided slices, vectorized over the
batch, tiles and channels; all arithmetic is float32 with the small exact
coefficients 1 and 1/2, so results match a direct convolution to rounding.

The numpy runtime uses it on the CPU for 3x3 kernels with stride 1, no
dilation, one group and at least :data:`MIN_CHANNELS` input channels (with
fewer, the 16 products are too thin for BLAS and im2col wins).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.runtime.threads import SPLIT_PIECES, even_slices

if TYPE_CHECKING:
    from specc.lower import Window

MIN_CHANNELS = 16
OUTPUT_CHUNK_BYTES = 2**20
"""Size of the transformed products M handled at a time (about a core's L2 cache)."""
MIN_CHANNEL_BLOCK = 64
"""Fewest output channels in a chunk of the products cut by channels."""

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)


def applies(kernel_shape: tuple[int, ...], strides, dilation, groups: int) -> bool:
    """True for the convolutions :func:`conv3x3` computes."""
    kh, kw, c, _ = kernel_shape
    return (
        (kh, kw) == (3, 3)
        and tuple(strides) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
        and c >= MIN_CHANNELS
    )


def transform_kernel(kernel: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Keras's (3, 3, C, F) kernel as the 16 (C, F) matrices ``G g Gt`` (float32)."""
    u = np.einsum("ia,abcf,jb->ijcf", _G, kernel.astype(np.float64), _G)
    return np.ascontiguousarray(u.reshape(16, *kernel.shape[2:]), dtype=np.float32)


def conv3x3(
    xp: Any,
    x: Any,
    u: Any,
    window: Window,
    pooled: bool = False,
    run: Callable[[int, Callable[[int], None]], None] | None = None,
    threads: int = 1,
) -> Any:
    """The convolution of ``x`` (N, H, W, C) with transformed kernel ``u`` (16, C, F), no bias.

    ``window`` is the convolution's, resolved by the lowering stage (pads and
    output size). ``run(count, work)`` calls ``work(i)`` for each chunk of
    the products (:func:`specc.runtime.threads.run_split`), which may run on
    ``threads`` threads; by default in turn.

    With ``pooled`` it returns the 2x2, stride-2 max pooling (valid padding)
    of the convolution instead: each 2x2 output tile is one pooling window,
    so the pooling is the maximum of the four output phases and the
    interleaved full-size output is never written.
    """
    n, h, w, c = x.shape
    f = u.shape[2]
    t, left = window.pads[0][0], window.pads[1][0]
    ho, wo = window.out_hw
    th, tw = _tiles(window, pooled)
    # The padded input, 2*th + 2 rows of 2*tw + 2 columns (extra zeros at the
    # end), with its columns split by parity: q[:, y, p, j] is padded column
    # 2j + p. Every slice below then has rows of tw*C contiguous values,
    # which NumPy's loops run through much faster than rows of C.
    q = xp.zeros((n, 2 * th + 2, 2, tw + 1, c), dtype=x.dtype)
    copied = max(0, min(h, 2 * th + 2 - t))  # input rows inside the padded tiles
    for p in range(2):
        first = (p - left) % 2  # the first input column that lands in parity p
        j0 = (left + first - p) // 2
        count = max(0, min((w - first + 1) // 2, tw + 1 - j0))
        if count:
            q[:, t : t + copied, p, j0 : j0 + count] = x[
                :, :copied, first : first + 2 * count - 1 : 2
            ]
    # Input transform V = Bt d B: rows (over every column), then columns.
    d = [q[:, k : k + 2 * th : 2] for k in range(4)]
    tall = xp.empty((4, n, th, 2, tw + 1, c), dtype=x.dtype)
    xp.subtract(d[0], d[2], out=tall[0])
    xp.add(d[1], d[2], out=tall[1])
    xp.subtract(d[2], d[1], out=tall[2])
    xp.subtract(d[1], d[3], out=tall[3])
    even, odd = tall[:, :, :, 0], tall[:, :, :, 1]  # padded columns 2j and 2j + 1
    v = xp.empty((4, 4, n, th, tw, c), dtype=x.dtype)  # V[4u + v] for every tile
    xp.subtract(even[..., :tw, :], even[..., 1:, :], out=v[:, 0])
    xp.add(odd[..., :tw, :], even[..., 1:, :], out=v[:, 1])
    xp.subtract(even[..., 1:, :], odd[..., :tw, :], out=v[:, 2])
    xp.subtract(odd[..., :tw, :], odd[..., 1:, :], out=v[:, 3])
    # The products and the output transform by chunks (_chunks), which ``run``
    # may spread over threads (each writes its own part of y).
    y = xp.empty((2, 2, n, th, tw, f), dtype=x.dtype)  # y[b, a]: output pixel (2i+a, 2j+b)
    chunks = _chunks(n, th, tw, f, x.dtype.itemsize, run is not None, threads)

    def product(index: int) -> None:
        images, tile_rows, channels = chunks[index]
        vk = v[:, :, images, tile_rows]
        m = xp.matmul(vk.reshape(16, -1, c), u[:, :, channels])
        m = m.reshape(4, 4, *vk.shape[2:-1], m.shape[-1])
        _output_transform(xp, m, y[:, :, images, tile_rows, :, channels])

    if run is None:
        for index in range(len(chunks)):
            product(index)
    else:
        run(len(chunks), product)
    if pooled:
        corners = xp.maximum(y[0], y[1])
        return xp.maximum(corners[0], corners[1], out=corners[0])
    out = xp.empty((n, th, 2, tw, 2, f), dtype=x.dtype)
    out[...] = y.transpose(2, 3, 1, 4, 0, 5)
    out = out.reshape(n, 2 * th, 2 * tw, f)
    if (2 * th, 2 * tw) != (ho, wo):
        out = xp.ascontiguousarray(out[:, :ho, :wo, :])
    return out


def conv3x3_compiled(
    kernels: ModuleType,
    x: np.ndarray,
    u: np.ndarray,
    window: Window,
    bias: np.ndarray | None,
    clamp: tuple[float, float],
    run: Callable[[int, Callable[[int], None]], None],
    threads: int = 1,
) -> np.ndarray:
    """:func:`conv3x3` (not pooled) on the CPU with the transforms compiled, the bias
    added and the output clamped to ``clamp`` (a relu, relu6 or none) in the output
    transform.

    numba's :func:`~specc.runtime.numba_kernels.winograd_input` and
    :func:`~specc.runtime.numba_kernels.winograd_output` do in one pass each
    what NumPy does in eight, the same sums in the same order (the same
    values), and release the GIL: each chunk of :func:`_chunks` is one
    compiled pass, one product, one compiled pass, so that threads sharing
    an image scale (NumPy's many short passes wait on the GIL in turn).
    """
    n, h, w, c = x.shape
    f = u.shape[2]
    t, left = window.pads[0][0], window.pads[1][0]
    ho, wo = window.out_hw
    th, tw = _tiles(window, False)
    q = np.zeros((n, 2 * th + 2, 2 * tw + 2, c), dtype=np.float32)
    rows, cols = max(0, min(h, 2 * th + 2 - t)), max(0, min(w, 2 * tw + 2 - left))
    q[:, t : t + rows, left : left + cols] = x[:, :rows, :cols]
    out = np.empty((n, ho, wo, f), dtype=np.float32)
    shift = np.zeros(f, np.float32) if bias is None else bias
    lo, hi = np.float32(clamp[0]), np.float32(clamp[1])
    chunks = _chunks(n, th, tw, f, x.dtype.itemsize, True, threads)

    def transform(images: slice, tile_rows: slice) -> np.ndarray:
        count = (tile_rows.stop - tile_rows.start) * tw
        v = np.empty((16, (images.stop - images.start) * count, c), dtype=np.float32)
        for k, image in enumerate(range(images.start, images.stop)):
            kernels.winograd_input(
                q[image], tile_rows.start, tile_rows.stop, v[:, k * count : (k + 1) * count]
            )
        return v

    # Chunks cut by channels share their tiles' V: transformed once, first.
    shared = {
        (images.start, tile_rows.start): transform(images, tile_rows)
        for images, tile_rows, channels in chunks
        if channels != slice(None)
    }

    def product(index: int) -> None:
        images, tile_rows, channels = chunks[index]
        v = shared.get((images.start, tile_rows.start))
        m = np.matmul(transform(images, tile_rows) if v is None else v, u[:, :, channels])
        count = (tile_rows.stop - tile_rows.start) * tw
        for k, image in enumerate(range(images.start, images.stop)):
            kernels.winograd_output(
                m[:, k * count : (k + 1) * count],
                tile_rows.start,
                tile_rows.stop,
                shift[channels],
                lo,
                hi,
                out[image, :, :, channels],
            )

    run(len(chunks), product)
    return out


def _tiles(window: Window, pooled: bool) -> tuple[int, int]:
    """Rows and columns of 2x2 output tiles: every output pixel covered (the last
    tiles cropped), or with ``pooled`` only whole tiles (one pooling window each)."""
    ho, wo = window.out_hw
    return (ho // 2, wo // 2) if pooled else ((ho + 1) // 2, (wo + 1) // 2)


def _chunks(
    n: int, th: int, tw: int, f: int, itemsize: int, by_rows: bool, threads: int
) -> list[tuple[slice, slice, slice]]:
    """The (images, tile rows, output channels) of each chunk of the products.

    The products and the output transform run a few images at a time, so
    that M (4x the output) is still in cache when the transform reads it.
    With ``by_rows`` (the CPU), an image larger than that goes by chunks of
    tile rows of about equal size; where that leaves fewer chunks than
    ``threads``, the output channels are cut too, into
    :data:`~specc.runtime.threads.SPLIT_PIECES` blocks per thread or down to
    :data:`MIN_CHANNEL_BLOCK`: the late, small maps of a batch-1 call, whose
    kernel is larger than their tiles, so that each thread reads its part
    of the kernel only (cutting their few tiles would make every thread
    read all of it). On a GPU, whole images (fewer launches).
    """
    every = slice(None)
    per_row = 16 * tw * f * itemsize
    rows = max(1, OUTPUT_CHUNK_BYTES // max(per_row, 1))
    if rows >= th or not by_rows:
        step = max(1, min(n, rows // max(th, 1)))
        spans = [(slice(i, min(n, i + step)), slice(0, th)) for i in range(0, n, step)]
    else:
        parts = even_slices(th, -(-th // rows))
        spans = [(slice(i, i + 1), part) for i in range(n) for part in parts]
    blocks = 1
    if by_rows and len(spans) < threads:
        blocks = min(-(-threads * SPLIT_PIECES // len(spans)), f // MIN_CHANNEL_BLOCK)
    if blocks <= 1:
        return [(images, tile_rows, every) for images, tile_rows in spans]
    return [(*span, block) for span in spans for block in even_slices(f, blocks)]


def _output_transform(xp: Any, m: Any, y: Any) -> None:
    """``y[b, a] = (At M A)[a, b]`` for (4, 4, ...) ``m``: rows over all columns, then columns."""
    rows = xp.empty((2, *m.shape[1:]), dtype=m.dtype)  # (At M)[a, column]
    xp.add(m[0], m[1], out=rows[0])
    rows[0] += m[2]
    xp.subtract(m[1], m[2], out=rows[1])
    rows[1] -= m[3]
    xp.add(rows[:, 0], rows[:, 1], out=y[0])
    y[0] += rows[:, 2]
    xp.subtract(rows[:, 1], rows[:, 2], out=y[1])
    y[1] -= rows[:, 3]
