"""The CPU depthwise convolutions by blocks of rows, against PyTorch's grouped convolution.

Both CPU paths: NumPy's einsum blocks (specc/runtime/numpy_depthwise.py) and
the compiled kernel (specc/runtime/compiled.py, numba, bias and activation
inside).

Blocks of a few values put block edges inside every image, the unpadded
reads meet every border, and blocks spread over threads write each their own
rows: each geometry (kernel, strides, dilation,
asymmetric Keras 'same' pads, depth multiplier) against
``torch.nn.functional.conv2d`` with ``groups=C`` on the explicitly padded input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import require

from specc.lower import window_of
from specc.runtime import compiled, nn, numpy_depthwise, threads
from specc.runtime.threads import spread

GEOMETRIES = [
    (hw, kernel, strides, dilation, padding, mult)
    for hw, kernel, strides, dilation, padding, mult in itertools.product(
        [(1, 1), (5, 8), (9, 7)],
        [(1, 1), (3, 3), (2, 5)],
        [(1, 1), (2, 2), (3, 1)],
        [(1, 1), (2, 2)],
        ["same", "valid"],
        [1, 2],
    )
    if (strides == (1, 1) or dilation == (1, 1))
    and all(n >= (k - 1) * d + 1 for n, k, d in zip(hw, kernel, dilation, strict=True))
]


def _torch_depthwise(x: np.ndarray, kernel: np.ndarray, window) -> np.ndarray:
    torch = require("torch")
    padded = nn.pad_hw(np, x, window.pads)
    kh, kw, c, mult = kernel.shape
    weight = torch.from_numpy(kernel.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw).copy())
    out = torch.nn.functional.conv2d(
        torch.from_numpy(padded.transpose(0, 3, 1, 2).copy()).double(),
        weight.double(),
        stride=window.strides,
        dilation=window.dilation,
        groups=c,
    )
    return out.numpy().transpose(0, 2, 3, 1)


BLOCKS = [(1, 1), (7, 1), (7, 3), (64, 2), (numpy_depthwise.DEPTHWISE_BLOCK, 1)]


@pytest.mark.parametrize(("block", "width"), BLOCKS)
def test_blocks_and_borders_agree_with_torch(block, width, monkeypatch):
    """Every geometry, by blocks of ``block`` values spread over ``width`` threads."""
    monkeypatch.setattr(numpy_depthwise, "DEPTHWISE_BLOCK", block)
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)
    rng = np.random.default_rng(block)

    def einsum(x, k, bias, window, activation):
        assert bias is None and activation == "relu6"
        return nn.depthwise_conv2d(np, x, k, window, finish=lambda y: np.clip(y, 0, 6))

    with spread(width):
        _check_geometries(rng, einsum, ["relu6"])


@pytest.mark.parametrize(("block", "width"), BLOCKS)
def test_the_compiled_kernel_agrees_with_torch(block, width, monkeypatch):
    """The numba kernel: every geometry, with a bias and each kind of activation
    (inside the kernel, or swish and gelu on each block after it)."""
    kernels = compiled.kernels()
    if kernels is None:
        require("numba")  # fails in CI (SPECC_REQUIRE_ALL), skips locally
        pytest.skip("SPECC_NUMBA=0")
    monkeypatch.setattr(numpy_depthwise, "DEPTHWISE_BLOCK", block)
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)
    rng = np.random.default_rng(block)

    def compiled_run(x, k, bias, window, activation):
        return numpy_depthwise.compiled_depthwise(kernels, k, bias, window, activation)(x)

    with spread(width):
        _check_geometries(rng, compiled_run, [None, "relu", "relu6", "hard_silu", "swish", "gelu"])


def _check_geometries(rng: np.random.Generator, depthwise, activations: list) -> None:
    from specc.runtime.activations import activate

    for index, (hw, kernel, strides, dilation, padding, mult) in enumerate(GEOMETRIES):
        window = window_of(hw, kernel, strides, padding, dilation)
        x = rng.standard_normal((2, *hw, 3)).astype(np.float32)
        k = rng.standard_normal((*kernel, 3, mult)).astype(np.float32)
        activation = activations[index % len(activations)]
        bias = None if activation == "relu6" else rng.standard_normal(3 * mult).astype(np.float32)
        got = depthwise(x, k, bias, window, activation)
        expected = _torch_depthwise(x, k, window) + (0 if bias is None else bias)
        expected = activate(np, expected.astype(np.float32), activation)
        what = f"{hw} {kernel} s{strides} d{dilation} {padding} x{mult} {activation}"
        np.testing.assert_allclose(got, expected, 1e-5, 1e-5, err_msg=what)
    assert len(GEOMETRIES) > 100
