"""Upsampling on an array module ``xp``: nearest repeats, and TensorFlow's resize as matrices.

Keras 3's ``UpSampling2D`` repeats pixels for ``nearest`` and calls
``tf.image.resize`` (``antialias=False``, half-pixel centres) for every other
interpolation; that resize is linear and separable, so it is one matrix per
axis, computed once per layer when the runtime prepares the model.
"""

from __future__ import annotations

from typing import Any

from specc.ir.resampling import resize_matrix as resize_matrix  # used as resize.resize_matrix

Array = Any  # numpy.ndarray or cupy.ndarray


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
