"""Every backend of ``specc run`` computes what real Keras computes, with the same weights.

Ground truth: the Keras model built from the IR by ``keras_reference`` (not
specc's code), on every example and on 120 random specs covering every layer
kind and option. Tolerance: rtol 1e-5, atol 1e-5 x the output's scale (float32).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from test_runtime_cases import (
    RANDOM_SPECS,
    assert_agrees,
    example_cases,
    option_cases,
    random_cases,
    reassociation_atol,
    reduction_lengths,
)

from specc.diagnostics import SpeccError
from specc.runtime import prepare

BACKENDS = {"numpy": None, "tensorflow": "tensorflow", "onnxruntime": "onnxruntime"}
# ONNX's Resize has no Lanczos or area kernel: the emitter refuses them (E607).
REFUSED = {("onnxruntime", "option:resizes_not_in_onnx")}


def _check(backend: str, cases) -> None:
    module = BACKENDS[backend]
    if module:
        require(module)
    failures = []
    for case in cases:
        if (backend, case.name) in REFUSED:
            with pytest.raises(SpeccError) as refusal:
                prepare(case.model, case.weights, backend)
            assert refusal.value.diagnostics[0].code == "E607"
            continue
        try:
            out = prepare(case.model, case.weights, backend)(case.x)
            assert_agrees(out, case.expected, f"{backend} on {case.name}")
        except Exception as exc:  # collect them all: one report names every failing case
            failures.append(f"{case.name}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, f"{len(failures)} case(s) disagree:\n" + "\n".join(failures)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_examples_agree_with_keras(backend):
    _check(backend, example_cases())


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_option_specs_agree_with_keras(backend):
    _check(backend, option_cases())


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("part", range(4))
def test_random_specs_agree_with_keras(backend, part):
    cases = random_cases()
    size = -(-RANDOM_SPECS // 4)
    _check(backend, cases[part * size : (part + 1) * size])


SPLIT_SPEC = """model split { input 23x21x16
  conv2d 32 7x7 padding=same groups=16
  conv2d 24 3x3 padding=same activation=relu
  depthwiseconv2d 3x3 strides=2 padding=same activation=relu6
  conv2d 32 1x1 activation=swish
  conv2d 8 5x5 strides=2 padding=same
  globalavgpool }"""


def test_a_single_sample_splits_its_ops_over_the_threads(monkeypatch):
    """Batch 1 on two threads: Winograd chunks, im2col and 1x1 pieces, depthwise blocks
    go to the helper pool, and the output is the one-thread output."""
    from specc.check import check_source
    from specc.runtime import numpy_depthwise, threads, winograd
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    monkeypatch.setattr(winograd, "OUTPUT_CHUNK_BYTES", 1)  # a chunk per row of tiles
    monkeypatch.setattr(numpy_depthwise, "DEPTHWISE_BLOCK", 64)
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)  # the spec's ops are small
    model = check_source(SPLIT_SPEC, "split.cnn").model()
    weights = init_weights(model)
    x = np.random.default_rng(3).standard_normal((1, 23, 21, 16)).astype(np.float32)
    alone = NumpyBackend(model, weights, threads=1)(x)
    helped = []
    pool = threads.helpers()
    monkeypatch.setattr(threads, "helpers", lambda: helped.append(1) or pool)
    split = NumpyBackend(model, weights, threads=2)(x)
    assert len(helped) >= 5
    atol = reassociation_atol(reduction_lengths(model), alone)
    np.testing.assert_allclose(split, alone, rtol=1e-5, atol=atol)


def test_numpy_chunking_and_threads_do_not_change_results():
    """Micro-batches, worker threads and run() chunks give the batch's exact output."""
    from specc.runtime import run
    from specc.runtime.numpy_backend import NumpyBackend

    case = example_cases()[1]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, *case.model.input.output_shape)).astype(np.float32)
    single = NumpyBackend(case.model, case.weights, threads=1)
    single.micro_batch = 64
    whole = single(x)
    # Other shapes reach BLAS, which may add each dot product in another order.
    atol = reassociation_atol(reduction_lengths(case.model), whole)
    threaded = NumpyBackend(case.model, case.weights, threads=2)
    threaded.micro_batch = 5
    np.testing.assert_allclose(threaded(x), whole, rtol=0, atol=atol)
    chunked = run(case.model, x, case.weights, batch_size=4)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=atol)
    one = run(case.model, x[3], case.weights)  # a single sample gets a batch axis
    np.testing.assert_allclose(one[0], whole[3], rtol=0, atol=atol)


def test_both_cpu_convolution_paths_agree_with_keras():
    """Winograd (3x3, stride 1, >= 16 channels) and im2col are each checked against Keras."""
    from specc.runtime import winograd
    from specc.runtime.numpy_backend import NumpyBackend

    cases = example_cases()
    uses = [
        case.name
        for case in cases
        for node in case.model.nodes[1:]
        if node.kind == "conv2d"
        and winograd.applies(
            (*node.layer.kernel_size, case.model.nodes[node.inputs[0]].output_shape[-1], 1),
            node.layer.strides,
            node.layer.dilation_rate,
            node.layer.groups,
        )
    ]
    assert len(set(uses)) >= 3, uses
    for case in cases:
        for fast in (True, False):
            out = NumpyBackend(case.model, case.weights, winograd=fast)(case.x)
            assert_agrees(out, case.expected, f"winograd={fast} on {case.name}")


def test_convolutions_fused_with_their_pooling_are_exact():
    """A conv computing its 2x2 max pooling gives the unfused result (to BLAS rounding), and Keras's."""
    from specc.lower import FUSED_KINDS, fuse_conv_maxpool, lower
    from specc.runtime.numpy_backend import NumpyBackend

    def fuses(case) -> bool:
        return any(op.kind in FUSED_KINDS for op in lower(case.model, [fuse_conv_maxpool]).ops)

    cases = [case for case in option_cases() + example_cases() if fuses(case)]
    assert {"option:fused_pooling", "option:fused_pooling_odd"} <= {c.name for c in cases}
    for case in cases:
        for fast in (True, False):
            fused = NumpyBackend(case.model, case.weights, winograd=fast)(case.x)
            plain = NumpyBackend(case.model, case.weights, winograd=fast, passes=())
            unfused = plain(case.x)  # other matrix shapes: BLAS may sum in another order
            atol = reassociation_atol(reduction_lengths(case.model), unfused)
            np.testing.assert_allclose(fused, unfused, rtol=0, atol=atol, err_msg=case.name)
            assert_agrees(fused, case.expected, f"fused, winograd={fast}, on {case.name}")


FAULTS_PER_CALL = """
import resource, sys
import numpy as np
import specc
import specc.runtime.threads as threads
from specc.runtime.numpy_backend import NumpyBackend
from specc.weights import init_weights

if sys.argv[1] == "untuned":
    # glibc's own defaults, pinned: its dynamic mmap threshold would otherwise
    # rise once some earlier large block is freed, depending on what ran before.
    import ctypes

    threads.keep_freed_memory = lambda: False
    mallopt = ctypes.CDLL("libc.so.6").mallopt
    mallopt(threads.M_MMAP_THRESHOLD, 128 * 1024)
    mallopt(threads.M_TRIM_THRESHOLD, 128 * 1024)
model = specc.load(sys.argv[2]).model()
backend = NumpyBackend(model, init_weights(model), threads=1)
x = np.random.default_rng(0).standard_normal((32, 32, 32, 3)).astype(np.float32)


def measure():
    for _ in range(3):
        backend(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        backend(x)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)


# On a thread of its own, malloc serves the calls from an arena of their own, not
# from whatever free space loading the spec left in the main heap.
import threading

worker = threading.Thread(target=measure)
worker.start()
worker.join()
"""


def test_repeated_calls_reuse_memory_instead_of_faulting_it_in():
    """Tuned glibc malloc: a warm pass maps no fresh pages (untuned: thousands per call)."""
    import platform
    import subprocess
    import sys

    from conftest import ROOT

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc only")
    spec = str(ROOT / "examples" / "cifar10_cnn.cnn")
    faults = {}
    for mode in ("tuned", "untuned"):
        done = subprocess.run(
            [sys.executable, "-c", FAULTS_PER_CALL, mode, spec],
            capture_output=True,
            text=True,
            check=True,
        )
        faults[mode] = float(done.stdout.split()[-1])
    assert faults["tuned"] < 50, faults
    assert faults["untuned"] > 10 * max(faults["tuned"], 1), faults  # the test can tell


@pytest.mark.parametrize("pooled", [False, True])
def test_winograd_gives_the_same_output_in_image_chunks(monkeypatch, pooled):
    """The products and output transform, one image or one row of tiles at a time
    (spread over threads), or all at once (to BLAS rounding)."""
    from specc.lower import window_of
    from specc.runtime import nn, winograd
    from specc.runtime.threads import run_split, spread

    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 9, 7, 16)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 16, 6)).astype(np.float32)
    u, window = winograd.transform_kernel(kernel), window_of((9, 7), (3, 3), padding="same")
    whole = winograd.conv3x3(np, x, u, window, pooled)
    monkeypatch.setattr(winograd, "OUTPUT_CHUNK_BYTES", 1)
    chunked = winograd.conv3x3(np, x, u, window, pooled)
    with spread(2):
        rows = winograd.conv3x3(np, x, u, window, pooled, run_split)
    # The channel sums (K = 16 per transformed point) reach BLAS in other shapes, so
    # their order may differ; 3x3x16 bounds the terms behind each output.
    atol = reassociation_atol([3 * 3 * 16], whole)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=atol)
    np.testing.assert_allclose(rows, whole, rtol=0, atol=atol)
    direct = nn.conv2d(np, x, kernel, window, pooled=pooled)
    np.testing.assert_allclose(whole, direct, rtol=1e-5, atol=1e-5 * float(np.abs(direct).max()))


def test_an_op_below_the_splitting_floor_keeps_its_one_thread_shape(monkeypatch):
    """Batch 1 on two threads: a 1x1 convolution below SPLIT_MIN_MACS is one whole
    product, as on one thread (pieces would repack the kernel for each); above
    the floor it goes by pieces over the threads."""
    from specc.check import check_source
    from specc.runtime import numpy_conv, threads
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    spec = "model pointwise { input 16x16x8\n  conv2d 16 1x1 activation=relu }"
    model = check_source(spec, "pointwise.cnn").model()
    weights = init_weights(model)
    x = np.random.default_rng(5).standard_normal((1, 16, 16, 8)).astype(np.float32)
    pieced = []
    by_pieces = numpy_conv.WindowOps._split_product
    monkeypatch.setattr(
        numpy_conv.WindowOps,
        "_split_product",
        lambda self, *args: pieced.append(1) or by_pieces(self, *args),
    )
    alone = NumpyBackend(model, weights, threads=1)(x)
    both = NumpyBackend(model, weights, threads=2)
    assert model.total("macs") < threads.SPLIT_MIN_MACS
    np.testing.assert_array_equal(both(x), alone)
    assert pieced == []
    monkeypatch.setattr(threads, "SPLIT_MIN_MACS", 0)
    np.testing.assert_allclose(both(x), alone, rtol=1e-6, atol=1e-6)
    assert pieced
