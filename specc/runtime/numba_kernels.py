"""The numba kernels behind :mod:`specc.runtime.compiled` (imported only through it).

Module-level functions, so that numba's on-disk cache finds them again in a
later process (a closure's cache key changes with every process).
"""

import numba
import numpy as np

CONTRACT = {"contract"}
"""numba's only fast-math flag used: a multiply-add may be one fused
instruction (one rounding instead of two; no reassociation, no NaN or
infinity assumptions)."""

jit = numba.njit(nogil=True, cache=True, fastmath=CONTRACT, boundscheck=False)
f32 = np.float32


@jit
def activate_into(acc, mode, lo, hi, out):  # pragma: no cover
    """``out[j] = activation(acc[j])``; one loop per mode, so each vectorizes."""
    n = acc.shape[0]
    if mode == 0:
        for j in range(n):
            v = acc[j]
            if v < lo:
                v = lo
            if v > hi:
                v = hi
            out[j] = v
    else:
        for j in range(n):
            v = acc[j]
            out[j] = v * (min(max(v + f32(3.0), f32(0.0)), f32(6.0)) / f32(6.0))


@jit
def depthwise_rows(x, k, bias, geometry, mode, lo, hi, r0, r1, out):  # pragma: no cover
    """Rows ``r0:r1`` of one image's depthwise convolution, bias and activation included.

    ``x`` (H, W, C), ``k`` (kh, kw, C * M), ``bias`` (C * M,), ``out``
    (ho, wo, C * M); ``geometry`` is (sh, sw, dh, dw, top, left, M):
    output channel ``c * M + m`` reads input channel ``c``. Taps outside
    the input read zeros (the padding) and are skipped.
    """
    h, w, c = x.shape
    kh, kw, width = k.shape
    wo = out.shape[1]
    sh, sw, dh, dw, top, left, mult = geometry
    acc = np.empty(width, np.float32)
    for oh in range(r0, r1):
        for ow in range(wo):
            acc[:] = 0.0
            for a in range(kh):
                ih = oh * sh - top + a * dh
                if ih < 0 or ih >= h:
                    continue
                for b in range(kw):
                    iw = ow * sw - left + b * dw
                    if iw < 0 or iw >= w:
                        continue
                    if mult == 1:
                        for j in range(width):
                            acc[j] += x[ih, iw, j] * k[a, b, j]
                    else:
                        for i in range(c):
                            v = x[ih, iw, i]
                            for m in range(mult):
                                acc[i * mult + m] += v * k[a, b, i * mult + m]
            for j in range(width):
                acc[j] += bias[j]
            activate_into(acc, mode, lo, hi, out[oh, ow])


@jit
def affine_rows(x, scale, shift, mode, lo, hi, out):  # pragma: no cover
    """``out[p, f] = activation(x[p, f] * scale[f] + shift[f])`` for (P, F) arrays
    (``out`` may be ``x``): a BatchNormalization, or a bias with a unit scale."""
    rows, width = x.shape
    acc = np.empty(width, np.float32)
    for p in range(rows):
        for f in range(width):
            acc[f] = x[p, f] * scale[f] + shift[f]
        activate_into(acc, mode, lo, hi, out[p])


@jit
def bias_rows(y, bias, mode, lo, hi):  # pragma: no cover
    """``y[p, f] = activation(y[p, f] + bias[f])`` in place, for a (P, F) array."""
    rows, width = y.shape
    acc = np.empty(width, np.float32)
    for p in range(rows):
        for f in range(width):
            acc[f] = y[p, f] + bias[f]
        activate_into(acc, mode, lo, hi, y[p])
