"""The CPU grouped Conv2D (im2col group by group, by pieces of rows), against PyTorch.

specc/runtime/numpy_conv.py builds each piece's im2col rows with each
group's columns adjacent (specc/runtime/nn.py ``im2col_grouped``) and runs
one product per group into the group's output channels in place. Pieces of
one row of output, spread over two threads, put piece edges everywhere; each
geometry (kernel, strides, dilation, Keras 'same' pads, groups, channels per
group in and out) is checked against ``torch.nn.functional.conv2d`` with
``groups`` on the input padded by Keras's rule, in float64.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import require

from specc.check import check_source
from specc.runtime import numpy_conv, threads
from specc.runtime.numpy_backend import NumpyBackend
from specc.weights import init_weights

GEOMETRIES = [
    (kernel, strides, dilation, padding, groups, per_group)
    for kernel, strides, dilation, padding, groups, per_group in itertools.product(
        [(1, 1), (3, 3), (3, 1)],
        [(1, 1), (2, 2)],
        [(1, 1), (2, 2)],
        ["same", "valid"],
        [2, 4],
        [(2, 3), (8, 8)],
    )
    if strides == (1, 1) or dilation == (1, 1)
]


def _keras_pads(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple:
    """Keras's padding of one axis: 'same' puts the odd pixel at the end."""
    if padding == "valid":
        return (0, 0)
    span = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return (total // 2, total - total // 2)


def _torch_grouped(x, kernel, bias, strides, dilation, padding, groups, activation):
    torch = require("torch")
    kh, kw = kernel.shape[:2]
    rows = _keras_pads(x.shape[1], kh, strides[0], dilation[0], padding)
    cols = _keras_pads(x.shape[2], kw, strides[1], dilation[1], padding)
    padded = np.pad(x, ((0, 0), rows, cols, (0, 0))).astype(np.float64)
    out = torch.nn.functional.conv2d(
        torch.from_numpy(padded.transpose(0, 3, 1, 2).copy()),
        torch.from_numpy(kernel.transpose(3, 2, 0, 1).astype(np.float64).copy()),
        torch.from_numpy(bias.astype(np.float64)),
        stride=strides,
        dilation=dilation,
        groups=groups,
    )
    out = out.numpy().transpose(0, 2, 3, 1)
    return np.maximum(out, 0) if activation == "relu" else out


@pytest.mark.parametrize(
    ("kernel", "strides", "dilation", "padding", "groups", "per_group"), GEOMETRIES
)
def test_grouped_conv_by_pieces_agrees_with_torch(
    kernel, strides, dilation, padding, groups, per_group, monkeypatch
):
    monkeypatch.setattr(numpy_conv, "IM2COL_VALUES", 1)  # a piece per row of output
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)  # and the pieces over two threads
    cin, cout = per_group[0] * groups, per_group[1] * groups
    activation = "relu" if padding == "same" else "linear"
    spec = (
        f"model grouped {{ input 9x10x{cin}\n"
        f"  conv2d {cout} {kernel} strides={strides} dilation_rate={dilation} "
        f"padding={padding} groups={groups} "
        f"activation={activation} }}"
    )
    result = check_source(spec, "grouped.cnn")
    assert not result.errors, [d.message for d in result.errors]
    model = result.model()
    rng = np.random.default_rng(len(spec))
    weights = {
        k: rng.standard_normal(v.shape).astype(np.float32) for k, v in init_weights(model).items()
    }
    x = rng.standard_normal((2, 9, 10, cin)).astype(np.float32)
    expected = _torch_grouped(
        x,
        weights["conv2d/kernel"],
        weights["conv2d/bias"],
        strides,
        dilation,
        padding,
        groups,
        activation,
    )
    for width in (1, 2):
        got = NumpyBackend(model, weights, threads=width)(x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
