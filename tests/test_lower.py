"""The lowering stage: the plan every target reads, and each pass alone against the plain plan.

A pass must not change the function a model computes: each one runs on its
own, on every example, the option specs and 120 random specs of specgen.py,
and the numpy runtime's output with the pass is compared with its output on
the unlowered plan (no passes), which test_runtime_agreement.py proves equal
to real Keras. The pass must also fire often enough there for the comparison
to mean something.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import EXAMPLES
from specgen import generate_spec
from test_runtime_cases import OPTION_SPECS, _weights

from specc.check import check_source
from specc.ir import shapes as sh
from specc.ir.graph import Model
from specc.lower import (
    FUSED_KINDS,
    RUNTIME_PASSES,
    Plan,
    defer_monotone_activation,
    fold_batchnorm,
    fold_zero_padding,
    fuse_activation,
    fuse_conv_maxpool,
    fuse_scale_into_conv,
    lower,
)
from specc.runtime.numpy_backend import NumpyBackend

RANDOM = 120
# Where each pass must hold back: a pooling that pads, is not 2x2 stride 2, follows an
# activation that does not commute with a maximum, or reads a tensor someone else reads.
EDGES = """
model odd_same { input 13x11x3
  conv2d 4 3x3 padding=same relu
  maxpool 2 padding=same
  conv2d 4 3x3 padding=same relu6
  maxpool 3 strides=2
  conv2d 4 2x2 padding=same relu
  maxpool 2 strides=1
  flatten }
model non_monotone { input 10x10x2
  conv2d 4 3x3 padding=same gelu
  maxpool 2
  conv2d 4 3x3 padding=same softmax
  maxpool 2 }
model shared { input 8x8x3
  conv2d 4 3x3 padding=same relu name=c
  maxpool 2
  upsample 2
  add @c
  dense 3 relu
  maxpool 2 }
model excite { input 9x9x6
  conv2d 6 3x3 padding=same swish name=c
  multiply {
    path {
      globalavgpool keepdims=true
      conv2d 2 1 relu
      conv2d 6 1 sigmoid
    }
    path { }
  }
  conv2d 5 1 use_bias=false
  batchnormalization
  conv2d 4 1 relu
  flatten }
model norms { input 9x9x3
  conv2d 6 3x3 padding=same use_bias=false
  batchnormalization epsilon=1e-3
  relu6
  zeropadding2d ((1, 0), (2, 1))
  depthwiseconv2d 3 strides=2
  zeropadding2d 1
  depthwiseconv2d 3 depth_multiplier=2 padding=same
  batchnormalization center=false
  activation relu
  separableconv2d 5 3x3 padding=same
  batchnormalization scale=false name=sep_bn
  conv2d 4 1x1 relu
  batchnormalization name=after_relu
  conv2d 4 1x1 name=shared
  batchnormalization
  add @shared
  zeropadding2d 1 name=padded
  depthwiseconv2d 3 padding=same name=reads_padded
  add @padded
  conv2d 4 1x1
  batchnormalization axis=1
  conv2dtranspose 4 2x2 strides=2
  batchnormalization
  flatten
  dense 5 use_bias=false
  batchnormalization
  softmax }
"""


@functools.cache
def models() -> list[tuple[str, Model]]:
    """Every example model, the option specs' models and the random specs' models."""
    texts = [(path.stem, path.read_text()) for path in EXAMPLES]
    texts.append(("options", OPTION_SPECS))
    texts.append(("edges", EDGES))
    texts += [(f"random{seed}", generate_spec(seed)) for seed in range(RANDOM)]
    out = []
    for name, text in texts:
        result = check_source(text, f"{name}.cnn")
        assert not result.errors, (name, result.errors)
        out += [(f"{name}:{model.name}", model) for model in result.models]
    return out


def _changed(before: Plan, after: Plan) -> int:
    """How many ops a pass rewrote or removed."""
    return sum(all(op is not new and op != new for new in after.ops) for op in before.ops)


@pytest.mark.parametrize(
    "rewrite,exact,fires",
    [
        (fuse_conv_maxpool, False, 8),
        (defer_monotone_activation, True, 8),
        (fold_batchnorm, False, 8),
        (fuse_activation, True, 8),
        (fold_zero_padding, False, 3),
        (fuse_scale_into_conv, False, 1),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_each_pass_computes_what_the_plain_plan_computes(rewrite, exact, fires):
    """The numpy runtime with the one pass against it without any (fusion: to BLAS rounding)."""
    rng = np.random.default_rng(0)
    fired = 0
    for name, model in models():
        changed = _changed(lower(model), lower(model, [rewrite]))
        if not changed:
            continue
        fired += changed
        weights = _weights(model, rng)
        x = rng.standard_normal((3, *model.input.output_shape)).astype(np.float32)
        for fast in (True, False):
            plain = NumpyBackend(model, weights, winograd=fast, passes=())(x)
            passed = NumpyBackend(model, weights, winograd=fast, passes=[rewrite])(x)
            if exact:
                np.testing.assert_array_equal(passed, plain, err_msg=name)
            else:
                scale = max(1.0, float(np.abs(plain).max()))
                np.testing.assert_allclose(passed, plain, 1e-5, 1e-5 * scale, err_msg=name)
    assert fired >= fires, f"{rewrite.__name__} rewrote only {fired} ops"


def test_the_runtime_passes_together_compute_the_same():
    rng = np.random.default_rng(1)
    for name, model in models()[:40]:
        weights = _weights(model, rng)
        x = rng.standard_normal((2, *model.input.output_shape)).astype(np.float32)
        plain = NumpyBackend(model, weights, passes=())(x)
        fast = NumpyBackend(model, weights, passes=RUNTIME_PASSES)(x)
        scale = max(1.0, float(np.abs(plain).max()))
        np.testing.assert_allclose(fast, plain, 1e-5, 1e-5 * scale, err_msg=name)


FUSABLE = """model m { input 12x12x4
  conv2d 8 3x3 relu name=c
  maxpool 2 name=p
  conv2d 8 3x3 name=d
  maxpool 2
  flatten
  dense 3 }
"""


def test_a_fused_op_is_a_real_op():
    model = check_source(FUSABLE, "f.cnn").model()
    plan = lower(model, [fuse_conv_maxpool])
    kinds = [op.kind for op in plan.ops]
    assert kinds == ["conv2d_maxpool", "conv2d_maxpool", "flatten", "dense"]
    fused = plan.ops[0]
    assert [n.name for n in fused.nodes] == ["c", "p"]
    assert fused.name == "p" and fused.index == model.node("p").index
    assert fused.output_shape == model.node("p").output_shape
    assert fused.activation == "relu" and fused.pool is not None
    assert fused.pool.kernel == fused.pool.strides == (2, 2)
    assert list(fused.weights()) == [("kernel", "c/kernel"), ("bias", "c/bias")]
    assert set(FUSED_KINDS) >= set(kinds) - {"flatten", "dense"}


def test_folded_batchnorms():
    """Which normalizations fold: after an op without activation, alone, on the channels."""
    result = check_source(EDGES, "edges.cnn")
    model = next(m for m in result.models if m.name == "norms")
    plan = lower(model, [fold_batchnorm, fuse_activation])
    fused = [
        (op.kind, [n.kind for n in op.nodes], op.activation) for op in plan.ops if len(op.nodes) > 1
    ]
    assert fused == [
        ("conv2d", ["conv2d", "batchnormalization", "activation"], "relu6"),
        ("depthwiseconv2d", ["depthwiseconv2d", "batchnormalization", "activation"], "relu"),
        ("separableconv2d", ["separableconv2d", "batchnormalization"], None),
        ("dense", ["dense", "batchnormalization", "activation"], "softmax"),
    ]
    sep = next(op for op in plan.ops if op.kind == "separableconv2d")
    assert sep.norm is model.node("sep_bn") and sep.name == "sep_bn"
    assert ("sep_bn/beta", "sep_bn/beta") in list(sep.weights())


def test_passes_leave_observed_values_alone():
    model = check_source(FUSABLE, "f.cnn").model()
    conv = model.node("c").index
    for rewrite in (fuse_conv_maxpool, defer_monotone_activation):
        plan = lower(model, [rewrite], keep=[conv])
        op = next(op for op in plan.ops if op.index == conv)
        assert op.kind == "conv2d" and op.activation == "relu", rewrite.__name__


NORMED = """model m { input 8x8x3
  conv2d 4 3x3 use_bias=false name=c
  batchnormalization name=b
  relu name=r
  flatten }
"""


def test_a_tapped_convolution_keeps_its_normalization_apart():
    model = check_source(NORMED, "n.cnn").model()
    c, b = model.node("c").index, model.node("b").index
    assert [op.kind for op in lower(model, RUNTIME_PASSES).ops] == ["conv2d", "flatten"]
    plan = lower(model, RUNTIME_PASSES, keep=[c])
    # The normalization kept apart still takes the activation after it.
    assert [op.kind for op in plan.ops] == ["conv2d", "batchnormalization", "flatten"]
    assert plan.ops[1].activation is not None
    assert [op.kind for op in lower(model, RUNTIME_PASSES, keep=[b]).ops][-2:] == [
        "activation",
        "flatten",
    ]
    rng = np.random.default_rng(2)
    weights = _weights(model, rng)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    out, taps = NumpyBackend(model, weights, taps=["c", "b"]).with_taps(x)
    plain = NumpyBackend(model, weights, passes=(), taps=["c", "b"])
    plain_out, plain_taps = plain.with_taps(x)
    np.testing.assert_array_equal(taps["c"], plain_taps["c"])
    np.testing.assert_allclose(taps["b"], plain_taps["b"], 1e-5, 1e-5)
    np.testing.assert_allclose(out, plain_out, 1e-5, 1e-5)


def test_defer_moves_the_activation_onto_the_pooling():
    model = check_source(FUSABLE, "f.cnn").model()
    plan = lower(model, [defer_monotone_activation])
    by_name = {op.name: op for op in plan.ops}
    assert by_name["c"].activation is None
    assert by_name["p"].kind == "maxpooling2d" and by_name["p"].activation == "relu"


def test_lower_prunes_what_the_output_does_not_need():
    text = """model m { input 8x8x3
      conv2d 4 3x3 name=a
      conv2d 4 1x1 name=side
      add @a name=s
      flatten
      dense 2 }
    """
    model = check_source(text, "p.cnn").model()
    a = model.node("a").index
    model.node("s").inputs = [a, a]  # no statement leaves a layer unused yet; paths from @a will
    names = [op.name for op in lower(model).ops]
    assert "side" not in names and names == [n.name for n in model.nodes[1:] if n.name != "side"]
    assert set(names) == {n.name for n in model.layers}


def test_lower_refuses_a_model_with_errors():
    result = check_source("model m { input 4x4x1\n  conv2d 2 5x5\n}\n", "e.cnn")
    with pytest.raises(ValueError, match="has errors"):
        lower(result.models[0])


def test_windows_are_keras_geometry():
    """Every window's pads and sizes are consistent with the shapes the IR inferred."""
    windows = 0
    for name, model in models():
        for op in lower(model).ops:
            window = op.window
            if window is None:
                continue
            windows += 1
            assert window.in_hw == op.input_shapes[0][:2], name
            assert window.out_hw == op.output_shape[:2], name
            for axis in range(2):
                n, out = window.in_hw[axis], window.out_hw[axis]
                k, s, d = window.kernel[axis], window.strides[axis], window.dilation[axis]
                before, after = window.pads[axis]
                effective = d * (k - 1) + 1
                if op.layer.transposed:
                    full = (n - 1) * s + effective
                    extra = window.output_padding[axis]
                    assert full - before - after + extra == out, name
                    assert after == 0 or extra == 0, name
                else:
                    assert (n + before + after - effective) // s + 1 == out, name
                    padding = op.layer.window()[3]
                    assert (before, after) == sh.window_padding(
                        window.in_hw, window.kernel, window.strides, padding, window.dilation
                    )[axis], name
                    assert after - before in (0, 1), name  # Keras: the odd pixel at the end
    assert windows > 200


def test_axes_are_counted_from_the_batch_axis():
    text = "model m { input 4x4x6\n  batchnorm axis=-1\n  concatenate @input_layer @batch_normalization axis=-2\n}\n"
    model = check_source(text, "a.cnn").model()
    assert [op.axis for op in lower(model).ops] == [3, 2]


RELU_LAYERS = """model m { input 6x6x3
  conv2d 4 3x3 name=a
  relu_layer 6.0
  conv2d 4 1x1 name=b
  relu_layer
  conv2d 4 1x1 name=c
  relu_layer 6.0 negative_slope=0.1
  conv2d 4 1x1 name=d
  relu_layer 4.0
  conv2d 4 1x1 name=e
  relu_layer threshold=0.5
  flatten }
"""


def test_plain_relu_layers_fuse_as_relu_and_relu6():
    """ReLU(6.0) is relu6 and ReLU() relu; a slope, threshold or other ceiling stays a layer."""
    model = check_source(RELU_LAYERS, "r.cnn").model()
    plan = lower(model, [fuse_activation])
    by_name = {node.name: op for op in plan.ops for node in op.nodes}
    assert (by_name["a"].activation, by_name["b"].activation) == ("relu6", "relu")
    assert [op.kind for op in plan.ops].count("relu_layer") == 3
    rng = np.random.default_rng(4)
    weights = _weights(model, rng)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    fused = NumpyBackend(model, weights, passes=[fuse_activation])(x)
    np.testing.assert_array_equal(fused, NumpyBackend(model, weights, passes=())(x))
