"""Compiled CPU kernels (numba) for the passes NumPy cannot fuse.

NumPy runs one operation per pass over memory: a 3x3 depthwise convolution
is at least nine passes over its output, then one for the bias and one for
the activation. A loop compiled by numba does the whole of an output pixel
(every tap, the bias, and relu, relu6 or hard silu) while its channels sit
in registers, one pass in all (silu and gelu over each finished row of
output, while it is in cache): MobileNetV2's seventeen depthwise layers at
batch 1 take 3.2 ms on one core here, against 9.7 ms for the einsum blocks
of :mod:`specc.runtime.numpy_depthwise` (benchmarks/NOTES.md).
Winograd's input and output transforms likewise take one pass each where
NumPy takes eight (:func:`specc.runtime.winograd.conv3x3_compiled`).

The kernels are in :mod:`specc.runtime.numba_kernels`; numba is the ``fast``
extra (in ``all``). Without it, or with
``SPECC_NUMBA=0`` in the environment, :func:`kernels` is None and the
runtime uses its NumPy code, which computes the same function. The kernels
are compiled on first use and cached on disk by numba (``cache=True``), so
a later process loads them in milliseconds. They release the GIL, so the
runtime's own threads (:func:`specc.runtime.threads.run_split`) run them in
parallel; numba's threading layer is not used, as it may not be entered
from several threads at once.

Each output value is the sum of its taps in a fixed order (row by row, then
the bias, as Keras adds it), whatever the blocks or threads: results do not
depend on how a batch is split.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from types import ModuleType

MODES = {
    None: (0, -math.inf, math.inf),
    "linear": (0, -math.inf, math.inf),
    "relu": (0, 0.0, math.inf),
    "relu6": (0, 0.0, 6.0),
    "hard_silu": (1, 0.0, 0.0),
    "hard_swish": (1, 0.0, 0.0),
    "silu": (2, 0.0, 0.0),
    "swish": (2, 0.0, 0.0),
    "gelu": (3, 0.0, 0.0),
}
"""The activations the kernels apply to each value as they write it: (mode,
low, high). Mode 0 clamps to [low, high] (none, relu, relu6); 1 is hard silu
``x * relu6(x + 3) / 6``, 2 silu ``x / (1 + exp(-x))`` and 3 gelu
``x * (1 + erf(x / sqrt(2))) / 2``, as :mod:`specc.runtime.activations`
computes them. numba here has no vectorized ``exp`` (Intel's SVML), so silu's
is Cephes's polynomial (at most 2 ulp from the true exp, as NumPy's own), and
erf is Eigen's rational function, the one NumPy's path uses."""


def activation_mode(name: str | None) -> tuple[int, float, float] | None:
    """The kernels' (mode, low, high) for activation ``name``, or None if they lack it."""
    return MODES.get(name)


def kernels() -> ModuleType | None:
    """The compiled kernels (:mod:`specc.runtime.numba_kernels`), or None without
    numba or with ``SPECC_NUMBA=0``."""
    if os.environ.get("SPECC_NUMBA", "1") == "0":
        return None
    return _compile()


@lru_cache(maxsize=1)
def _compile() -> ModuleType | None:
    try:
        from specc.runtime import numba_kernels
    except ImportError:  # numba absent, or built for another NumPy
        return None
    return numba_kernels
