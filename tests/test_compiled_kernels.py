"""The compiled CPU kernels (specc/runtime/compiled.py, numba) against NumPy's own code.

Each activation a kernel applies is checked against
:func:`specc.runtime.activations.activate` (the formulas the rest of the
runtime, and the Keras agreement tests, use), on values across the ranges
where the formulas change regime; and a whole model run with and without the
kernels gives the same output.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

from specc.runtime import compiled
from specc.runtime.activations import activate


@pytest.fixture
def kernels():
    found = compiled.kernels()
    if found is None:
        require("numba")  # fails in CI (SPECC_REQUIRE_ALL), skips locally without numba
        pytest.skip("SPECC_NUMBA=0")
    return found


VALUES = np.concatenate(
    [np.linspace(-12, 12, 4000), [-100.0, -89.0, -4.5, -1e-30, 0.0, 1e-30, 4.5, 89.0]]
).astype(np.float32)


@pytest.mark.parametrize("name", sorted(compiled.MODES, key=str))
def test_each_fused_activation_is_the_runtimes_formula(kernels, name):
    rng = np.random.default_rng(0)
    x = rng.permutation(VALUES).reshape(-1, 8)
    scale = rng.uniform(0.5, 2.0, 8).astype(np.float32)
    shift = rng.uniform(-1.0, 1.0, 8).astype(np.float32)
    with np.errstate(over="ignore"):  # exp(100) in silu: inf, then x / inf
        expected = activate(np, (x * scale + shift).astype(np.float32), name)
    out = np.empty_like(x)
    kernels.affine_rows(x, scale, shift, *compiled.activation_mode(name), out)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=2e-6, err_msg=name)
    y = x.copy()
    kernels.bias_rows(y, shift, *compiled.activation_mode(name))
    with np.errstate(over="ignore"):
        expected = activate(np, (x + shift).astype(np.float32), name)
    np.testing.assert_allclose(y, expected, rtol=2e-6, atol=2e-6, err_msg=name)


def test_unknown_activations_are_left_to_numpy():
    assert compiled.activation_mode("softmax") is None
    assert compiled.activation_mode("tanh") is None
    assert compiled.activation_mode("sigmoid") is None


SPEC = """model fused { input 17x15x8
  conv2d 16 3x3 padding=same activation=swish
  depthwiseconv2d 3x3 strides=2 padding=same activation=relu6
  batchnormalization
  activation gelu
  separableconv2d 24 5x5 padding=same activation=hard_silu
  conv2d 12 1x1 activation=relu
  depthwiseconv2d 3x3 depth_multiplier=2 activation=tanh
  globalavgpool
  dense 5 activation=softmax }"""


def test_a_model_gives_the_same_output_with_and_without_the_kernels(kernels, monkeypatch):
    from specc.check import check_source
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    model = check_source(SPEC, "fused.cnn").model()
    weights = init_weights(model)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 17, 15, 8)).astype(np.float32)
    fast = NumpyBackend(model, weights)
    assert fast.compiled is kernels
    got = fast(x)
    monkeypatch.setenv("SPECC_NUMBA", "0")
    plain = NumpyBackend(model, weights)
    assert plain.compiled is None
    np.testing.assert_allclose(got, plain(x), rtol=1e-5, atol=1e-6)


def test_models_without_a_depthwise_convolution_do_not_load_numba(kernels):
    from specc.check import check_source
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    plain = "model plain { input 8x8x3\n  conv2d 4 3x3 activation=relu\n  flatten\n  dense 2 }"
    model = check_source(plain, "plain.cnn").model()
    assert NumpyBackend(model, init_weights(model)).compiled is None
    grouped = "model grouped { input 8x8x4\n  conv2d 8 3x3 groups=4 activation=relu6\n  flatten }"
    model = check_source(grouped, "grouped.cnn").model()
    assert NumpyBackend(model, init_weights(model)).compiled is kernels


def test_small_ops_stay_on_one_thread(monkeypatch):
    """Below SPLIT_MIN_MACS an op's pieces run on the calling thread; above, on the helpers."""
    import threading
    import time

    from specc.runtime import threads

    seen: set[str] = set()

    def work(index: int) -> None:
        seen.add(threading.current_thread().name)
        time.sleep(0.001)  # long enough for the helper to wake and take a piece

    with threads.spread(2):
        threads.run_split(16, work, macs=threads.SPLIT_MIN_MACS - 1)
        assert seen == {threading.current_thread().name}
        monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)
        threads.run_split(16, work, macs=1)
    assert any(name.startswith("specc-split") for name in seen)


def test_silu_and_gelu_are_within_their_error_bounds_of_float64(kernels):
    """The kernels' own exp (Cephes's polynomial) and erf (Eigen's), measured against
    float64 over the range where they change regime: silu within 3 ulp of the
    true value (2.3 measured; NumPy's own ``x / (1 + exp(-x))`` is at 3.5 here),
    gelu within 4e-7 x max(1, |x|) (Eigen's erf: 2e-7 absolute)."""
    import math

    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.linspace(-88, 88, 1_000_001),
            rng.uniform(-20, 20, 500_000),
            rng.standard_normal(100_000) * 1e-3,
        ]
    ).astype(np.float32)
    exact = x.astype(np.float64)
    silu = x.reshape(1, -1).copy()
    kernels.bias_rows(silu, np.zeros(x.size, np.float32), *compiled.activation_mode("silu"))
    true = exact / (1 + np.exp(-exact))
    normal = np.abs(true) > 1e-30
    ulp = np.spacing(np.abs(true[normal]).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(silu[0][normal] - true[normal]) / ulp) <= 3.0
    gelu = x.reshape(1, -1).copy()
    kernels.bias_rows(gelu, np.zeros(x.size, np.float32), *compiled.activation_mode("gelu"))
    every = slice(0, None, 5)
    true = 0.5 * exact[every] * (1 + np.vectorize(math.erf)(exact[every] / math.sqrt(2)))
    error = np.abs(gelu[0][every] - true) / np.maximum(1.0, np.abs(exact[every]))
    assert error.max() <= 4e-7
