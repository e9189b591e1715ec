"""The numpy runtime on a GPU: cuDNN convolutions, fused epilogues and CUDA graphs.

The plan rewrites for cuDNN (specc/lower/fusions.py) are checked here on the
CPU. The GPU tests need CuPy and a CUDA GPU (the device machine) and skip
with a reason elsewhere, CI included, which has no GPU; there they compare
the GPU path with the CPU runtime, which the other runtime tests hold to
Keras. Keras's own answers on the GPU: ``benchmarks/bench_gpu.py check``
(benchmarks/NOTES.md).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_lower import _changed, _weights, models

from specc.check import check_source
from specc.lower import lower
from specc.lower.fusions import (
    CONV_ADD,
    CUDNN_PASSES,
    fold_zero_padding_conv,
    fuse_conv_add,
    relu_layer_as_activation,
)
from specc.runtime.numpy_backend import NumpyBackend

ROOT = Path(__file__).resolve().parent.parent

# Every path of the GPU: an asymmetric 'same' stride-2 convolution, a dilated
# and a grouped one, a residual Add with and without relu, a ZeroPadding2D
# before a depthwise convolution with a multiplier, ReLU(6) layers, an
# activation cuDNN does not fuse, a pooling and a Dense on the generic path.
SPEC = """model gpu_paths { input 17x15x3
  conv2d 8 3x3 strides=2 padding=same use_bias=false name=stem
  batchnormalization
  relu_layer 6.0
  conv2d 8 3x3 padding=same dilation_rate=2 relu name=dilated
  conv2d 8 3x3 padding=same groups=2 use_bias=false name=grouped
  batchnormalization name=grouped_bn
  add @dilated
  activation relu name=joined
  zeropadding2d ((0, 1), (0, 1))
  depthwiseconv2d 3 strides=2 depth_multiplier=2 use_bias=false
  batchnormalization
  relu_layer 6.0 name=expanded
  conv2d 16 1x1 use_bias=false
  batchnormalization
  add @expanded
  zeropadding2d 2
  conv2d 12 5x5 strides=2 name=padded
  conv2d 12 3x3 padding=same sigmoid
  maxpool 3 strides=2 padding=same
  globalaveragepooling2d
  dense 5 softmax }
"""


def gpu_model():
    return check_source(SPEC, "gpu.cnn").model()


def model_index(name: str) -> int:
    return gpu_model().node(name).index


def test_cudnn_passes_shape_the_zoo_into_fused_convolutions():
    """ResNet50's 16 residual Adds and MobileNetV2's 10 become convolutions with a residual."""
    for path, name, adds, activation in (
        ("zoo/resnet.cnn", "resnet50", 16, "relu"),
        ("zoo/mobilenet_v2.cnn", "mobilenetv2", 10, None),
    ):
        model = check_source((ROOT / path).read_text(), path).model(name)
        kinds = Counter((op.kind, op.activation) for op in lower(model, CUDNN_PASSES).ops)
        assert kinds[(CONV_ADD, activation)] == adds, (name, kinds)
        assert not {"add", "relu_layer", "batchnormalization", "activation"} & {
            kind for kind, _ in kinds
        }, (name, kinds)
    plan = lower(gpu_model(), CUDNN_PASSES)
    fused = [op for op in plan.ops if op.kind == CONV_ADD]
    assert [op.activation for op in fused] == ["relu", None]
    assert fused[0].nodes[0].name == "grouped" and fused[0].inputs[1] == model_index("dilated")
    assert [name for name, _ in fused[0].weights()][:2] == ["kernel", "grouped_bn/gamma"]
    assert "zeropadding2d" not in {op.kind for op in plan.ops}


def test_a_kept_convolution_is_not_fused():
    model = gpu_model()
    plan = lower(model, CUDNN_PASSES, keep=[model.node("grouped_bn").index])
    assert [op.kind for op in plan.ops].count(CONV_ADD) == 1


@pytest.mark.parametrize("rewrite", [relu_layer_as_activation, fold_zero_padding_conv])
def test_cpu_passes_compute_what_the_plain_plan_computes(rewrite):
    """The two passes the CPU backend can run alone (``conv2d_add`` is the GPU's)."""
    rng = np.random.default_rng(3)
    fired = 0
    for name, model in [("gpu_paths", gpu_model()), *models()]:
        changed = _changed(lower(model), lower(model, [rewrite]))
        if not changed:
            continue
        fired += changed
        weights = _weights(model, rng)
        x = rng.standard_normal((2, *model.input.output_shape)).astype(np.float32)
        plain = NumpyBackend(model, weights, passes=())(x)
        passed = NumpyBackend(model, weights, passes=[rewrite])(x)
        scale = max(1.0, float(np.abs(plain).max()))
        np.testing.assert_allclose(passed, plain, 1e-5, 1e-5 * scale, err_msg=name)
    assert fired >= 2, f"{rewrite.__name__} rewrote only {fired} ops"


def test_fuse_conv_add_leaves_a_shared_convolution_alone():
    text = """model m { input 8x8x4
  conv2d 4 3x3 padding=same name=c
  conv2d 4 1x1 name=d
  add @c
  add @d }
"""
    model = check_source(text, "m.cnn").model()
    kinds = [op.kind for op in lower(model, [fuse_conv_add]).ops]
    assert kinds == ["conv2d", "conv2d", "add", "add"]  # c and d both have two readers


def _gpu():
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no CuPy, or no driver or GPU
        pytest.skip(f"needs CuPy and a CUDA GPU (the device machine): {exc}")
    return cupy


def _close(actual: np.ndarray, expected: np.ndarray, name: str = "") -> None:
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, 1e-5, 1e-5 * scale, err_msg=name)


def test_gpu_paths_agree_with_the_cpu_runtime():
    _gpu()
    model = gpu_model()
    rng = np.random.default_rng(0)
    weights = _weights(model, rng)
    gpu = NumpyBackend(model, weights, device="gpu")
    cpu = NumpyBackend(model, weights, passes=())
    assert gpu._gpu.has_cudnn, "cuDNN did not load"
    for batch in (2, 1, 2, 3, 1):
        x = rng.standard_normal((batch, *model.input.output_shape)).astype(np.float32)
        _close(gpu(x), cpu(x), f"batch {batch}")
    assert gpu._graphs.failure is None
    assert set(gpu._graphs.captured) == {(1, 17, 15, 3), (2, 17, 15, 3), (3, 17, 15, 3)}
    used = gpu._gpu.used
    assert used["cudnn"] >= 4 and used["cublas"] >= 2 and used["depthwise"] >= 1
    assert gpu._gpu.used["generic"] == 0


def test_graph_replays_match_eager_steps_and_spare_other_arrays():
    cupy = _gpu()
    model = gpu_model()
    rng = np.random.default_rng(1)
    gpu = NumpyBackend(model, _weights(model, rng), device="gpu")
    x = rng.standard_normal((4, *model.input.output_shape)).astype(np.float32)
    gpu(x)  # eager, then captured
    bystander = cupy.asarray(rng.standard_normal(1 << 16).astype(np.float32))
    before = cupy.asnumpy(bystander)
    for _ in range(3):
        y = rng.standard_normal(x.shape).astype(np.float32)
        replayed = gpu(cupy.asarray(y))
        with gpu._gpu.stream:
            eager = gpu._forward(y)[gpu.plan.output]
        np.testing.assert_array_equal(replayed, eager)
    np.testing.assert_array_equal(cupy.asnumpy(bystander), before)


def test_gpu_taps_are_the_layers_outputs():
    _gpu()
    model = gpu_model()
    rng = np.random.default_rng(2)
    weights = _weights(model, rng)
    x = rng.standard_normal((2, *model.input.output_shape)).astype(np.float32)
    taps = ("grouped_bn", "expanded", "padded")
    out, tapped = NumpyBackend(model, weights, device="gpu", taps=taps).with_taps(x)
    cpu_out, cpu_tapped = NumpyBackend(model, weights, taps=taps).with_taps(x)
    _close(out, cpu_out)
    for name in taps:
        _close(tapped[name], cpu_tapped[name], name)


def test_gpu_runs_the_random_specs_like_the_cpu():
    """Eager first, then replayed. Ops that call CuPy's cuBLAS (a transposed
    convolution, a resize) or copy from the host (a padded average pooling's
    counts) keep their model eager: CuPy refuses both inside a capture."""
    _gpu()
    rng = np.random.default_rng(4)
    captured = 0
    for name, model in models()[:60]:
        weights = _weights(model, rng)
        x = rng.standard_normal((3, *model.input.output_shape)).astype(np.float32)
        gpu = NumpyBackend(model, weights, device="gpu")
        expected = NumpyBackend(model, weights, passes=())(x)
        _close(gpu(x), expected, name)
        _close(gpu(x), expected, name)
        failure = gpu._graphs.failure
        refused = ("cuBLAS API during stream capture", "stream is capturing")
        assert failure is None or any(r in failure for r in refused), (name, failure)
        captured += failure is None
    assert captured >= 40, f"only {captured} of 60 models ran as CUDA graphs"
