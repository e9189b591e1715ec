"""CuPy kernels for the numpy runtime's hot spots on a GPU.

On the GPU the generic im2col (a padded copy, then one strided copy per kernel
row) spends more time moving memory than the matrix product computing. One
elementwise kernel here reads each patch value straight from the unpadded
input (zero outside it) into the im2col matrix, with the optional ones column
of a folded bias. Only :mod:`specc.runtime.nn` calls it, and only when the
array module is CuPy; CuPy is imported inside the functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# 32-bit index arithmetic (64-bit division is several times slower on a GPU): the
# caller falls back to the generic path for arrays of 2**31 elements or more.
_IM2COL = r"""
const int e = (int)i;
const int j = e % kcols;
const int r = e / kcols;
if (j >= k) {
    col = (T)1;
} else {
    const int ci = j % c;
    const int t = j / c;
    const int b = t % kw;
    const int a = t / kw;
    const int ox = r % wo;
    const int q = r / wo;
    const int oy = q % ho;
    const int n = q / ho;
    const int iy = oy * sh + a * dh - pt;
    const int ix = ox * sw + b * dw - pl;
    col = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((n * h + iy) * w + ix) * c + ci] : (T)0;
}
"""
LIMIT = 2**31 - 1


@lru_cache(maxsize=1)
def _im2col_kernel() -> Any:
    import cupy

    return cupy.ElementwiseKernel(
        "raw T x, int32 h, int32 w, int32 c, int32 kh, int32 kw, int32 ho, int32 wo, "
        "int32 sh, int32 sw, int32 dh, int32 dw, int32 pt, int32 pl, int32 k, int32 kcols",
        "T col",
        _IM2COL,
        "specc_im2col",
    )


def fits(x: Any, rows: int, cols: int) -> bool:
    """True when the kernel's 32-bit indices can address the input and the patch matrix."""
    return x.size <= LIMIT and rows * cols <= LIMIT


def im2col_padded(
    x: Any, kernel, strides, dilation, pads, out_hw: tuple[int, int], ones: bool
) -> Any:
    """(N*Ho*Wo, kh*kw*C [+1]) patches of ``x`` (N, H, W, C, unpadded) with zero padding."""
    import cupy

    x = cupy.ascontiguousarray(x)
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw), ((pt, _), (pl, _)) = kernel, strides, dilation, pads
    ho, wo = out_hw
    k = kh * kw * c
    cols = cupy.empty((n * ho * wo, k + int(ones)), dtype=x.dtype)
    _im2col_kernel()(x, h, w, c, kh, kw, ho, wo, sh, sw, dh, dw, pt, pl, k, k + int(ones), cols)
    return cols
