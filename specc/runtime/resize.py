"""Upsampling on an array module ``xp``: nearest repeats, and TensorFlow's resize as matrices.

Keras 3's ``UpSampling2D`` repeats pixels for ``nearest`` and calls
``tf.image.resize`` (``antialias=False``, half-pixel centres) for every other
interpolation; that resize is linear and separable, so it is one matrix per
axis, computed once per layer when the runtime prepares the model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Array = Any  # numpy.ndarray or cupy.ndarray


def upsample_nearest(xp: Any, x: Array, size: tuple[int, int]) -> Array:
    """Each pixel repeated ``size`` times along height and width."""
    n, h, w, c = x.shape
    fh, fw = size
    wide = xp.broadcast_to(x[:, :, None, :, None, :], (n, h, fh, w, fw, c))
    return wide.reshape(n, h * fh, w * fw, c)


def resize_matrix(n_in: int, n_out: int, method: str) -> np.ndarray:
    """The (n_out, n_in) float32 matrix of TensorFlow's ``tf.image.resize`` on one axis.

    Upsampling in Keras 3 (``antialias=False``, half-pixel centres) is linear
    and separable, so each method is one matrix per axis: bilinear and bicubic
    as ``ResizeBilinear``/``ResizeBicubic`` (Keys cubic a=-0.5, weights read
    from TensorFlow's 1024-entry table, taps outside the image dropped and the
    rest renormalised), lanczos3/5 as ``ScaleAndTranslate``, area as ``ResizeArea``.
    """
    out = np.zeros((n_out, n_in), np.float64)
    scale = np.float32(n_in) / np.float32(n_out)
    for i in range(n_out):
        if method == "area":
            lo, hi = i * n_in / n_out, (i + 1) * n_in / n_out
            for j in range(math.floor(lo), min(math.ceil(hi), n_in)):
                out[i, j] = (min(hi, j + 1) - max(lo, j)) / (hi - lo)
            continue
        centre = float(np.float32((np.float32(i) + np.float32(0.5)) * scale - np.float32(0.5)))
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
        elif method in ("lanczos3", "lanczos5"):
            radius = int(method[-1])
            sample = (i + 0.5) * (n_in / n_out)
            start = min(max(math.ceil(sample - radius - 0.5), 0), n_in - 1)
            end = min(max(math.floor(sample + radius - 0.5), 0), n_in - 1) + 1
            taps = [(j, _lanczos(abs(j + 0.5 - sample), radius)) for j in range(start, end)]
            total = sum(wk for _, wk in taps)
            for j, wk in taps:
                out[i, j] = wk / total
        else:
            raise ValueError(f"unknown interpolation {method!r}")
    return out.astype(np.float32)


def _lanczos(x: float, radius: int) -> float:
    pi = 3.14159265359  # TensorFlow's constant
    if x > radius:
        return 0.0
    if x <= 1e-3:
        return 1.0
    return radius * math.sin(pi * x) * math.sin(pi * x / radius) / (pi * pi * x * x)


def resize(xp: Any, x: Array, rows: Array, cols: Array) -> Array:
    """``x`` (N, H, W, C) resized by per-axis matrices ``rows`` (Ho, H) and ``cols`` (Wo, W)."""
    n, h, w, c = x.shape
    ho, wo = rows.shape[0], cols.shape[0]
    tall = xp.matmul(rows, x.reshape(n, h, w * c)).reshape(n * ho, w, c)
    wide = xp.matmul(cols, tall)  # (n*ho, wo, c)
    return wide.reshape(n, ho, wo, c)
