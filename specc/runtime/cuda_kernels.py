"""CuPy kernels for the numpy runtime's hot spots on a GPU.

- im2col: on the GPU the generic im2col (a padded copy, then one strided copy
  per kernel row) spends more time moving memory than the matrix product
  computing. One elementwise kernel reads each patch value straight from the
  unpadded input (zero outside it) into the im2col matrix, with the optional
  ones column of a folded bias (:mod:`specc.runtime.nn`, when cuDNN is missing).
- epilogue: bias, a residual and relu/relu6 added to a convolution's output
  in one pass (:mod:`specc.runtime.cudnn`).
- depthwise: DepthwiseConv2D with its bias and activation in one kernel
  (:mod:`specc.runtime.cuda_ops`).

CuPy is imported inside the functions.
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


EPILOGUE_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "relu6": 2}
"""Activations the one-pass kernels below apply (NaN stays NaN, as numpy's maximum keeps it)."""

_ACTIVATE = r"""
if (act == 1) {
    v = v < (T)0 ? (T)0 : v;
} else if (act == 2) {
    v = v < (T)0 ? (T)0 : (v > (T)6 ? (T)6 : v);
}
"""


@lru_cache(maxsize=2)
def _epilogue_kernel(residual: bool) -> Any:
    import cupy

    z = "T z, " if residual else ""
    add = " + z" if residual else ""
    return cupy.ElementwiseKernel(
        f"{z}raw T bias, int32 f, int32 act",
        "T y",
        f"T v = y + bias[(int)i % f]{add};" + _ACTIVATE + "y = v;",
        f"specc_epilogue{'_residual' if residual else ''}",
    )


def epilogue(y: Any, bias: Any, z: Any | None, activation: str | None) -> None:
    """In place on ``y`` (N, ..., F): ``act(y + bias + z)`` in one pass (``z`` may be None)."""
    import cupy

    act = EPILOGUE_ACTIVATIONS[activation]
    f = y.shape[-1]
    if y.size > LIMIT:
        y += bias
        if z is not None:
            y += z
        if act:
            cupy.maximum(y, 0, out=y)
        if act == 2:
            cupy.minimum(y, 6, out=y)
        return
    if z is None:
        _epilogue_kernel(False)(bias, f, act, y)
    else:
        _epilogue_kernel(True)(z, bias, f, act, y)


_DEPTHWISE = r"""
extern "C" __global__ void specc_depthwise(
    const float* __restrict__ x, const float* __restrict__ k, const float* __restrict__ bias,
    float* __restrict__ y, int h, int w, int c, int ho, int wo, int pt, int pl, int total)
{
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= total) return;
    const int cm = c * M;
    const int vectors = cm / VEC;
    const int o = (e % vectors) * VEC;
    const int pixel = e / vectors;
    const int ox = pixel % wo;
    const int oy = (pixel / wo) % ho;
    const int n = pixel / (wo * ho);
    float acc[VEC];
#pragma unroll
    for (int v = 0; v < VEC; ++v) acc[v] = 0.0f;
#pragma unroll
    for (int a = 0; a < KH; ++a) {
        const int iy = oy * SH + a * DH - pt;
        if (iy < 0 || iy >= h) continue;
#pragma unroll
        for (int b = 0; b < KW; ++b) {
            const int ix = ox * SW + b * DW - pl;
            if (ix < 0 || ix >= w) continue;
            const float* px = x + ((n * h + iy) * w + ix) * c;
            const float* pk = k + (a * KW + b) * cm + o;
#if VEC == 4
            const float4 xv = *reinterpret_cast<const float4*>(px + o);
            const float4 kv = *reinterpret_cast<const float4*>(pk);
            acc[0] += xv.x * kv.x;
            acc[1] += xv.y * kv.y;
            acc[2] += xv.z * kv.z;
            acc[3] += xv.w * kv.w;
#else
#pragma unroll
            for (int u = 0; u < VEC; ++u) acc[u] += px[(o + u) / M] * pk[u];
#endif
        }
    }
#pragma unroll
    for (int u = 0; u < VEC; ++u) {
        float v = acc[u] + bias[o + u];
        ACTIVATE
        acc[u] = v;
    }
#if VEC == 4
    *reinterpret_cast<float4*>(y + pixel * cm + o) = make_float4(acc[0], acc[1], acc[2], acc[3]);
#else
#pragma unroll
    for (int u = 0; u < VEC; ++u) y[pixel * cm + o + u] = acc[u];
#endif
}
"""
_ACT_C = {
    0: "",
    1: "v = v < 0.0f ? 0.0f : v;",
    2: "v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);",
}


@lru_cache(maxsize=64)
def _depthwise_kernel(config: tuple[int, ...]) -> Any:
    """The kernel for one geometry: (KH, KW, SH, SW, DH, DW, M, VEC, activation code)."""
    import cupy

    names = ("KH", "KW", "SH", "SW", "DH", "DW", "M", "VEC")
    defines = "".join(f"#define {n} {v}\n" for n, v in zip(names, config[:-1], strict=True))
    source = defines + _DEPTHWISE.replace("ACTIVATE", _ACT_C[config[-1]])
    return cupy.RawKernel(source, "specc_depthwise")


def depthwise_fits(x: Any, out_size: int) -> bool:
    """True when the depthwise kernel's 32-bit indices address the input and the output."""
    return x.size <= LIMIT and out_size <= LIMIT


def depthwise_conv2d(x: Any, kernel: Any, bias: Any, window, activation: str | None) -> Any:
    """Keras DepthwiseConv2D, NHWC, unpadded ``x``: ``act(conv + bias)`` in one kernel.

    ``kernel`` is Keras's (kh, kw, C, M) and output channel ``c*M + m`` reads
    input channel ``c``; cells outside the input (``window.pads``, any
    sides) add nothing. The geometry is compiled in (unrolled taps); each
    thread computes four adjacent channels with 16-byte loads where the
    channels allow (M = 1, C a multiple of 4), else one.
    """
    import cupy

    x = cupy.ascontiguousarray(x)
    n, h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    ho, wo = window.out_hw
    (sh, sw), (dh, dw), ((pt, _), (pl, _)) = window.strides, window.dilation, window.pads
    vec = 4 if m == 1 and c % 4 == 0 else 1
    act = EPILOGUE_ACTIVATIONS[activation]
    y = cupy.empty((n, ho, wo, c * m), dtype=cupy.float32)
    total = y.size // vec
    if total:
        fn = _depthwise_kernel((kh, kw, sh, sw, dh, dw, m, vec, act))
        threads = 256
        args = (x, kernel, bias, y, h, w, c, ho, wo, pt, pl, total)
        fn(((total + threads - 1) // threads,), (threads,), tuple(_c_int(a) for a in args))
    return y


def _c_int(value: Any) -> Any:
    import numpy as np

    return np.int32(value) if isinstance(value, int) else value
