"""Batch 1 over two threads on small maps with many channels: products cut by output channels.

Where an op's output has fewer pixels than channels (the late layers of
ResNet50 and ConvNeXt at batch 1), pieces of output rows would each pack the
whole kernel for a handful of rows, so the products go by blocks of kernel
columns instead: a 1x1 convolution, an im2col one, a Dense layer over a map,
and Winograd's 16 products. Each output must be Keras's (the ground truth)
and the one-thread output (to rounding), and the tests fail unless those
paths were taken.
"""

from __future__ import annotations

import numpy as np
from conftest import require
from test_runtime_cases import assert_agrees, make_case, reassociation_atol, reduction_lengths

SPEC = """model late { input 4x5x32
  conv2d 320 1x1 activation=relu
  conv2d 192 3x3 padding=same
  conv2d 256 3x3 strides=2 padding=same activation=swish
  dense 384 activation=gelu
  conv2d 64 1x1 }"""


def test_few_pixels_many_channels_go_by_blocks_of_channels(monkeypatch):
    require("tensorflow")
    from specc.check import check_source
    from specc.runtime import numpy_conv, threads, winograd
    from specc.runtime.numpy_backend import NumpyBackend

    model = check_source(SPEC, "late.cnn").model()
    case = make_case("late", model, seed=11, batch=1)
    alone = NumpyBackend(model, case.weights, threads=1)(case.x)
    assert_agrees(alone, case.expected, "one thread")

    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)  # the spec's ops are small
    by_columns, winograd_blocks = [], []
    split_columns, chunks = numpy_conv.WindowOps._split_columns, winograd._chunks

    def counted_columns(self, op, *args):
        by_columns.append(op.kind)
        return split_columns(self, op, *args)

    def counted_chunks(*args):
        found = chunks(*args)
        winograd_blocks.extend(channels for _, _, channels in found if channels != slice(None))
        return found

    monkeypatch.setattr(numpy_conv.WindowOps, "_split_columns", counted_columns)
    monkeypatch.setattr(winograd, "_chunks", counted_chunks)
    both = NumpyBackend(model, case.weights, threads=2)(case.x)
    # The 1x1 convolutions, the strided 3x3 (im2col) and the Dense layer.
    assert by_columns.count("conv2d") == 3 and by_columns.count("dense") == 1, by_columns
    assert len(winograd_blocks) == 192 // winograd.MIN_CHANNEL_BLOCK, winograd_blocks
    assert_agrees(both, case.expected, "two threads")
    atol = reassociation_atol(reduction_lengths(model), alone)
    np.testing.assert_allclose(both, alone, rtol=1e-6, atol=atol)


def test_channel_blocks_cover_every_channel_once():
    """Winograd's chunks, cut by channels, tile (images x tile rows x channels) exactly."""
    from specc.runtime import winograd

    for n, th, tw, f, threads in [(1, 2, 3, 192, 2), (1, 4, 4, 512, 2), (2, 7, 7, 100, 3)]:
        covered = np.zeros((n, th, f), np.int32)
        for images, rows, channels in winograd._chunks(n, th, tw, f, 4, True, threads):
            covered[images, rows, channels] += 1
        assert (covered == 1).all(), (n, th, f, threads)
