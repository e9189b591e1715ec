"""The numba kernels behind :mod:`specc.runtime.compiled` (imported only through it).

Module-level functions, so that numba's on-disk cache finds them again in a
later process (a closure's cache key changes with every process).
"""

import numba
import numpy as np

from specc.runtime.activations import ERF_DENOMINATOR, ERF_NUMERATOR

CONTRACT = {"contract"}
"""numba's only fast-math flag used: a multiply-add may be one fused
instruction (one rounding instead of two; no reassociation, no NaN or
infinity assumptions)."""

jit = numba.njit(nogil=True, cache=True, fastmath=CONTRACT, boundscheck=False, error_model="numpy")
"""``error_model="numpy"``: a float division by zero gives inf or NaN, as in
NumPy, instead of a check for Python's ZeroDivisionError, which keeps a loop
with a division from vectorizing."""
f32 = np.float32
# Cephes's expf (also Eigen's pexp, behind TensorFlow's float32 exp): exp(v) =
# 2^k * exp(r), k = round(v / ln 2), r = v - k ln 2 (ln 2 in two parts, so r is
# exact), exp(r) by a degree-7 polynomial on |r| <= ln 2 / 2. Cephes gives a
# peak relative error of 1.7e-7 (2 ulp); tests/test_compiled_kernels.py measures
# it against float64 over the whole range.
LOG2E, LN2_HI, LN2_LO = 1.4426950408889634, 0.693359375, -2.12194440e-4
EXP_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
            1.6666665459e-1, 5.0000001201e-1)  # fmt: skip
EXP_LOW, EXP_HIGH = -87.33654, 88.0
"""exp's argument is clamped to these: 2^k stays a normal float (k in
[-126, 127]); exp(88) = 1.65e38 still divides a silu's x to nothing."""


ROW_PIECE = 1024
"""Values per piece of :func:`activate_rows`: its scratch stays in L1."""


@jit
def activate_into(acc, mode, lo, hi, out):  # pragma: no cover
    """``out[j] = activation(acc[j])`` for modes 0 and 1 (a clamp, hard silu); one
    loop per mode, so each vectorizes. Small, so that it inlines into the
    per-pixel loops; silu and gelu go over longer runs (:func:`activate_rows`)."""
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
def silu_into(acc, out, bits, scale):  # pragma: no cover
    """``out[j] = acc[j] / (1 + exp(-acc[j]))``, exp as Cephes's expf (above).

    Two loops: the first leaves exp(r) in ``out`` and 2^k's bits in ``bits``
    (a float's exponent field), the second reads them back through
    ``scale``, their float32 view.
    """
    n = acc.shape[0]
    for j in range(n):
        v = min(max(-acc[j], f32(EXP_LOW)), f32(EXP_HIGH))
        k = np.floor(v * f32(LOG2E) + f32(0.5))
        r = v - k * f32(LN2_HI)
        r = r - k * f32(LN2_LO)
        p = f32(EXP_POLY[0])
        p = p * r + f32(EXP_POLY[1])
        p = p * r + f32(EXP_POLY[2])
        p = p * r + f32(EXP_POLY[3])
        p = p * r + f32(EXP_POLY[4])
        p = p * r + f32(EXP_POLY[5])
        out[j] = p * r * r + r + f32(1.0)
        bits[j] = (np.int32(k) + np.int32(127)) << np.int32(23)
    for j in range(n):
        out[j] = acc[j] / (f32(1.0) + out[j] * scale[j])


@jit
def gelu_into(acc, out):  # pragma: no cover
    """``out[j] = 0.5 * x * (1 + erf(x / sqrt(2)))`` for ``x = acc[j]``, as
    :func:`specc.runtime.activations.erf` and its gelu compute it."""
    n = acc.shape[0]
    for j in range(n):
        x = acc[j]
        t = min(max(x * f32(0.7071067811865476), f32(-4.0)), f32(4.0))
        t2 = t * t
        num = t2 * f32(ERF_NUMERATOR[0])
        num = (num + f32(ERF_NUMERATOR[1])) * t2
        num = (num + f32(ERF_NUMERATOR[2])) * t2
        num = (num + f32(ERF_NUMERATOR[3])) * t2
        num = (num + f32(ERF_NUMERATOR[4])) * t2
        num = (num + f32(ERF_NUMERATOR[5])) * t2
        num = num + f32(ERF_NUMERATOR[6])
        den = t2 * f32(ERF_DENOMINATOR[0])
        den = (den + f32(ERF_DENOMINATOR[1])) * t2
        den = (den + f32(ERF_DENOMINATOR[2])) * t2
        den = (den + f32(ERF_DENOMINATOR[3])) * t2
        den = den + f32(ERF_DENOMINATOR[4])
        erf = num * t / den
        out[j] = (erf + f32(1.0)) * x * f32(0.5)


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
    after = mode >= 2  # silu, gelu: over each finished row (their loops need long runs)
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
            if after:
                out[oh, ow, :] = acc
            else:
                activate_into(acc, mode, lo, hi, out[oh, ow])
        if after:
            activate_rows(out[oh], mode, lo, hi)


@jit
def activate_rows(y, mode, lo, hi):  # pragma: no cover
    """A C-contiguous (P, F) array through silu or gelu in place."""
    width = y.shape[1]
    affine_rows(y, np.ones(width, np.float32), np.zeros(width, np.float32), mode, lo, hi, y)


@jit
def _smooth_into(acc, mode, out, bits, scale):  # pragma: no cover
    if mode == 2:
        silu_into(acc, out, bits, scale)
    else:
        gelu_into(acc, out)


@jit
def affine_rows(x, scale, shift, mode, lo, hi, out):  # pragma: no cover
    """``out[p, f] = activation(x[p, f] * scale[f] + shift[f])`` for (P, F) arrays
    (``out`` may be ``x``): a BatchNormalization, or a bias with a unit scale.

    Modes 0 and 1 a row at a time; silu and gelu by blocks of rows of about
    :data:`ROW_PIECE` values, so that their loops run long.
    """
    rows, width = x.shape
    if mode < 2:
        acc = np.empty(width, np.float32)
        for p in range(rows):
            for f in range(width):
                acc[f] = x[p, f] * scale[f] + shift[f]
            activate_into(acc, mode, lo, hi, out[p])
        return
    block = max(1, ROW_PIECE // width)
    acc = np.empty((block, width), np.float32)
    flat = acc.reshape(block * width)
    bits = np.empty(block * width, np.int32)
    view = bits.view(np.float32)
    for p0 in range(0, rows, block):
        m = min(rows - p0, block)
        for r in range(m):
            for f in range(width):
                acc[r, f] = x[p0 + r, f] * scale[f] + shift[f]
        n = m * width
        target = out[p0 : p0 + m].reshape(n)
        _smooth_into(flat[:n], mode, target, bits[:n], view[:n])


@jit
def bias_rows(y, bias, mode, lo, hi):  # pragma: no cover
    """``y[p, f] = activation(y[p, f] + bias[f])`` in place, for a (P, F) array."""
    rows, width = y.shape
    if mode >= 2:
        affine_rows(y, np.ones(width, np.float32), bias, mode, lo, hi, y)
        return
    acc = np.empty(width, np.float32)
    for p in range(rows):
        for f in range(width):
            acc[f] = y[p, f] + bias[f]
        activate_into(acc, mode, lo, hi, y[p])


@jit
def winograd_input(q, i0, i1, v):  # pragma: no cover
    """Winograd's ``V = Bt d B`` for tile rows ``i0:i1`` of one padded image.

    ``q`` (2 th + 2, 2 tw + 2, C) is the image with its pads (zeros up to
    whole tiles); ``v`` (16, (i1 - i0) tw, C) receives ``V[4a + b]`` for
    each tile, row by row. The sums and differences are
    :func:`specc.runtime.winograd.conv3x3`'s, in its order: the same values.
    """
    tw, c = (q.shape[1] - 2) // 2, q.shape[2]
    rows = np.empty((4, 4, c), np.float32)  # (Bt d)[a, column s]
    for i in range(i0, i1):
        for j in range(tw):
            tile = (i - i0) * tw + j
            for s in range(4):
                d0, d1 = q[2 * i, 2 * j + s], q[2 * i + 1, 2 * j + s]
                d2, d3 = q[2 * i + 2, 2 * j + s], q[2 * i + 3, 2 * j + s]
                t0, t1, t2, t3 = rows[0, s], rows[1, s], rows[2, s], rows[3, s]
                for ch in range(c):
                    t0[ch] = d0[ch] - d2[ch]
                    t1[ch] = d1[ch] + d2[ch]
                    t2[ch] = d2[ch] - d1[ch]
                    t3[ch] = d1[ch] - d3[ch]
            for a in range(4):
                r0, r1, r2, r3 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3]
                v0, v1 = v[4 * a, tile], v[4 * a + 1, tile]
                v2, v3 = v[4 * a + 2, tile], v[4 * a + 3, tile]
                for ch in range(c):
                    v0[ch] = r0[ch] - r2[ch]
                    v1[ch] = r1[ch] + r2[ch]
                    v2[ch] = r2[ch] - r1[ch]
                    v3[ch] = r1[ch] - r3[ch]


@jit
def winograd_output(m, i0, i1, bias, lo, hi, out):  # pragma: no cover
    """Winograd's ``Y = At M A`` for tile rows ``i0:i1`` of one image, written to
    its output ``out`` (ho, wo, F) with the bias added and clamped to [lo, hi].

    ``m`` (16, (i1 - i0) tw, F) holds the 16 products of each tile; output
    pixels past ``out``'s edge (odd sizes) are dropped. The sums are
    :func:`specc.runtime.winograd.conv3x3`'s, in its order.
    """
    ho, wo, f = out.shape
    tw = (wo + 1) // 2
    rows = np.empty((2, 4, f), np.float32)  # (At M)[a, column b]
    for i in range(i0, i1):
        for j in range(tw):
            tile = (i - i0) * tw + j
            for b in range(4):
                m0, m1, m2, m3 = m[b, tile], m[4 + b, tile], m[8 + b, tile], m[12 + b, tile]
                top, bottom = rows[0, b], rows[1, b]
                for k in range(f):
                    top[k] = (m0[k] + m1[k]) + m2[k]
                    bottom[k] = (m1[k] - m2[k]) - m3[k]
            for a in range(2):
                if 2 * i + a >= ho:
                    continue
                r0, r1, r2, r3 = rows[a, 0], rows[a, 1], rows[a, 2], rows[a, 3]
                left = out[2 * i + a, 2 * j]
                for k in range(f):
                    left[k] = _clamp(((r0[k] + r1[k]) + r2[k]) + bias[k], lo, hi)
                if 2 * j + 1 < wo:
                    right = out[2 * i + a, 2 * j + 1]
                    for k in range(f):
                        right[k] = _clamp(((r1[k] - r2[k]) - r3[k]) + bias[k], lo, hi)


@jit
def _clamp(v, lo, hi):  # pragma: no cover
    """``v`` clamped to [lo, hi] as :func:`activate_into` does (NaN stays NaN)."""
    if v < lo:
        v = lo
    if v > hi:
        v = hi
    return v
