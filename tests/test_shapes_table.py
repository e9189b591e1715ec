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


def test_cropping_matches_keras():
    """Every crop of small maps: Keras's Cropping2D output shape, or its refusal (E201)."""
    require("tensorflow")
    import keras

    refusals = 0
    for h, w in ((1, 1), (3, 4), (5, 2)):
        for crops in itertools.product(range(4), repeat=4):
            cropping = ((crops[0], crops[1]), (crops[2], crops[3]))
            layer = keras.layers.Cropping2D(cropping)
            expected = _keras_or_error(layer.compute_output_shape, (None, h, w, 3))
            got = _specc_or_error(sh.cropped_shape, (h, w, 3), cropping)
            refusals += expected is ValueError
            assert got == (expected if expected is ValueError else expected[1:]), (h, w, crops)
    assert refusals > 100


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)], ids=str)
def test_permute_matches_keras(shape):
    require("tensorflow")
    import keras

    for dims in itertools.permutations(range(1, len(shape) + 1)):
        expected = keras.layers.Permute(dims).compute_output_shape((None, *shape))
        assert sh.permuted_shape(shape, dims) == tuple(expected[1:])
    with pytest.raises(ShapeError) as info:
        sh.permuted_shape(shape, (*range(1, len(shape) + 1), len(shape) + 1))
    assert info.value.code == "E205"


def test_normalized_axes_refuse_what_keras_refuses():
    """Keras's LayerNormalization: axes -rank..rank-1 (batch counted), the batch axis unusable."""
    require("tensorflow")
    import keras

    shape = (3, 4, 5)
    for axis in range(-5, 5):

        def build(batched, axis=axis):
            try:
                layer = keras.layers.LayerNormalization(axis=axis)
                layer.build(batched)
            except (IndexError, TypeError) as exc:  # Keras's refusals of these axes
                raise ValueError(exc) from exc
            return layer.compute_output_shape(batched)

        expected = _keras_or_error(build, (None, *shape))
        got = _specc_or_error(sh.normalized_axes, shape, axis, "layernormalization")
        assert (got is ValueError) == (expected is ValueError), axis
        if got is not ValueError:
            assert got == (axis % 4,)


def test_resized_crop_matches_keras_resize():
    """The window Resizing crops to is the one Keras's ``image.resize`` cuts out.

    Resizing the window to its own size with nearest is the window itself; the
    padded frame is checked end to end by ``tests/test_layers_new.py``.
    """
    require("tensorflow")
    import keras
    import numpy as np

    for (h, w), size in itertools.product(
        [(9, 7), (4, 12), (5, 5), (1, 6)], [(5, 4), (3, 9), (7, 7), (2, 1)]
    ):
        x = np.arange(h * w, dtype="float32").reshape(1, h, w, 1)
        ch, cw = sh.resized_crop((h, w), size, pad=False)
        resized = keras.ops.image.resize(x, (ch, cw), "nearest", crop_to_aspect_ratio=True)
        top, left = (h - ch) // 2, (w - cw) // 2
        window = x[0, top : top + ch, left : left + cw, 0]
        np.testing.assert_array_equal(np.asarray(resized)[0, :, :, 0], window)
