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

from typing import Any

import numpy as np

MIN_CHANNELS = 16

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


def conv3x3(xp: Any, x: Any, u: Any, pads) -> Any:
    """The convolution of ``x`` (N, H, W, C) with transformed kernel ``u`` (16, C, F), no bias."""
    n, h, w, c = x.shape
    f = u.shape[2]
    (t, b), (left, r) = pads
    ho, wo = h + t + b - 2, w + left + r - 2
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    # Pad to whole tiles: 2*th + 2 rows, 2*tw + 2 columns (extra zeros at the end).
    padded = xp.zeros((n, 2 * th + 2, 2 * tw + 2, c), dtype=x.dtype)
    padded[:, t : t + h, left : left + w, :] = x
    # Input transform, rows then columns: V[4u+v] = (Bt d B)[u, v] for every tile.
    rows = [padded[:, k : k + 2 * th : 2, :, :] for k in range(4)]
    tall = (rows[0] - rows[2], rows[1] + rows[2], rows[2] - rows[1], rows[1] - rows[3])
    v = xp.empty((16, n, th, tw, c), dtype=x.dtype)
    for i, part in enumerate(tall):
        cols = [part[:, :, k : k + 2 * tw : 2, :] for k in range(4)]
        xp.subtract(cols[0], cols[2], out=v[4 * i])
        xp.add(cols[1], cols[2], out=v[4 * i + 1])
        xp.subtract(cols[2], cols[1], out=v[4 * i + 2])
        xp.subtract(cols[1], cols[3], out=v[4 * i + 3])
    m = xp.matmul(v.reshape(16, n * th * tw, c), u).reshape(4, 4, n, th, tw, f)
    # Output transform: Y = At M A, rows then columns, into interleaved 2x2 blocks.
    s0 = m[0] + m[1] + m[2]
    s1 = m[1] - m[2] - m[3]
    out = xp.empty((n, th, 2, tw, 2, f), dtype=x.dtype)
    for a, s in enumerate((s0, s1)):
        out[:, :, a, :, 0, :] = s[0] + s[1] + s[2]
        out[:, :, a, :, 1, :] = s[1] - s[2] - s[3]
    out = out.reshape(n, 2 * th, 2 * tw, f)
    if (2 * th, 2 * tw) != (ho, wo):
        out = xp.ascontiguousarray(out[:, :ho, :wo, :])
    return out
