"""Winograd's transforms compiled (numba): NumPy's values, and Keras's output.

:func:`specc.runtime.winograd.conv3x3_compiled` must give exactly the values
of the NumPy transforms (:func:`~specc.runtime.winograd.conv3x3`) with the
bias and the clamp after them, whatever the geometry (odd sizes, padding,
pads folded from a ZeroPadding2D), and a model using it on two threads must
agree with Keras.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from test_runtime_cases import assert_agrees, make_case

from specc.lower import Window, window_of


def serial(count, work) -> None:
    for index in range(count):
        work(index)


@pytest.mark.parametrize(
    ("hw", "channels", "filters", "pads", "clamp"),
    [
        ((8, 8), 16, 16, "same", (0.0, np.inf)),
        ((13, 11), 24, 40, "same", (0.0, 6.0)),
        ((7, 9), 32, 8, "valid", (-np.inf, np.inf)),
        ((12, 5), 16, 72, ((2, 3), (1, 4)), (0.0, np.inf)),
        ((3, 3), 16, 16, ((1, 1), (1, 1)), (-np.inf, np.inf)),
    ],
)
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_transforms_give_the_numpy_values(hw, channels, filters, pads, clamp, threads):
    require("numba")
    from specc.runtime import nn, winograd
    from specc.runtime import threads as pool
    from specc.runtime.compiled import kernels

    compiled = kernels()
    assert compiled is not None
    rng = np.random.default_rng(hw[0] * channels + filters)
    x = rng.standard_normal((3, *hw, channels)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, channels, filters)).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    u = winograd.transform_kernel(kernel)
    if isinstance(pads, str):
        window = window_of(hw, (3, 3), padding=pads)
    else:
        (top, bottom), (left, right) = pads
        out_hw = (hw[0] + top + bottom - 2, hw[1] + left + right - 2)
        window = Window((3, 3), (1, 1), (1, 1), pads, hw, out_hw)
    expected = winograd.conv3x3(np, x, u, window, False, serial) + bias
    expected = np.minimum(np.maximum(expected, np.float32(clamp[0])), np.float32(clamp[1]))
    with pool.spread(threads):
        got = winograd.conv3x3_compiled(
            compiled, x, u, window, bias, clamp, pool.run_split, threads
        )
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    direct = np.clip(nn.conv2d(np, x, kernel, window) + bias, clamp[0], clamp[1])
    np.testing.assert_allclose(got, direct, rtol=1e-5, atol=1e-4 * float(np.abs(direct).max()))


SPEC = """model wino { input 30x26x16
  conv2d 32 3x3 padding=same activation=relu
  zeropadding2d 1
  conv2d 24 3x3 activation=swish
  conv2d 160 3x3 strides=2 padding=same
  conv2d 192 3x3 padding=same activation=relu6
  globalavgpool }"""


def test_a_model_on_the_compiled_transforms_agrees_with_keras(monkeypatch):
    """Batch 1 over two threads (tile rows, then channel blocks on the small map)."""
    require("tensorflow")
    require("numba")
    from specc.check import check_source
    from specc.runtime import threads, winograd
    from specc.runtime.numpy_backend import NumpyBackend

    model = check_source(SPEC, "wino.cnn").model()
    case = make_case("wino", model, seed=5, batch=1)
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)
    calls = []
    compiled = winograd.conv3x3_compiled
    monkeypatch.setattr(
        winograd, "conv3x3_compiled", lambda *args: calls.append(1) or compiled(*args)
    )
    backend = NumpyBackend(model, case.weights, threads=2)
    assert backend.compiled is not None  # loaded for Winograd alone: the plan has no depthwise
    assert_agrees(backend(case.x), case.expected, "compiled Winograd")
    assert len(calls) == 3
