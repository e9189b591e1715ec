"""Table-driven tests of ``specc.ir.shapes`` against Keras's own shape functions.

For every combination of a grid of lengths, kernels, strides, dilations,
paddings and output paddings, the pure functions of ``specc/ir/shapes.py``
must return what Keras's ``compute_conv_output_shape``,
``compute_pooling_output_shape`` and ``compute_conv_transpose_output_shape``
return, and raise :class:`ShapeError` exactly where Keras raises. Merges and
reshapes are compared with the Keras layers' ``compute_output_shape``/``build``.
"""

from __future__ import annotations

import itertools

import pytest
from conftest import require

from specc.ir import shapes as sh
from specc.ir.shapes import ShapeError

LENGTHS = range(1, 13)
KERNELS = range(1, 6)
STRIDES = range(1, 4)
DILATIONS = range(1, 4)
PADDINGS = ("valid", "same")


def _keras_or_error(fn, *args, **kwargs):
    """Keras's answer, or the exception class when Keras refuses."""
    try:
        return tuple(None if d is None else int(d) for d in fn(*args, **kwargs))
    except ValueError:
        return ValueError


def _specc_or_error(fn, *args):
    try:
        return fn(*args)
    except ShapeError as exc:
        assert exc.message and exc.code.startswith("E")
        return ValueError


@pytest.fixture(scope="module")
def ou():
    """Keras's ``operation_utils`` (shape rules of conv and pooling)."""
    require("tensorflow")
    from keras.src.ops import operation_utils

    return operation_utils


def _pairs(values):
    """Every value as height, rotated so width differs: exercises both axes."""
    values = list(values)
    return [(v, values[(i + 7) % len(values)]) for i, v in enumerate(values)]


def test_conv_output_shape_matches_keras(ou):
    grid = list(itertools.product(LENGTHS, KERNELS, STRIDES, DILATIONS, PADDINGS))
    refusals = 0
    for (h, k, s, d, pad), (w, k2, s2, d2, _) in _pairs(grid):
        expected = _keras_or_error(
            ou.compute_conv_output_shape,
            (None, h, w, 3),
            4,
            (k, k2),
            strides=(s, s2),
            padding=pad,
            dilation_rate=(d, d2),
        )
        got = _specc_or_error(
            sh.conv_output_shape, (h, w), (k, k2), (s, s2), pad, (d, d2), "conv2d"
        )
        if expected is ValueError:
            refusals += 1
            assert got is ValueError, (h, w, k, k2, s, s2, d, d2, pad)
        else:
            assert got == expected[1:3], (h, w, k, k2, s, s2, d, d2, pad)
            assert sh.conv_output_length(h, k, s, pad, d) == expected[1]
    assert refusals > 50  # the grid reaches Keras's refusals, not only easy cases


def test_conv_refusal_is_e201_with_keras_wording(ou):
    with pytest.raises(ValueError, match="zero or negative"):
        ou.compute_conv_output_shape((None, 3, 3, 1), 8, (5, 5), padding="valid")
    with pytest.raises(ShapeError) as info:
        sh.conv_output_shape((3, 3), (5, 5), (1, 1), "valid", (1, 1), "conv2d")
    assert info.value.code == "E201"
    assert "does not fit" in info.value.message and "3x3" in info.value.message


def test_pooling_output_shape_matches_keras(ou):
    grid = list(itertools.product(LENGTHS, KERNELS, (None, *STRIDES), PADDINGS))
    refusals = 0
    for (h, p, s, pad), (w, p2, s2, _) in _pairs(grid):
        strides = None if s is None or s2 is None else (s, s2)
        expected = _keras_or_error(
            ou.compute_pooling_output_shape, (None, h, w, 2), (p, p2), strides, padding=pad
        )
        got = _specc_or_error(
            sh.pool_output_shape, (h, w), (p, p2), strides or (p, p2), pad, "maxpooling2d"
        )
        if expected is ValueError:
            refusals += 1
            assert got is ValueError, (h, w, p, p2, strides, pad)
        else:
            assert got == expected[1:3], (h, w, p, p2, strides, pad)
    assert refusals > 20


def test_conv_transpose_output_length_matches_keras(ou):
    require("tensorflow")
    from keras.src.backend.common.backend_utils import compute_conv_transpose_output_shape

    checked = 0
    for n, k, s, d, pad in itertools.product(LENGTHS, KERNELS, STRIDES, DILATIONS, PADDINGS):
        for op in (None, *range(s)):
            expected = compute_conv_transpose_output_shape(
                (None, n, n + 1, 3),
                (k, k),
                5,
                (s, s),
                pad,
                output_padding=None if op is None else (op, op),
                dilation_rate=d,
            )
            got_h = sh.conv_transpose_output_length(n, k, s, pad, op, d)
            got_w = sh.conv_transpose_output_length(n + 1, k, s, pad, op, d)
            assert (got_h, got_w) == tuple(expected[1:3]), (n, k, s, d, pad, op)
            checked += 1
    assert checked > 3000


MERGE_CASES = [
    [(4, 4, 2), (4, 4, 2)],
    [(4, 4, 2), (4, 4, 3)],
    [(4, 4, 2), (1, 1, 2)],
    [(4, 1, 2), (1, 4, 2)],
    [(4, 4, 2), (4, 4, 2), (1, 4, 1)],
    [(4, 4, 2), (2, 4, 2)],
    [(8,), (8,)],
    [(8,), (1,)],
    [(8,), (7,)],
    [(3, 5), (3, 5), (3, 5)],
    [(3, 5), (5, 3)],
]
CONCAT_CASES = [
    ([(4, 4, 2), (4, 4, 3)], -1),
    ([(4, 4, 2), (4, 4, 3)], 3),
    ([(4, 4, 2), (4, 4, 3)], 1),
    ([(4, 4, 2), (5, 4, 2)], 1),
    ([(4, 4, 2), (5, 4, 2)], -3),
    ([(4, 4, 2), (4, 6, 2), (4, 1, 2)], 2),
    ([(4, 4, 2), (4, 6, 2)], -1),
    ([(8,), (3,)], -1),
    ([(8,), (3,)], 1),
    ([(3, 5), (3, 2)], -1),
    ([(3, 5), (4, 5)], -2),
]
RESHAPE_CASES = [
    ((4, 4, 2), (32,)),
    ((4, 4, 2), (8, -1)),
    ((4, 4, 2), (-1, 2, 2)),
    ((4, 4, 2), (5, -1)),
    ((4, 4, 2), (3, 3)),
    ((4, 4, 2), (33,)),
    ((7,), (7, 1, 1)),
    ((7,), (-1,)),
    ((6, 5), (2, 3, 5)),
    ((6, 5), (4, -1)),
]


@pytest.mark.parametrize("shapes", MERGE_CASES, ids=str)
def test_elementwise_merge_matches_keras(shapes):
    require("tensorflow")
    import keras

    def keras_add(batched):
        return keras.layers.Add().compute_output_shape(batched)

    expected = _keras_or_error(keras_add, [(None, *s) for s in shapes])
    got = _specc_or_error(sh.broadcast_shapes, shapes, "add")
    assert got == (expected if expected is ValueError else expected[1:])


@pytest.mark.parametrize(("shapes", "axis"), CONCAT_CASES, ids=str)
def test_concatenate_matches_keras(shapes, axis):
    require("tensorflow")
    import keras

    def keras_concat(batched):
        layer = keras.layers.Concatenate(axis=axis)
        layer.build(batched)
        return layer.compute_output_shape(batched)

    expected = _keras_or_error(keras_concat, [(None, *s) for s in shapes])
    got = _specc_or_error(sh.concat_shape, shapes, axis)
    assert got == (expected if expected is ValueError else expected[1:])


@pytest.mark.parametrize(("shape", "target"), RESHAPE_CASES, ids=str)
def test_reshape_matches_keras(shape, target):
    require("tensorflow")
    import keras

    def keras_reshape(batched):
        return keras.layers.Reshape(target).compute_output_shape(batched)

    expected = _keras_or_error(keras_reshape, (None, *shape))
    got = _specc_or_error(sh.reshape_shape, shape, target)
    assert got == (expected if expected is ValueError else expected[1:])


def test_rank_and_size_refusals():
    with pytest.raises(ShapeError) as info:
        sh.require_rank((10,), 3, "conv2d")
    assert info.value.code == "E205"
    sh.require_rank((4, 4, 3), 3, "conv2d")
    with pytest.raises(ShapeError) as info:
        sh.check_size((sh.MAX_DIM + 1,))
    assert info.value.code == "E207"
    assert sh.check_size((sh.MAX_DIM,)) == (sh.MAX_DIM,)
