"""Resampling as matrices: one axis of ``tf.image.resize``, for every method Keras offers.

``tf.image.resize`` (what Keras 3's ``UpSampling2D`` and ``Resizing`` call
on TensorFlow) is linear and separable for every method, so a layer's
resampling is one (output, input) matrix per axis, a fact of the layer and
its input size that every target can apply: nearest, bilinear, bicubic and
area as TensorFlow's ``ResizeNearestNeighbor``, ``ResizeBilinear``,
``ResizeBicubic`` (half-pixel centres, Keys a=-0.5 read from its 1024-entry
table, taps outside the image dropped and the rest renormalised) and
``ResizeArea``; the Lanczos kernels, and bilinear and bicubic with
``antialias``, as ``ScaleAndTranslate`` (``scale_and_translate_op.cc``), whose
kernel widens by the shrinking factor when antialiasing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

PI = 3.14159265359  # TensorFlow's constant in sampling_kernels.h
f32 = np.float32


def _triangle(x: float) -> float:
    return 1.0 - x if x < 1.0 else 0.0


def _keys_cubic(x: float) -> float:
    if x >= 2.0:
        return 0.0
    if x >= 1.0:
        return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return (1.5 * x - 2.5) * x * x + 1.0


def _lanczos(radius: int) -> Callable[[float], float]:
    def kernel(x: float) -> float:
        if x > radius:
            return 0.0
        if x <= 1e-3:
            return 1.0
        return radius * math.sin(PI * x) * math.sin(PI * x / radius) / (PI * PI * x * x)

    return kernel


# ScaleAndTranslate's kernels: (function of |distance|, radius).
KERNELS: dict[str, tuple[Callable[[float], float], int]] = {
    "bilinear": (_triangle, 1),
    "bicubic": (_keys_cubic, 2),
    "lanczos3": (_lanczos(3), 3),
    "lanczos5": (_lanczos(5), 5),
}


def resize_matrix(n_in: int, n_out: int, method: str, antialias: bool = False) -> np.ndarray:
    """The (n_out, n_in) float32 matrix of ``tf.image.resize(method, antialias)`` on one axis."""
    if method == "nearest":
        return _nearest(n_in, n_out)
    if method in ("lanczos3", "lanczos5") or (antialias and method in KERNELS):
        return _scale_and_translate(n_in, n_out, method, antialias)
    out = np.zeros((n_out, n_in), np.float64)
    scale = f32(n_in) / f32(n_out)
    for i in range(n_out):
        if method == "area":
            lo, hi = i * n_in / n_out, (i + 1) * n_in / n_out
            for j in range(math.floor(lo), min(math.ceil(hi), n_in)):
                out[i, j] = (min(hi, j + 1) - max(lo, j)) / (hi - lo)
            continue
        centre = float(f32((f32(i) + f32(0.5)) * scale - f32(0.5)))
        if method == "bilinear":
            lo = math.floor(centre)
            lerp = centre - lo
            out[i, max(lo, 0)] += 1.0 - lerp
            out[i, min(math.ceil(centre), n_in - 1)] += lerp
        elif method == "bicubic":
            lo = math.floor(centre)
            t = round((centre - lo) * 1024) / 1024  # TensorFlow's coefficient table
            a = -0.5
            weights = [
                ((a * (1 + t) - 5 * a) * (1 + t) + 8 * a) * (1 + t) - 4 * a,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                ((a + 2) * (1 - t) - (a + 3)) * (1 - t) ** 2 + 1,
                ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
            ]
            taps = [(lo - 1 + k, wk) for k, wk in enumerate(weights) if 0 <= lo - 1 + k < n_in]
            total = sum(wk for _, wk in taps)
            for j, wk in taps:
                out[i, j] = wk / total
        else:
            raise ValueError(f"unknown interpolation {method!r}")
    return out.astype(np.float32)


def _nearest(n_in: int, n_out: int) -> np.ndarray:
    """``ResizeNearestNeighbor`` with half-pixel centres: ``floor((i + 0.5) * in / out)``."""
    scale = f32(n_in) / f32(n_out)
    out = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        source = math.floor(f32(f32(i) + f32(0.5)) * scale)
        out[i, min(max(source, 0), n_in - 1)] = 1.0
    return out


def _scale_and_translate(n_in: int, n_out: int, method: str, antialias: bool) -> np.ndarray:
    """``ScaleAndTranslate`` with no translation: kernel taps around each sample, normalised."""
    kernel, radius = KERNELS[method]
    inv_scale = f32(1.0) / (f32(n_out) / f32(n_in))
    kernel_scale = max(float(inv_scale), 1.0) if antialias else 1.0
    reach = f32(radius * kernel_scale)
    out = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        sample = f32(f32(i) + f32(0.5)) * inv_scale
        if sample < 0 or sample > n_in:
            continue
        start = min(max(math.ceil(sample - reach - f32(0.5)), 0), n_in - 1)
        end = min(max(math.floor(sample + reach - f32(0.5)), 0), n_in - 1) + 1
        taps = [
            (j, kernel(abs(float(f32(j) + f32(0.5) - sample)) / kernel_scale))
            for j in range(start, end)
        ]
        total = sum(w for _, w in taps)
        for j, w in taps:
            out[i, j] = w / total if abs(total) >= 1000.0 * np.finfo(np.float32).tiny else w
    return out.astype(np.float32)
